"""What a recording says about itself, and what a poll of it must show (no per-file data).

Used by ``test_corpus.py`` and by ``bench/corpus.py``: the recording is read directly (the
snmprec text, not through the collector) for its ENTITY-MIB serials, interface names and
sysObjectID, and the poll's observation is checked against that and against plain
physical limits.
"""

from __future__ import annotations

import os
from pathlib import Path

from collectors.identity import is_placeholder_mac, is_placeholder_serial
from tests.conftest import SHARED

#: The wider LibreNMS corpus (GPL-3.0): read where it is, never copied into the project.
CORPUS = Path(os.environ.get("INFRA_LEDGER_SNMPREC_CORPUS",
                             SHARED / "fixtures" / "snmprec-corpus"))

ENT_SERIAL = "1.3.6.1.2.1.47.1.1.1.1.11."
ENT_MAKER = "1.3.6.1.2.1.47.1.1.1.1.12."
UPS_MAKER = "1.3.6.1.2.1.33.1.1.1."
IF_DESCR = "1.3.6.1.2.1.2.2.1.2."
IF_NAME = "1.3.6.1.2.1.31.1.1.1.1."
IF_ALIAS = "1.3.6.1.2.1.31.1.1.1.18."
SYS_OBJECT_ID = "1.3.6.1.2.1.1.2.0"
ENTERPRISES = "1.3.6.1.4.1."

#: Physical limits, by the unit a field's name ends with: (lowest, highest).
LIMITS = {
    "_bps": (0, 1e13),                 # 10 Tb/s: more than any link or bundle
    "_celsius": (-60, 200),
    "_watts": (-1e7, 1e7),             # 10 MW
    "_volts": (-1e5, 1e5),
    "_amperes": (-1e5, 1e5),
    "_hertz": (0, 1000),
    "_bytes": (0, 2**64),              # counters and sizes
    "_percent": (0, 1000),
    "utilization_percent": (0, 100),
    "used_percent": (0, 100.0001),
    "charge_percent": (0, 100),
    "usage_percent": (0, 100),
}
SIZE_LIMIT = 1e18                      # one exabyte: no single storage or memory is larger


def files() -> list[Path]:
    """Every recording of the corpus, by name."""
    return sorted(CORPUS.glob("*.snmprec"))


def _value(tag: str, raw: str) -> bytes | str:
    if tag.endswith("x"):
        return bytes.fromhex(raw)
    if tag.endswith("e"):
        return raw.encode("latin-1").decode("unicode_escape").encode("latin-1")
    return raw


def text(value) -> str:
    """A recorded value as the collector shows text: decoded, NULs removed, stripped."""
    if isinstance(value, bytes):
        for encoding in ("utf-8", "gb18030", "latin-1"):
            try:
                value = value.decode(encoding)
                break
            except UnicodeDecodeError:
                continue
    return " ".join(str(value).replace("\x00", "").split())


def read(path: Path) -> dict:
    """The recording's sysObjectID, entity serials and makers, interface names."""
    found = {"object_id": None, "serials": {}, "if_names": {}, "if_descr": {}, "if_alias": {},
             "makers": {}}
    columns = {ENT_SERIAL: "serials", IF_NAME: "if_names", IF_DESCR: "if_descr",
               IF_ALIAS: "if_alias", ENT_MAKER: "makers", UPS_MAKER: "makers"}
    with path.open(encoding="utf-8", errors="surrogateescape") as lines:
        for line in lines:
            oid, _sep, rest = line.rstrip("\r\n").partition("|")
            tag, _sep, raw = rest.partition("|")
            oid = oid.lstrip(".")
            if oid == SYS_OBJECT_ID:
                found["object_id"] = raw.strip().lstrip(".")
                continue
            for prefix, key in columns.items():
                if oid.startswith(prefix):
                    try:
                        found[key][oid[len(prefix):]] = text(_value(tag, raw))
                    except (ValueError, UnicodeError):
                        pass
    return found


def enterprise(object_id: str | None) -> int | None:
    """The IANA enterprise number a sysObjectID names, if it names one."""
    if not object_id or not object_id.startswith(ENTERPRISES):
        return None
    number = object_id[len(ENTERPRISES):].split(".")[0]
    return int(number) if number.isdigit() and int(number) > 0 else None


