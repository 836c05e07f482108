"""Secret values by reference: ``env:NAME`` or ``file:PATH``, or a literal.

Shared by everything that holds credentials: collectors (SNMP communities and v3 keys, BMC
and cloud passwords, exporter tokens), alert transports and report mail. The resolved value
is only ever handed to the protocol code; configured references are never printed or logged.
:func:`redact` hides credentials written inside URLs (``http://user:pass@host``) in any text
that is shown (here, not in ``collectors``, so the web tier can use it without loading them).
"""

from __future__ import annotations

import os
import re
from pathlib import Path


def resolve_secret(value: str) -> str:
    """The secret ``value`` refers to; raises ValueError naming the missing source."""
    if value.startswith("env:"):
        name = value[4:]
        found = os.environ.get(name)
        if found is None:
            raise ValueError(f"environment variable {name} is not set")
        return found
    if value.startswith("file:"):
        path = Path(value[5:]).expanduser()
        try:
            return path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"cannot read secret file {path}: {exc.strerror}") from None
    return value


#: ``scheme://`` and the run of text after it up to white space.
_URL = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)(\S+)")
#: Query, fragment or path parameters that carry a credential (``?token=``, ``#access_token=``,
#: ``;jsessionid=``).
_PARAM = re.compile(r"([?&#;](?:access[_-]?token|refresh[_-]?token|id[_-]?token|token|"
                    r"api[_-]?key|apikey|key|password|passwd|pwd|pass|secret|"
                    r"client[_-]?secret|auth|authorization|jsessionid|phpsessid|sid|session|"
                    r"sig|signature|x-amz-signature|credential)=)[^&#;?\s]*", re.IGNORECASE)


def _userinfo_end(rest: str) -> int:
    """Where the userinfo of ``rest`` (a URL after ``scheme://``) ends (its last ``@``
    before the host), or -1 if it has none. A password may hold ``/``, ``?`` or ``@``
    (``ledger:pa/ss?w0rd@db``); ``host/path?next=a@b`` and ``host:8080/p?x=a@b`` hold none."""
    at = rest.rfind("@")
    if at < 0:
        return -1
    candidate = rest[:at]
    if not any(c in candidate for c in "/?#"):
        return at
    user, colon, after = candidate.partition(":")
    if not colon or any(c in user for c in "/?#@"):
        return -1
    port = re.match(r"[^/?#]*", after).group(0)
    return -1 if port.isdigit() else at


def _redact_url(match: re.Match) -> str:
    scheme, rest = match.group(1), match.group(2)
    end = _userinfo_end(rest)
    if end >= 0:
        rest = "***" + rest[end:]
    return scheme + _PARAM.sub(r"\1***", rest)


def redact(text: str) -> str:
    """``text`` with the user and password of every URL in it replaced by ``***``, and the
    values of credential parameters (``token=``, ``api_key=``, ``password=``,
    ``access_token=`` after ``?``, ``&``, ``#`` or ``;``) too."""
    return _URL.sub(_redact_url, text)
