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
    activity: Mapping[Ref, str]              # active | idle | silent | gone | unseen
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


@dataclasses.dataclass
class Evidence:
    """What was observed, counted per declared system, network and data center.

    :func:`evidence` counts it from rows in Python; ``ledger.migration_query`` counts the
    same in the database (set-based, whatever the size of the estate)."""

    #: system id -> cloud_declared, cloud_seen, cloud_seen_on_target, legacy (state counts)
    systems: Mapping[int, dict[str, Any]]
    #: network code -> (devices, devices answering, traffic of those answering in bit/s)
    networks: Mapping[str, tuple[int, int, float]]
    #: data center id -> (declared devices not retired, of them answering)
    centers: Mapping[int, tuple[int, int]]
    #: data center code -> observed entities answering there (by their tags; neither gone
    #: nor held suspect by reconciliation)
    dc_devices: Mapping[str, int]


def evidence(inputs: MigrationInputs) -> Evidence:
    """Count the evidence from declared rows and the activity of each declared asset."""
    systems: dict[int, dict[str, Any]] = {}
    targets = {row.id: row.migration_target_id for row in inputs.systems}

    def system(id_: int) -> dict[str, Any]:
        return systems.setdefault(id_, {"cloud_declared": 0, "cloud_seen": 0,
                                        "cloud_seen_on_target": 0, "legacy": Counter()})
    for r in inputs.resources:
        if r.information_system_id is None:
            continue
        item = system(r.information_system_id)
        item["cloud_declared"] += 1
        if inputs.activity.get(("cloud_resource", r.id)) in ("active", "idle"):
            item["cloud_seen"] += 1
            target = targets.get(r.information_system_id)
            item["cloud_seen_on_target"] += target is None or r.platform_id == target
    centers: dict[int, list[int]] = {}
    for d in inputs.devices:
        state = "retired" if d.status == "retired" else \
            inputs.activity.get(("device", d.id), "unseen")
        if d.information_system_id is not None:
            system(d.information_system_id)["legacy"][state] += 1
        if d.data_center_id is not None and state != "retired":
            counts = centers.setdefault(d.data_center_id, [0, 0])
            counts[0] += 1
            counts[1] += state in ("active", "idle")
    networks = {}
    for code, devices in inputs.network_devices.items():
        answering = [bps for state, bps in devices if state in ("active", "idle")]
        networks[code] = (len(devices), len(answering), sum(b for b in answering if b))
    return Evidence(systems, networks, {k: (v[0], v[1]) for k, v in centers.items()},
                    dict(inputs.dc_devices))


def progress(inputs: MigrationInputs) -> Progress:
    """Judge every system, network and data center."""
    return judge(inputs.systems, inputs.networks, inputs.data_centers, evidence(inputs),
                 inputs.platform_codes, inputs.today)


def judge(systems: Sequence, networks: Sequence, data_centers: Sequence, seen: Evidence,
          platform_codes: Mapping[int, str], today: dt.date) -> Progress:
    """Judge every declared system, network and data center on the counted evidence."""
    found: list[Found] = []
    context = (seen, platform_codes, today)
    return Progress([_system(row, context, found) for row in systems
                     if row.migration_plan or row.run_location],
                    [_network(row, context, found) for row in networks],
                    [_center(row, context, found) for row in data_centers], found)


def _system(row, context, found: list[Found]) -> dict[str, Any]:
    seen, platform_codes, today = context
    counts = seen.systems.get(row.id) or {"cloud_declared": 0, "cloud_seen": 0,
                                          "cloud_seen_on_target": 0, "legacy": Counter()}
    states = Counter(counts["legacy"])
    plan = row.migration_plan or ("on_cloud" if row.run_location == "gov_cloud" else None)
    status = _system_status(plan, bool(counts["cloud_seen_on_target"]), states)
    due = row.migration_due
    overdue = plan == "migrate" and due is not None and due < today and \
        status not in DONE
    item = {"category": "information_system", "code": row.code, "name": row.name,
            "department_id": row.department_id, "plan": plan,
            "declared_status": row.migration_status, "status": status,
            "due": due.isoformat() if due else None, "overdue": overdue,
            "days_overdue": (today - due).days if overdue else 0,
            "target": platform_codes.get(row.migration_target_id),
            "evidence": {"cloud_declared": counts["cloud_declared"],
                         "cloud_seen": counts["cloud_seen"],
                         "cloud_seen_on_target": counts["cloud_seen_on_target"],
                         "legacy_declared": sum(states.values()),
                         **{f"legacy_{k}": v for k, v in sorted(states.items())}},
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


def _network(row, context, found: list[Found]) -> dict[str, Any]:
    seen, _platforms, today = context
    devices, answering, traffic = seen.networks.get(row.code, (0, 0, 0.0))
    status = row.integration_status or "not_started"
    plan = row.integration_plan
    due = row.integration_due
    overdue = plan in ("migrate", "interconnect") and due is not None and \
        due < today and status != "completed"
    item = {"category": "dedicated_network", "code": row.code, "name": row.name,
            "department_id": row.department_id, "plan": plan, "status": status,
            "due": due.isoformat() if due else None, "overdue": overdue,
            "days_overdue": (today - due).days if overdue else 0,
            "evidence": {"devices": devices, "devices_answering": answering,
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


def _center(row, context, found: list[Found]) -> dict[str, Any]:
    seen = context[0]
    declared, answering = seen.centers.get(row.id, (0, 0))
    tagged = seen.dc_devices.get(row.code, 0)
    item = {"category": "data_center", "code": row.code, "name": row.name,
            "department_id": row.department_id, "build_mode": row.build_mode,
            "status": row.consolidation_status,
            "evidence": {"devices_declared": declared, "declared_answering": answering,
                         "observed_answering": tagged}}
    if row.consolidation_status == "closed" and (answering or tagged):
        found.append(Found(f"dc_still_active|d:data_center:{row.id}", "dc_still_active",
                           row.department_id, {"name": row.name, **item["evidence"]},
                           declared_category="data_center", declared_code=row.code))
    return item
