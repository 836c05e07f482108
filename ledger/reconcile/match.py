"""Matching observed entities with declared assets by identity keys, strongest first.

For each entity the configured keys of its class are tried in order; each key names the
declared assets it points at. One declared asset found by one or more keys is a
candidate, explained by the strongest key that found it. Two declared assets (by two
keys, or one key naming two) make a conflict; so does one declared asset that two
entities claim. Conflicts go to review and are never matched automatically.
"""

from __future__ import annotations

import dataclasses
from collections import defaultdict
from typing import Iterable, Mapping, Sequence

from ledger.reconcile import normalize
from ledger.reconcile.entities import Entity

Ref = tuple[str, int]   # (census category, declared row id)


@dataclasses.dataclass
class Decision:
    """What the keys say about one entity."""

    entity: Entity
    candidates: dict[Ref, str]          # declared asset -> strongest key that found it
    ambiguous: dict[str, list[Ref]]     # key -> the several assets it named

    @property
    def clean(self) -> Ref | None:
        """The one declared asset the keys agree on, if they do: a single candidate that
        every key naming several assets also names."""
        if len(self.candidates) != 1:
            return None
        ref = next(iter(self.candidates))
        return ref if all(ref in refs for refs in self.ambiguous.values()) else None

    @property
    def conflicting(self) -> list[Ref]:
        """The declared assets in conflict for this entity (empty when clean or unmatched)."""
        if self.clean is not None:
            return []
        refs = set(self.candidates)
        for found in self.ambiguous.values():
            refs.update(found)
        return sorted(refs)


class DeclaredIndex:
    """Declared devices and cloud resources by every identity value they carry."""

    def __init__(self, devices: Sequence, resources: Sequence,
                 placeholders: Iterable[str] = ()) -> None:
        skip = frozenset(str(v).strip().lower() for v in placeholders)
        self.rows: dict[Ref, object] = {}
        self.serial: dict[str, list[tuple[Ref, str | None]]] = defaultdict(list)
        self.instance: dict[str, list[Ref]] = defaultdict(list)
        self.mac: dict[str, list[Ref]] = defaultdict(list)
        self.ip: dict[str, list[tuple[Ref, str | None]]] = defaultdict(list)
        self.host: dict[str, list[Ref]] = defaultdict(list)
        for row in devices:
            ref = ("device", row.id)
            self.rows[ref] = row
            self._add(self.serial, normalize.serial(row.serial_number), (ref, row.vendor), skip)
            self._add(self.mac, normalize.mac(row.mac), ref, skip)
            self._add(self.ip, normalize.ip(row.management_ip),
                      (ref, normalize.host(row.hostname)), skip)
            self._add(self.host, normalize.host(row.hostname), ref, skip)
        for row in resources:
            ref = ("cloud_resource", row.id)
            self.rows[ref] = row
            self._add(self.instance, normalize.uuid(row.instance_id), ref, skip)
            self._add(self.ip, normalize.ip(row.ip_address),
                      (ref, normalize.host(row.hostname)), skip)
            self._add(self.host, normalize.host(row.hostname), ref, skip)

    @staticmethod
    def _add(index: dict, value: str | None, item, skip: frozenset[str]) -> None:
        if value and value.lower() not in skip:
            index[value].append(item)

    def hits(self, entity: Entity, key: str) -> set[Ref]:
        """The declared assets ``key`` of ``entity`` points at."""
        found: set[Ref] = set()
        if key == "serial_number":
            for value, vendor in entity.serials:
                found.update(ref for ref, declared_vendor in self.serial.get(value, ())
                             if normalize.vendors_agree(vendor, declared_vendor))
        elif key in ("instance_uuid", "machine_uuid"):
            values = entity.instance_ids if key == "instance_uuid" else entity.machine_uuids
            for value in values:
                found.update(self.instance.get(value, ()))
        elif key == "mac":
            for value in entity.macs:
                found.update(self.mac.get(value, ()))
        elif key == "mgmt_ip":
            for address, host in entity.ips:
                found.update(ref for ref, declared_host in self.ip.get(address, ())
                             if not host or not declared_host or host == declared_host)
        elif key == "hostname":
            for value in entity.hosts:
                found.update(self.host.get(value, ()))
        return found


def decide(entity: Entity, index: DeclaredIndex, keys: Sequence[str]) -> Decision:
    """Try ``keys`` in order on one entity."""
    candidates: dict[Ref, str] = {}
    ambiguous: dict[str, list[Ref]] = {}
    for key in keys:
        found = index.hits(entity, key)
        if len(found) > 1:
            ambiguous[key] = sorted(found)
            continue
        for ref in found:
            candidates.setdefault(ref, key)
    return Decision(entity, candidates, ambiguous)


def decide_all(entities: Sequence[Entity], index: DeclaredIndex,
               keys: Mapping[str, Sequence[str]]) -> tuple[list[Decision], dict[Ref, list]]:
    """Decide every entity, and find declared assets that several entities claim."""
    decisions = [decide(e, index, keys.get(e.klass, ())) for e in entities]
    claims: dict[Ref, list[Decision]] = defaultdict(list)
    for decision in decisions:
        if decision.clean is not None:
            claims[decision.clean].append(decision)
    contested = {ref: found for ref, found in claims.items() if len(found) > 1}
    return decisions, contested
