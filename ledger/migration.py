"""Migration and consolidation progress, with evidence from what is observed.

- **Information systems** onto the government cloud: *planned* (none of its cloud
  resources seen), *in progress* (some seen on a cloud platform, its legacy hosts
  still busy), *migrated* (seen on the cloud, legacy hosts idle or none
  declared; always for a system declared on the cloud once any of its instances is seen
  there, a missing one being reconciliation's finding), *legacy retired* (legacy hosts
  declared retired or gone); overdue past the declared due date.
- **Dedicated networks** into the e-government extranet: the declared plan and status,
  with the devices still answering in the network and the traffic they carry.
- **Self-built data centers**: the declared consolidation status with the devices still
  answering there; a closed one that still answers is a finding.

Pure functions over declared rows and what reconciliation and idle detection concluded
(``activity``: declared asset -> active, idle, gone or unseen).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter, defaultdict
from typing import Any, Mapping, Sequence

from ledger.findings import Found

Ref = tuple[str, int]
DONE = ("migrated", "legacy_retired")


@dataclasses.dataclass
class MigrationInputs:
    """What progress is judged from."""

    systems: Sequence
    resources: Sequence
    devices: Sequence
    networks: Sequence
    data_centers: Sequence
    activity: Mapping[Ref, str]              # active | idle | gone | unseen
    network_devices: Mapping[str, list[tuple[str, float | None]]]  # net code -> (state, bps)
    dc_devices: Mapping[str, int]            # data center code -> entities answering there
    platform_codes: Mapping[int, str]
    today: dt.date


@dataclasses.dataclass
class Progress:
    """Progress of every system, network and data center, and the findings."""

    systems: list[dict]
    networks: list[dict]
    data_centers: list[dict]
    found: list[Found]

    def by_department(self) -> dict[int | None, dict[str, int]]:
        """Counts per owner department: systems by derived status, overdue items."""
        out: dict[int | None, Counter] = defaultdict(Counter)
        for item in self.systems:
            out[item["department_id"]][f"systems_{item['status']}"] += 1
            out[item["department_id"]]["systems_overdue"] += item["overdue"]
        for item in self.networks:
            out[item["department_id"]][f"networks_{item['status']}"] += 1
            out[item["department_id"]]["networks_overdue"] += item["overdue"]
        return {k: dict(v) for k, v in out.items()}

    def rates(self) -> dict[str, float | None]:
        """Cloud migration and network integration rates (None when nothing is planned)."""
        planned = [s for s in self.systems if s["plan"] in ("migrate", "on_cloud")]
        networks = [n for n in self.networks if n["plan"] in ("migrate", "interconnect")]
        return {"cloud_migration_rate": _rate(sum(s["status"] in DONE for s in planned),
                                              len(planned)),
                "network_integration_rate": _rate(sum(n["status"] == "completed"
                                                      for n in networks), len(networks))}


def _rate(done: int, total: int) -> float | None:
    return None if total == 0 else round(done / total, 4)


def progress(inputs: MigrationInputs) -> Progress:
    """Judge every system, network and data center."""
    found: list[Found] = []
    systems = [_system(row, inputs, found) for row in inputs.systems
               if row.migration_plan or row.run_location]
    networks = [_network(row, inputs, found) for row in inputs.networks]
    centers = [_center(row, inputs, found) for row in inputs.data_centers]
    return Progress(systems, networks, centers, found)


def _system(row, inputs: MigrationInputs, found: list[Found]) -> dict[str, Any]:
    cloud = [r for r in inputs.resources if r.information_system_id == row.id]
    legacy = [d for d in inputs.devices if d.information_system_id == row.id]
    seen = [r for r in cloud if inputs.activity.get(("cloud_resource", r.id)) in
            ("active", "idle")]
    on_target = [r for r in seen if row.migration_target_id is None or
                 r.platform_id == row.migration_target_id]
    states = Counter(inputs.activity.get(("device", d.id), "unseen") if d.status != "retired"
                     else "retired" for d in legacy)
    plan = row.migration_plan or ("on_cloud" if row.run_location == "gov_cloud" else None)
    status = _system_status(plan, bool(on_target), states)
    due = row.migration_due
    overdue = plan == "migrate" and due is not None and due < inputs.today and \
        status not in DONE
    item = {"category": "information_system", "code": row.code, "name": row.name,
            "department_id": row.department_id, "plan": plan,
            "declared_status": row.migration_status, "status": status,
            "due": due.isoformat() if due else None, "overdue": overdue,
            "days_overdue": (inputs.today - due).days if overdue else 0,
            "target": inputs.platform_codes.get(row.migration_target_id),
            "evidence": {"cloud_declared": len(cloud), "cloud_seen": len(seen),
                         "cloud_seen_on_target": len(on_target), "legacy_declared": len(legacy),
                         **{f"legacy_{k}": v for k, v in states.items()}},
            "declared_done_without_evidence": row.migration_status == "completed" and
            status not in DONE}
    if overdue:
        found.append(Found(f"migration_overdue|d:information_system:{row.id}",
                           "migration_overdue", row.department_id,
                           {k: item[k] for k in ("name", "due", "days_overdue", "status",
                                                 "declared_status", "target", "evidence")},
                           declared_category="information_system", declared_code=row.code))
    return item


def _system_status(plan: str | None, on_cloud: bool, legacy: Counter) -> str:
    if plan == "not_migrate":
        return "not_planned"
    if not on_cloud:
        return "planned" if plan == "migrate" else "unverified"
    if plan == "on_cloud":
        # Declared as running on the cloud and seen there: migrated. An instance of it not
        # seen is a missing-asset finding of reconciliation, not a migration under way.
        return "migrated"
    if legacy.get("active"):
        return "in_progress"
    alive = legacy.get("idle", 0)
    if not alive and sum(legacy.values()) and not legacy.get("unseen"):
        return "legacy_retired"
    return "migrated"


def _network(row, inputs: MigrationInputs, found: list[Found]) -> dict[str, Any]:
    devices = inputs.network_devices.get(row.code, [])
    answering = [bps for state, bps in devices if state in ("active", "idle")]
    traffic = sum(b for b in answering if b)
    status = row.integration_status or "not_started"
    plan = row.integration_plan
    due = row.integration_due
    overdue = plan in ("migrate", "interconnect") and due is not None and \
        due < inputs.today and status != "completed"
    item = {"category": "dedicated_network", "code": row.code, "name": row.name,
            "department_id": row.department_id, "plan": plan, "status": status,
            "due": due.isoformat() if due else None, "overdue": overdue,
            "days_overdue": (inputs.today - due).days if overdue else 0,
            "evidence": {"devices": len(devices), "devices_answering": len(answering),
                         "traffic_bps": round(traffic, 1)},
            "declared_done_but_active": plan == "migrate" and status == "completed"
            and traffic > 0}
    if overdue:
        found.append(Found(f"network_overdue|d:dedicated_network:{row.id}", "network_overdue",
                           row.department_id,
                           {k: item[k] for k in ("name", "plan", "due", "days_overdue",
                                                 "status", "evidence")},
                           declared_category="dedicated_network", declared_code=row.code))
    return item


def _center(row, inputs: MigrationInputs, found: list[Found]) -> dict[str, Any]:
    declared = [d for d in inputs.devices if d.data_center_id == row.id and
                d.status != "retired"]
    answering = sum(1 for d in declared
                    if inputs.activity.get(("device", d.id)) in ("active", "idle"))
    tagged = inputs.dc_devices.get(row.code, 0)
    item = {"category": "data_center", "code": row.code, "name": row.name,
            "department_id": row.department_id, "build_mode": row.build_mode,
            "status": row.consolidation_status,
            "evidence": {"devices_declared": len(declared), "declared_answering": answering,
                         "observed_answering": tagged}}
    if row.consolidation_status == "closed" and (answering or tagged):
        found.append(Found(f"dc_still_active|d:data_center:{row.id}", "dc_still_active",
                           row.department_id, {"name": row.name, **item["evidence"]},
                           declared_category="data_center", declared_code=row.code))
    return item
