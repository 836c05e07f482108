"""Which identity values are real: one rule for every collector and for reconciliation.

Vendors fill fields they have no value for with placeholders ("To be filled by O.E.M.",
all zeros, "N/A", the same virtual serial on every box). Keyed on such a value, unrelated
assets would merge, so a placeholder is never an identity key: collectors keep it as an
attribute at most, and reconciliation ignores it even when an older fact carries it.

- :func:`is_placeholder_serial` for serial numbers and asset tags,
- :func:`is_placeholder_uuid` for SMBIOS / instance UUIDs,
- :func:`is_placeholder_mac` for MAC addresses (zero, broadcast, multicast),
- :func:`clean_serial`, :func:`clean_uuid`: the value, stripped, or None.

A value that several assets share (the other kind of placeholder) can only be seen across
assets; :mod:`ledger.reconcile` handles that case.
"""

from __future__ import annotations

import re

#: Serial-number texts (compared case-insensitively, spaces collapsed) that mean "none".
PLACEHOLDER_SERIALS = frozenset({
    "", "0", "none", "null", "nil", "n/a", "na", "n.a.", "-", "--", "?", "unknown",
    "not specified", "not applicable", "not available", "not set", "unspecified",
    "to be filled by o.e.m.", "to be filled by oem", "default string", "default",
    "system serial number", "chassis serial number", "serial number", "serialnumber",
    "base board serial number", "invalid", "empty", "0123456789", "1234567890", "123456789",
    "xxxxxxxxxx", "system product name", "oem", "o.e.m.", "none none", "sn", "s/n",
    "<private>",
})
#: Only one character repeated (000000, FFFFFF, "....", "*****"), separators ignored.
_REPEATED = re.compile(r"^(.)\1*$")
_SEPARATORS = re.compile(r"[\s:\-_.]")
PLACEHOLDER_UUIDS = frozenset({
    "00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "03000200-0400-0500-0006-000700080009", "12345678-1234-5678-90ab-cddeefaabbcc",
})


def is_placeholder_serial(value: object) -> bool:
    """Whether ``value`` is no real serial number (placeholder text, blanks, one repeated
    character such as "00000000" or "00 00 00 00")."""
    if value is None:
        return True
    text = " ".join(str(value).split()).lower()
    if text in PLACEHOLDER_SERIALS:
        return True
    bare = _SEPARATORS.sub("", text)
    return not bare or bool(_REPEATED.match(bare))


def is_placeholder_uuid(value: object) -> bool:
    """Whether ``value`` is no real UUID (all zeros, all F, known BIOS defaults)."""
    if value is None:
        return True
    text = str(value).strip().lower()
    if text in PLACEHOLDER_UUIDS:
        return True
    bare = _SEPARATORS.sub("", text)
    return not bare or bool(_REPEATED.match(bare))


def is_placeholder_mac(value: object) -> bool:
    """Whether ``value`` is no address of one interface: zero, broadcast or multicast."""
    if value is None:
        return True
    bare = _SEPARATORS.sub("", str(value).strip().lower())
    if len(bare) != 12 or not all(c in "0123456789abcdef" for c in bare):
        return True
    return bool(_REPEATED.match(bare)) or int(bare[1], 16) & 1 == 1


def clean_serial(value: object) -> str | None:
    """The serial number stripped, or None where it is a placeholder."""
    return None if is_placeholder_serial(value) else " ".join(str(value).split())


def clean_uuid(value: object) -> str | None:
    """The UUID lower-cased and stripped, or None where it is a placeholder."""
    return None if is_placeholder_uuid(value) else str(value).strip().lower()
