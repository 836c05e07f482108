"""Secret option values by reference: ``env:NAME`` or ``file:PATH``, or a literal.

Shared by every collector with credentials (SNMP communities and v3 keys, BMC passwords,
exporter tokens). The resolved value is only ever handed to the protocol code; options
marked ``secret`` are never printed by the command line or logged. :func:`redact` hides
credentials written inside URLs (``http://user:pass@host``) in any text that is shown.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

from collectors.base import OptionError


def resolve_option(options, key: str) -> str:
    """The secret option ``key`` of resolved ``options``; OptionError naming it if unreadable."""
    try:
        return resolve_secret(options[key])
    except ValueError as exc:
        raise OptionError(key, str(exc)) from None


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


#: ``scheme://userinfo@``: what a URL carries before its host.
_USERINFO = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://)[^\s/?#@]+@")


def redact(text: str) -> str:
    """``text`` with the user and password of every URL in it replaced by ``***``."""
    return _USERINFO.sub(r"\1***@", text)
