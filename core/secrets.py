"""Secret values by reference: ``env:NAME`` or ``file:PATH``, or a literal.

Shared by everything that holds credentials: collectors (SNMP communities and v3 keys, BMC
and cloud passwords, exporter tokens), alert transports and report mail. The resolved value
is only ever handed to the protocol code; configured references are never printed or logged.
"""

from __future__ import annotations

import os
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
