"""Physical plausibility of figures agents report: what no real device can measure is unknown.

Agents fill fields they have no value for with the type's maximum or a sentinel
(ifHighSpeed 4294901759 Mb/s, a temperature of 65535 °C, -1 W), and firmware bugs send
figures off by powers of ten. Such a figure is dropped and named in a note, never stored
as a value. The limit of a field follows from the unit its name ends with (the product
names every field with its unit); figures without a known unit pass unchecked.
"""

from __future__ import annotations

#: No single link or bundle is faster than 10 Tb/s.
MAX_SPEED_BPS = 1e13
#: No single memory, disk or storage pool is larger than one exabyte.
MAX_SIZE_BYTES = 1e18

#: (lowest, highest) by the end of a field's name; the longest matching end wins.
LIMITS: dict[str, tuple[float, float]] = {
    "_bps": (0, MAX_SPEED_BPS),
    "_celsius": (-60, 200),
    "_watts": (-1e7, 1e7),                  # 10 MW: a whole data hall
    "_kwh": (0, 1e12),
    "_volts": (-1e5, 1e5),
    "_amperes": (-1e5, 1e5),
    "_hertz": (0, 1000),
    "size_bytes": (0, MAX_SIZE_BYTES),
    "used_bytes": (0, MAX_SIZE_BYTES),
    "free_bytes": (0, MAX_SIZE_BYTES),
    "memory_bytes": (0, MAX_SIZE_BYTES),
    "_percent": (0, 1000),                  # UPS and PDU loads may exceed 100
    "utilization_percent": (0, 100),
    "used_percent": (0, 100),
    "usage_percent": (0, 100),
    "charge_percent": (0, 100),
    "humidity_percent": (0, 100),
    "_rpm": (0, 100_000),
    "runtime_seconds": (0, 10 * 86400),     # ten days on battery
}
_ENDINGS = sorted(LIMITS, key=len, reverse=True)


#: Field name -> its limits, or () for fields without one; filled as names are seen.
_KNOWN: dict[str, tuple] = {}


def limit(field: str) -> tuple[float, float] | None:
    """The (lowest, highest) plausible value of ``field``, or None for unchecked fields."""
    found = _KNOWN.get(field)
    if found is None:
        found = next((LIMITS[e] for e in _ENDINGS if field.endswith(e)), ())
        if len(_KNOWN) < 4096:   # field names are few; never grow without bound
            _KNOWN[field] = found
    return found or None


def check(fields: dict) -> tuple[dict, list[str]]:
    """``fields`` without implausible numbers, and a note for each one left out.

    Runs on every sample of every poll, so the common case (nothing wrong) is one dict
    look-up and one comparison per field."""
    bad = None
    for field, number in fields.items():
        bounds = _KNOWN.get(field)
        if bounds is None:
            bounds = limit(field) or ()
        if bounds and isinstance(number, (int, float)) and not bounds[0] <= number <= bounds[1]:
            bad = (bad or []) + [field]
    if bad is None:
        return fields, []
    return ({k: v for k, v in fields.items() if k not in bad},
            [f"{field} {fields[field]:g} is not plausible; unknown" for field in bad])