def problems(recording: dict, obs) -> list[str]:
    """Everything wrong with one poll of one recording (empty: all is well)."""
    wrong = []
    if obs.status not in ("ok", "partial") or not obs.facts:
        return [f"poll ended {obs.status}: {obs.error}"]
    fact = obs.facts[0]
    keys, attributes = fact.keys, fact.attributes
    if not attributes.get("vendor") and (enterprise(recording["object_id"]) or any(
            recording["makers"].values())):
        wrong.append(f"no vendor (sysObjectID {recording['object_id']})")
    if keys.get("serial_number") is not None and is_placeholder_serial(keys["serial_number"]):
        wrong.append(f"placeholder serial_number key {keys['serial_number']!r}")
    wrong += [f"placeholder mac key {m}" for m in keys.get("mac", []) if is_placeholder_mac(m)]
    seen = {text(e.get("serial", "")) for e in attributes.get("entities", [])}
    seen |= {text(keys.get("serial_number", ""))}
    for index, serial in recording["serials"].items():
        if not is_placeholder_serial(serial) and serial not in seen:
            wrong.append(f"entity {index} serial {serial!r} missing from the fact")
    wrong += _interface_problems(recording, attributes)
    wrong += _number_problems(obs, attributes)
    return wrong


def _interface_problems(recording: dict, attributes: dict) -> list[str]:
    wrong = []
    interfaces = {i["index"]: i for i in attributes.get("interfaces", [])}
    for column, key in (("if_names", "name"), ("if_descr", "descr"), ("if_alias", "alias")):
        for index, name in recording[column].items():
            if not name:
                continue
            have = interfaces.get(index, {})
            if text(have.get(key, "")) != name:
                wrong.append(f"interface {index} {key} {name!r}: fact has {have.get(key)!r}")
    return wrong[:10]


def _limit(field: str) -> tuple[float, float] | None:
    for suffix in sorted(LIMITS, key=len, reverse=True):
        if field.endswith(suffix):
            return LIMITS[suffix]
    return None


def _number_problems(obs, attributes: dict) -> list[str]:
    wrong = []
    for sample in obs.samples:
        for field, number in sample.fields.items():
            limit = _limit(field)
            if limit and not limit[0] <= number <= limit[1]:
                wrong.append(f"{sample.measurement} {dict(sample.tags)} {field}={number}")
            if field == "size_bytes" and number > SIZE_LIMIT:
                wrong.append(f"{sample.measurement} {dict(sample.tags)} {field}={number}")
    for entry in attributes.get("interfaces", []):
        if not 0 <= entry.get("speed_bps", 0) <= LIMITS["_bps"][1]:
            wrong.append(f"interface {entry['index']} speed_bps={entry['speed_bps']}")
    if not 0 <= attributes.get("memory_bytes", 0) <= SIZE_LIMIT:
        wrong.append(f"memory_bytes={attributes['memory_bytes']}")
    return wrong[:10]


def coverage(path: Path, recording: dict, obs) -> dict:
    """One row of the coverage table."""
    fact = obs.facts[0] if obs.facts else None
    attributes = fact.attributes if fact else {}
    entities = attributes.get("entities", [])
    return {"file": path.stem, "status": obs.status,
            "enterprise": enterprise(recording["object_id"]),
            "vendor": attributes.get("vendor") or "", "type": attributes.get("device_type", ""),
            "model": attributes.get("model") or "",
            "serial": bool(fact and fact.keys.get("serial_number")),
            "serials": sum(1 for e in entities if e.get("serial")),
            "recorded_serials": sum(1 for s in recording["serials"].values()
                                    if not is_placeholder_serial(s)),
            "interfaces": attributes.get("interface_count", 0),
            "problems": problems(recording, obs)}


def table(rows: list[dict]) -> str:
    """The coverage table in Markdown, one row per recording."""
    lines = ["| file | enterprise | vendor | type | model | serial key | entity serials "
             "(recorded) | interfaces |", "|---|---:|---|---|---|---|---:|---:|"]
    for row in rows:
        flag = f" ⚠ {len(row['problems'])}" if row["problems"] else ""
        model = row["model"][:40].replace("|", "/")
        lines.append(f"| {row['file']}{flag} | {row['enterprise'] or '–'} | {row['vendor']} | "
                     f"{row['type']} | {model} | {'yes' if row['serial'] else ''} | "
                     f"{row['serials']} ({row['recorded_serials']}) | {row['interfaces']} |")
    return "\n".join(lines)


def counts(rows: list[dict]) -> str:
    """One line: how many recordings are fully identified, with a vendor, type, serial."""
    return (f"{len(rows)} recordings; fully identified (no problem found): "
            f"{sum(1 for r in rows if not r['problems'])}; with a vendor: "
            f"{sum(1 for r in rows if r['vendor'])} (no enterprise number in sysObjectID: "
            f"{sum(1 for r in rows if not r['enterprise'])}); with a device type other than "
            f"'other': {sum(1 for r in rows if r['type'] not in ('', 'other'))}; with a serial "
            f"key: {sum(1 for r in rows if r['serial'])}; entity serials in facts: "
            f"{sum(r['serials'] for r in rows)} (recorded: "
            f"{sum(r['recorded_serials'] for r in rows)}); interfaces: "
            f"{sum(r['interfaces'] for r in rows)}; polls ok: "
            f"{sum(1 for r in rows if r['status'] == 'ok')}, partial: "
            f"{sum(1 for r in rows if r['status'] == 'partial')}")
