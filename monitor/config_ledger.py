"""The ledger database's URL (``ledger.url``): checked when the configuration is read, and
the one line every entry point prints when the database does not answer at start.

Both name the configuration file and the key and never show the password: a URL SQLAlchemy
cannot read is a configuration error, not a traceback at the first connection.
"""

from __future__ import annotations

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from core.secrets import redact

#: The key of the ledger's database URL in the configuration file.
LEDGER_URL_KEY = "ledger.url"


class LedgerUnreachable(Exception):
    """The ledger database did not answer at start; ``str()`` is the one line to print
    (file, key, URL without its password, reason)."""


def check_ledger_url(url: str) -> None:
    """Raise ValueError, with a reason that shows no password, for a URL that SQLAlchemy
    cannot read or reads with another host than written. ``%40`` and ``%3A`` in the
    password are the escaped ``@`` and ``:``; a bare ``:`` in the password is read as
    written (``/``, ``?`` and ``#`` too), a bare ``@`` is not (the host would be read from
    the password's tail)."""
    hidden = redact(url)
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError):
        parsed = None
    if _unescaped_at(url) or (parsed is not None and "@" in (parsed.host or "")):
        raise ValueError(f"用户名或口令中的 @ 须写作 %40 (an '@' in the user name or password "
                         f"must be written %40): {hidden}")
    if parsed is None:
        raise ValueError(f"不是数据库 URL，应形如 postgresql+psycopg://HOST:5432/DB，用户名与口令"
                         f"写在 HOST 前并以 @ 隔开 (not a database URL such as "
                         f"postgresql+psycopg://HOST:5432/DB, user name and password before "
                         f"HOST and an '@'): {hidden}")


def _unescaped_at(url: str) -> bool:
    """More than one ``@`` before the path: the user or password holds a bare ``@``."""
    _scheme, sep, rest = url.partition("://")
    if not sep or rest.count("@") < 2:
        return False
    authority = rest[:rest.rfind("@")]
    # An "@" after a "/" may belong to the path or query (sqlite:///a@b/x.db); one before
    # the last "@" with no "/" in between is in the user information.
    return "@" in authority.split("/", 1)[0]


def unreachable_line(source: str, url: str, exc: BaseException) -> str:
    """``台账数据库无法连接 (ledger database unreachable): FILE: ledger.url: URL: reason``,
    the URL without its password and the reason's first line."""
    reason = str(getattr(exc, "orig", None) or exc).strip().splitlines()[0]
    return (f"台账数据库无法连接 (ledger database unreachable): {source}: {LEDGER_URL_KEY}: "
            f"{redact(url)}: {redact(reason)}")
