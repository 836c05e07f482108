"""Observed assets: facts from collectors become rows with first and last seen.

One row per (source, natural key); the natural key is the strongest identity key
the fact carries (DESIGN.md: serial number with vendor, instance UUID, machine
UUID, MAC, management IP with hostname, hostname). Placeholder values
(:mod:`core.identity`) are never keys.

Recording also lifts what the analyses read into columns (CPU, memory, disk, GPUs,
architecture, power state), keeps the target's data-center, platform and network tags,
and resolves the department code to the census department (kept as given when no
department has that code, so it stays visible as unknown).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, Iterable, Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.observation import IDENTITY_KEYS, Fact
from core.identity import clean_serial, clean_uuid, is_placeholder_mac
from ledger.estate import CodeBook
from ledger.models import ObservedAsset

_LOGGER = logging.getLogger(__name__)
#: Identity keys stored in their own columns (MACs go to ``mac`` and ``macs``).
KEY_COLUMNS = tuple(key for key in IDENTITY_KEYS if key not in ("mac", "resource_id"))
#: Target tags naming census rows, and the observed-asset column each fills.
TAG_COLUMNS = {"datacenter": "data_center", "data_center": "data_center",
               "platform": "platform", "network": "network"}
#: Power states that mean "not running", whatever the collector calls them.
STOPPED = {"shutdown", "shutoff", "poweredoff", "off", "stopped", "suspended", "paused",
           "crashed", "nostate", "suspend"}


def identity(fact: Fact) -> dict[str, Any]:
    """The fact's identity keys without placeholders (MACs as a sorted list)."""
    keys = dict(fact.keys)
    keys["serial_number"] = clean_serial(keys.get("serial_number"))
    for name in ("instance_uuid", "machine_uuid"):
        keys[name] = clean_uuid(keys.get(name))
    keys["mac"] = _macs(keys.get("mac"))
    return {k: v for k, v in keys.items() if v not in (None, "", [])}


def natural_key(fact: Fact) -> str | None:
    """Return the strongest identity key of ``fact`` as a string, or None if it has none."""
    keys = identity(fact)
    vendor = fact.attributes.get("vendor") or keys.get("vendor") or ""
    macs = keys.get("mac")
    if keys.get("serial_number"):
        return f"serial:{vendor}:{keys['serial_number']}"
    if keys.get("instance_uuid"):
        return f"instance:{keys['instance_uuid']}"
    if keys.get("machine_uuid"):
        return f"uuid:{keys['machine_uuid']}"
    if macs:
        return f"mac:{macs[0]}"
    if keys.get("mgmt_ip"):
        return f"ip:{keys['mgmt_ip']}/{keys.get('hostname') or ''}"
    if keys.get("hostname"):
        return f"host:{keys['hostname']}"
    if keys.get("resource_id"):   # volumes, pools, datastores: the API's own ID
        return f"res:{fact.kind}:{keys['resource_id']}"
    return None


def record_facts(session: Session, *, source: str, collector: str, facts: Iterable[Fact],
                 seen_at: dt.datetime, department: str | None = None,
                 tags: Mapping[str, str] | None = None, newest_only: bool = False) -> int:
    """Upsert observed assets for ``facts`` seen by ``source``; return how many were kept.

    ``tags`` are the target's tags (``department``, ``datacenter``, ``platform``,
    ``network``); ``department`` overrides the tag (older callers pass it alone).
    ``newest_only``: an asset last seen after ``seen_at`` keeps what it has (facts
    delivered late by a zone member never turn an asset back).
    """
    tags = dict(tags or {})
    if department is not None:
        tags["department"] = department
    facts = list(facts)
    departments = CodeBook.load(session, "department", {tags.get("department")} |
                                {f.attributes.get("department") for f in facts})
    kept = 0
    # One query for the source's rows, not one per fact: a cloud reports 10,000 instances.
    known = {asset.natural_key: asset for asset in session.scalars(
        select(ObservedAsset).where(ObservedAsset.source == source))}
    for fact in facts:
        key = natural_key(fact)
        if key is None:
            _LOGGER.warning("Fact of kind %s from %s has no identity key; not recorded",
                            fact.kind, source)
            continue
        asset = known.get(key)
        if asset is None:
            asset = ObservedAsset(source=source, natural_key=key, first_seen=seen_at)
            session.add(asset)
            known[key] = asset
        elif newest_only and asset.last_seen is not None and seen_at < asset.last_seen:
            continue
        _apply(asset, fact, collector, tags, departments, seen_at)
        kept += 1
    return kept


