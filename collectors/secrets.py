"""Secret options of collectors: ``env:NAME``, ``file:PATH`` or a literal.

The rule itself is :func:`core.secrets.resolve_secret` (alert transports and report mail use
it too); here it is applied to a collector's options, with errors naming the option. Options
marked ``secret`` are never printed by the command line or logged.
:func:`redact` hides credentials written inside URLs (``http://user:pass@host``) in
any text that is shown.
"""

from __future__ import annotations

import re

from collectors.base import OptionError
from core.secrets import resolve_secret

__all__ = ["redact", "resolve_option", "resolve_secret"]


def resolve_option(options, key: str) -> str:
    """The secret option ``key`` of resolved ``options``; OptionError naming it if unreadable."""
    try:
        return resolve_secret(options[key])
    except ValueError as exc:
        raise OptionError(key, str(exc)) from None


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
