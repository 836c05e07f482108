"""Observed rows that are one thing: a server seen by its BMC, its host agent and vCenter.

Observed assets are kept per source, so one physical server may have three rows. Rows of
different collectors that share a serial number, a UUID or a MAC are one
:class:`Entity`. A value that two rows of the *same* collector carry is not an identity:
two SNMP devices answering "00000000" or one VRRP MAC are two devices, not one, so such a
value is set aside as shared (and never used as a key), exactly like a placeholder.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from typing import Any, Iterable, Sequence

from ledger.reconcile import normalize

#: Observed kinds that reconciliation compares with declared devices or cloud resources.
DEVICE_KINDS = frozenset({"device", "host", "server", "hypervisor", "node"})
RESOURCE_KINDS = frozenset({"instance", "volume"})
#: Which row of an entity speaks first for a figure: hardware before hypervisors before
#: agents (a BMC knows the serial best, an agent inside a VM least).
PRIORITY = {"server": 0, "device": 1, "instance": 2, "volume": 2, "hypervisor": 3, "node": 4,
            "host": 5}


@dataclasses.dataclass(slots=True)
class Entity:
    """Observed rows taken for one asset, best source first, with their identity values."""

    id: int
    rows: list
    serials: list[tuple[str, str | None]] = dataclasses.field(default_factory=list)
    instance_ids: set[str] = dataclasses.field(default_factory=set)
    machine_uuids: set[str] = dataclasses.field(default_factory=set)
    macs: set[str] = dataclasses.field(default_factory=set)
    ips: list[tuple[str, str | None]] = dataclasses.field(default_factory=list)
    hosts: set[str] = dataclasses.field(default_factory=set)

    @property
    def klass(self) -> str:
        """``cloud_resource`` when any row is an instance or volume, else ``device``."""
        return "cloud_resource" if any(r.kind in RESOURCE_KINDS for r in self.rows) \
            else "device"

    @property
    def primary(self):
        """The row that speaks first."""
        return self.rows[0]

    @property
    def first_seen(self) -> dt.datetime:
        rows = self.rows
        return rows[0].first_seen if len(rows) == 1 else min(r.first_seen for r in rows)

    @property
    def last_seen(self) -> dt.datetime:
        rows = self.rows
        return rows[0].last_seen if len(rows) == 1 else max(r.last_seen for r in rows)

    def value(self, column: str) -> tuple[Any, Any]:
        """The first non-empty ``column`` over the rows, and the row it came from."""
        rows = self.rows
        if len(rows) == 1:
            value = getattr(rows[0], column)
            return (None, None) if value is None or value == "" else (value, rows[0])
        for row in rows:
            value = getattr(row, column)
            if value not in (None, ""):
                return value, row
        return None, None

    def keys(self) -> dict[str, Any]:
        """The identity values, as reported in pairs (JSON-ready)."""
        out: dict[str, Any] = {}
        if self.serials:
            out["serial_number"] = self.serials[0][0]
        for name, values in (("instance_uuid", self.instance_ids),
                             ("machine_uuid", self.machine_uuids)):
            if values:
                out[name] = sorted(values)[0]
        if self.macs:
            out["mac"] = sorted(self.macs)
        if self.ips:
            out["mgmt_ip"] = self.ips[0][0]
        if self.hosts:
            out["hostname"] = sorted(self.hosts)[0]
        return out


def _link_values(row, extra_placeholders: frozenset[str]) -> list[tuple[str, str]]:
    values = []
    for tag, value in (("s", normalize.serial(row.serial_number)),
                       ("u", normalize.uuid(row.machine_uuid)),
                       ("i", normalize.uuid(row.instance_uuid) or _volume_id(row))):
        if value and value.lower() not in extra_placeholders:
            values.append((tag, value))
    for mac in row.macs if isinstance(row.macs, list) else ():   # a list, as recorded
        value = normalize.mac(mac)
        if value and value not in extra_placeholders:
            values.append(("m", value))
    return values


def _volume_id(row) -> str | None:
    if row.kind != "volume" or not row.natural_key.startswith("res:volume:"):
        return None
    return normalize.uuid(row.natural_key.rsplit(":", 1)[-1])


def build(rows: Sequence, extra_placeholders: Iterable[str] = ()) -> tuple[list[Entity],
                                                                          set[tuple[str, str]]]:
    """Group reconcilable observed rows into entities; also return the shared values."""
    placeholders = frozenset(str(v).strip().lower() for v in extra_placeholders)
    rows = [r for r in rows if r.kind in DEVICE_KINDS or r.kind in RESOURCE_KINDS]
    links = [_link_values(r, placeholders) for r in rows]
    shared = _shared(rows, links)
    parent = list(range(len(rows)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    first: dict[tuple[str, str], int] = {}
    for index, values in enumerate(links):
        for value in values:
            if value in shared:
                continue
            other = first.setdefault(value, index)
            if other != index:
                parent[find(index)] = find(other)
    groups: dict[int, list[int]] = defaultdict(list)
    for index in range(len(rows)):
        groups[find(index)].append(index)
    entities = [_entity([rows[i] for i in members], [links[i] for i in members], shared)
                for members in groups.values()]
    entities.sort(key=lambda e: e.id)
    return entities, shared


def _shared(rows: Sequence, links: list[list[tuple[str, str]]]) -> set[tuple[str, str]]:
    """Values two rows of one collector both carry (placeholders in disguise)."""
    counts = Counter((value, row.collector) for row, values in zip(rows, links)
                     for value in set(values))
    return {value for (value, _collector), count in counts.items() if count > 1}


def _entity(rows: list, links: list[list[tuple[str, str]]],
            shared: set[tuple[str, str]]) -> Entity:
    if len(rows) == 1:   # most assets are seen by one source
        order = [0]
        entity = Entity(id=rows[0].id, rows=rows)
    else:
        order = sorted(range(len(rows)), key=lambda i: (PRIORITY.get(rows[i].kind, 9),
                                                        rows[i].id))
        entity = Entity(id=min(r.id for r in rows), rows=[rows[i] for i in order])
    for i in order:
        row = rows[i]
        for tag, value in links[i]:
            if (tag, value) in shared:
                continue
            if tag == "s":
                entity.serials.append((value, row.vendor))
            elif tag == "u":
                entity.machine_uuids.add(value)
            elif tag == "i":
                entity.instance_ids.add(value)
            else:
                entity.macs.add(value)
        host = normalize.host(row.hostname)
        address = normalize.ip(row.mgmt_ip)
        if address:
            entity.ips.append((address, host))
        if host:
            entity.hosts.add(host)
    return entity
