"""Which identity values are real: one rule for every collector and for reconciliation.

Vendors fill fields they have no value for with placeholders ("To be filled by O.E.M.",
all zeros, "N/A", the same virtual serial on every box). Keyed on such a value, unrelated
assets would merge, so a placeholder is never an identity key: collectors keep it as an
attribute at most, and reconciliation ignores it even when an older fact carries it.

- :func:`is_placeholder_serial` for serial numbers and asset tags,
- :func:`is_placeholder_uuid` for SMBIOS / instance UUIDs,
- :func:`is_placeholder_mac` for MAC addresses (zero, broadcast, multicast),
- :func:`clean_serial`, :func:`clean_uuid`: the value, stripped, or None;
- :func:`clean_keys`: a fact's identity keys without placeholders, and what was dropped,
  to keep as attributes;
- :func:`drop_shared`: facts of one poll that share a serial number or machine UUID keep
  it as an attribute only.

A value that several assets share is the other kind of placeholder: a collector that sees
several assets in one poll applies :func:`drop_shared`; across targets and polls,
:mod:`ledger.reconcile` handles that case.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Mapping

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


def clean_keys(keys: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Identity keys with placeholders removed, and the removed values by attribute name.

    ``serial_number`` and the UUID keys are cleaned by the rules above (UUIDs lower-cased);
    ``mac`` (one address or a list) keeps real unicast addresses, lower-cased; empty keys
    go. A dropped serial or UUID is returned as ``<key>_placeholder`` so the fact can keep
    it as an attribute; placeholder MACs are simply left out.
    """
    kept: dict[str, Any] = {}
    dropped: dict[str, Any] = {}
    for key, value in keys.items():
        if value is None or value == "" or value == []:
            continue
        if key == "serial_number":
            clean = clean_serial(value)
        elif key in ("machine_uuid", "instance_uuid"):
            clean = clean_uuid(value)
        elif key == "mac":
            values = value if isinstance(value, (list, tuple, set)) else [value]
            clean = sorted({str(m).strip().lower() for m in values
                            if not is_placeholder_mac(m)}) or None
        else:
            clean = value
        if clean is not None:
            kept[key] = clean
        elif key != "mac":
            dropped[f"{key}_placeholder"] = " ".join(str(value).split())
    return kept, dropped


def drop_shared(facts: list, kinds: Iterable[str],
                keys: Iterable[str] = ("serial_number", "machine_uuid")) -> list:
    """Facts of ``kinds`` with a key value that several of them share moved to attributes.

    Whitebox and nested hosts answer one VMware virtual serial, cloned VMs one BIOS UUID,
    a blade chassis' systems the chassis serial: keyed on it, the ledger would fold them
    into one asset. The value stays as the attribute ``<key>_shared``. Returns a new list
    (facts are immutable); facts of other kinds pass unchanged.
    """
    kinds, keys = set(kinds), tuple(keys)
    counts: dict[tuple[str, str, Any], int] = {}
    for fact in facts:
        if fact.kind in kinds:
            for key in keys:
                value = fact.keys.get(key)
                if value:
                    counts[(fact.kind, key, value)] = counts.get((fact.kind, key, value), 0) + 1
    result = []
    for fact in facts:
        shared = {key: fact.keys[key] for key in keys if fact.kind in kinds
                  and fact.keys.get(key) and counts[(fact.kind, key, fact.keys[key])] > 1}
        if shared:
            fact = type(fact)(fact.kind, {k: v for k, v in fact.keys.items() if k not in shared},
                              {**fact.attributes, **{f"{k}_shared": v for k, v in shared.items()}})
        result.append(fact)
    return result
