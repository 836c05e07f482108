"""Observed assets: facts from collectors become rows with first and last seen.

One row per (source, natural key); the natural key is the strongest identity key
the fact carries (DESIGN.md: serial number with vendor, instance UUID, machine
UUID, MAC, management IP with hostname, hostname).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Iterable

from sqlalchemy import select
from sqlalchemy.orm import Session

from collectors.base import IDENTITY_KEYS, Fact
from ledger.models import ObservedAsset

_LOGGER = logging.getLogger(__name__)
#: Identity keys stored in their own columns (MACs go to ``mac`` and ``macs``).
KEY_COLUMNS = tuple(key for key in IDENTITY_KEYS if key not in ("mac", "resource_id"))


def natural_key(fact: Fact) -> str | None:
    """Return the strongest identity key of ``fact`` as a string, or None if it has none."""
    keys = fact.keys
    vendor = fact.attributes.get("vendor") or keys.get("vendor") or ""
    macs = _macs(keys.get("mac"))
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
                 department: str | None, seen_at: dt.datetime) -> int:
    """Upsert observed assets for ``facts`` seen by ``source``; return how many were kept."""
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
        _apply(asset, fact, collector, department, seen_at)
        kept += 1
    return kept


def _apply(asset: ObservedAsset, fact: Fact, collector: str, department: str | None,
           seen_at: dt.datetime) -> None:
    macs = _macs(fact.keys.get("mac"))
    asset.collector = collector
    asset.kind = fact.kind
    for column in KEY_COLUMNS:
        setattr(asset, column, _text(fact.keys.get(column)))
    asset.vendor = _text(fact.attributes.get("vendor") or fact.keys.get("vendor"))
    asset.model = _text(fact.attributes.get("model"))
    asset.mac = macs[0] if macs else None
    asset.macs = macs
    # A cloud collector maps projects/namespaces to departments; else the target's tag.
    asset.department = _text(fact.attributes.get("department")) or department
    asset.attributes = dict(fact.attributes)
    asset.last_seen = seen_at


def _macs(value) -> list[str]:
    if not value:
        return []
    values = [value] if isinstance(value, str) else list(value)
    return sorted({str(v).lower() for v in values if v})


def _text(value) -> str | None:
    return None if value in (None, "") else str(value)


def observed_for_source(session: Session, source: str) -> list[ObservedAsset]:
    """Return the assets one source observed, most recently seen first."""
    return list(session.scalars(select(ObservedAsset).where(ObservedAsset.source == source)
                                .order_by(ObservedAsset.last_seen.desc())))