def _apply(asset: ObservedAsset, fact: Fact, collector: str, tags: Mapping[str, str],
           departments: CodeBook, seen_at: dt.datetime) -> None:
    keys = identity(fact)
    macs = keys.get("mac", [])
    attributes = fact.attributes
    asset.collector = collector
    asset.kind = fact.kind
    for column in KEY_COLUMNS:
        setattr(asset, column, _text(keys.get(column)))
    asset.vendor = _text(attributes.get("vendor") or fact.keys.get("vendor"))
    asset.model = _text(attributes.get("model"))
    asset.mac = macs[0] if macs else None
    asset.macs = macs
    # A cloud collector maps projects/namespaces to departments; else the target's tag.
    asset.department = _text(attributes.get("department")) or _text(tags.get("department"))
    asset.department_id = departments.resolve(asset.department)
    for tag, column in TAG_COLUMNS.items():
        if tags.get(tag):
            setattr(asset, column, str(tags[tag])[:128])
    for column, value in figures(fact).items():
        setattr(asset, column, value)
    asset.attributes = dict(attributes)
    asset.last_seen = seen_at


def figures(fact: Fact) -> dict[str, Any]:
    """The columns analyses read, from a fact's attributes (None where unknown)."""
    a = fact.attributes
    cpu_model = a.get("cpu_model") or next(iter(a.get("cpu_models") or []), None)
    disks = [d.get("size_bytes") for d in a.get("disks") or [] if isinstance(d, dict)]
    disk = a.get("disk_bytes") or a.get("size_bytes") or a.get("capacity_bytes") or \
        a.get("total_bytes") or (sum(d for d in disks if _int(d)) or None)
    return {
        "cpu_model": _text(cpu_model, 255),
        "cpu_sockets": _int(a.get("cpu_sockets")),
        "cpu_cores": _int(a.get("cpu_cores")),
        "cpu_threads": _int(a.get("cpu_threads") or a.get("cpus")),
        "vcpus": _int(a.get("vcpus")),
        "memory_bytes": _int(a.get("memory_bytes")),
        "disk_bytes": _int(disk),
        "gpus": _gpus(a),
        "architecture": _text(a.get("architecture"), 32),
        "power_state": _power(a.get("power_state") or a.get("state")),
        # The device's agent answers for the machine itself (an SNMP BMC profile).
        "hardware": True if a.get("hardware") is True else None,
    }


def _gpus(attributes: Mapping[str, Any]) -> int | None:
    if attributes.get("gpus") is not None:
        return _int(attributes["gpus"])
    processors = attributes.get("processors")
    if not isinstance(processors, list):
        return None
    count = sum(1 for p in processors if isinstance(p, dict) and p.get("type") == "GPU")
    return count or None


def _power(value: Any) -> str | None:
    if value in (None, ""):
        return None
    text = str(value).strip().lower().replace("_", "").replace(" ", "")
    if text in STOPPED:
        return "stopped"
    if text in ("running", "on", "poweredon", "active", "blocked"):
        return "running"
    return text[:32]


def _macs(value) -> list[str]:
    if not value:
        return []
    values = [value] if isinstance(value, str) else list(value)
    return sorted({str(v).lower() for v in values if v and not is_placeholder_mac(v)})


def _int(value) -> int | None:
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = int(float(value))
    except (TypeError, ValueError, OverflowError):
        return None
    return number if 0 <= number < 2**62 else None


def _text(value, limit: int | None = None) -> str | None:
    if value in (None, ""):
        return None
    text = str(value)
    return text[:limit] if limit else text


def observed_for_source(session: Session, source: str) -> list[ObservedAsset]:
    """Return the assets one source observed, most recently seen first."""
    return list(session.scalars(select(ObservedAsset).where(ObservedAsset.source == source)
                                .order_by(ObservedAsset.last_seen.desc())))
