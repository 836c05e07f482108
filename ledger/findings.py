"""Findings and their lifecycle: open, acknowledged, resolved; first and last seen.

An analysis reports what it finds now as :class:`Found` items; :func:`sync` turns them
into ledger rows: a new condition opens a finding, one found again only moves
``last_seen`` (a run twice gives the same findings, no duplicates), one no longer found is
resolved by the analysis, one that returns (or whose evidence changes) is reopened; one
resolved by hand stays resolved while its condition persists unchanged. People acknowledge
and resolve through :func:`transition`. Every state change is a record in the census's
hash-chained change log (object type ``finding``), with actor, time and reason.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
import uuid
from typing import Any, Iterable

from sqlalchemy import Connection, Engine, func, select, update

from ledger import i18n
from ledger.census import audit
from ledger.census.snapshot import Scope
from ledger.db import page_offset
from ledger.const import FINDING_STATES, TRANSITIONS
from ledger.models import Finding

UTC = dt.timezone.utc
CHUNK = 2000
#: What the analyses write as the actor of their own transitions.
SYSTEM_ACTOR = "system:analysis"


@dataclasses.dataclass(frozen=True)
class Found:
    """One condition an analysis found now. ``fingerprint`` names it across runs."""

    fingerprint: str
    kind: str
    department_id: int | None
    details: dict[str, Any]
    declared_category: str | None = None
    declared_code: str | None = None
    observed_asset_id: int | None = None
    observed_source: str | None = None
    field: str | None = None
    amount_fen: int | None = None


@dataclasses.dataclass
class SyncResult:
    """What one :func:`sync` did."""

    opened: int = 0
    reopened: int = 0
    resolved: int = 0
    updated: int = 0
    active: int = 0


class FindingError(ValueError):
    """A transition that is not allowed, or a reason that is missing; ``reason`` is a key of
    :data:`MESSAGES`."""

    def __init__(self, reason: str, **params: Any) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


MESSAGES = {
    "not_found": ("没有这条发现（或不在你的部门范围内）", "no such finding (or not in your scope)"),
    "bad_state": ("状态只能是 open、acknowledged 或 resolved", "state must be open, "
                  "acknowledged or resolved"),
    "bad_transition": ("不能从“{before}”改为“{after}”", "cannot go from {before} to {after}"),
    "reason_required": ("解决或重新打开时必须填写原因", "a reason is required to resolve or reopen"),
    "bad_reason": ("原因应为不超过 2000 个字符、不含控制字符的文本",
                   "the reason must be text of at most 2000 characters without control "
                   "characters"),
}
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


i18n.register("findings", MESSAGES)


def message(error: FindingError, language: str | None = None) -> str:
    """The error in ``language`` (default: the catalogue's current language)."""
    return i18n.dgettext("findings", error.reason, language, **error.params)


def digest(item: Found) -> str:
    """A hash of what a run reports about a finding (details, owner, amount)."""
    text = json.dumps([item.details, item.department_id, item.amount_fen], sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


#: Per kind, the details that make the condition what it is. A finding resolved by hand
#: stays resolved while they (and its owner) stay the same; observation times, day counts,
#: utilization figures, sources and amounts move from run to run without the condition
#: changing. A kind not listed counts all its details.
EVIDENCE: dict[str, tuple[str, ...]] = {
    "mismatch": ("field", "declared", "observed"),
    "missing": (), "suspect": (), "undeclared": (), "oversized": (),
    "conflict": ("reason", "candidates"),
    "unknown_department": ("code",),
    "idle": ("basis", "note"),
    "migration_overdue": ("due", "status", "declared_status"),
    "network_overdue": ("plan", "due", "status"),
}


def evidence(item: Found) -> str:
    """A hash of what the condition is (:data:`EVIDENCE`) and who owns it."""
    keys = EVIDENCE.get(item.kind)
    shown = item.details if keys is None else {k: item.details.get(k) for k in keys}
    text = json.dumps([item.kind, shown, item.department_id], sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.blake2b(text.encode(), digest_size=16).hexdigest()


def sync(conn: Connection, kinds: frozenset[str], found: Iterable[Found], *, now: dt.datetime,
         actor: str = SYSTEM_ACTOR, within: Iterable[str] | None = None,
         whole: frozenset[str] = frozenset()) -> tuple[SyncResult, list[audit.Change]]:
    """Bring the findings of ``kinds`` in line with ``found``; returns what changed and the
    change-log records to append (the caller holds the audit head lock).

    ``within``: the run judged only part of what ``kinds`` cover, and these fingerprints
    (with those of ``found`` and every finding of the kinds in ``whole``) are all the
    findings it may change; any other finding stays as it is (still found)."""
    result, changes = SyncResult(), []
    table = Finding.__table__
    found = list(found)
    columns = (table.c.id, table.c.fingerprint, table.c.state, table.c.active,
               table.c.digest, table.c.evidence)
    if within is None:
        existing = {row.fingerprint: row for row in conn.execute(
            select(*columns).where(table.c.kind.in_(sorted(kinds)))).all()}
    else:
        names = sorted(set(within) | {item.fingerprint for item in found})
        existing = {row.fingerprint: row for row in conn.execute(
            select(*columns).where(table.c.kind.in_(sorted(whole)))).all()} if whole else {}
        for start in range(0, len(names), CHUNK):
            existing.update((row.fingerprint, row) for row in conn.execute(
                select(*columns).where(table.c.kind.in_(sorted(kinds)),
                                       table.c.fingerprint.in_(names[start:start + CHUNK])))
                .all())
    inserts, updates, seen = [], [], set()
    for item in found:
        if item.fingerprint in seen:
            continue
        seen.add(item.fingerprint)
        row, item_digest = existing.get(item.fingerprint), digest(item)
        item_evidence = evidence(item)
        if row is None:
            inserts.append(_new_row(item, item_digest, item_evidence, now, actor))
            changes.append(_change("create", item.fingerprint, {
                "kind": [None, item.kind], "state": [None, "open"]}))
            result.opened += 1
            continue
        values = {}
        # A finding resolved by hand whose condition persisted unchanged stays resolved: it
        # reopens only when the condition returns (it had cleared) or its evidence changed
        # (unknown for a finding last written before evidence was kept: not a change).
        changed = row.evidence is not None and row.evidence != item_evidence
        if row.state == "resolved" and (not row.active or changed):
            values.update(state="open", state_changed_at=now, state_changed_by=actor,
                          state_reason="condition returned", reopened=table.c.reopened + 1)
            changes.append(_change("update", item.fingerprint, {
                "state": ["resolved", "open"], "reason": [None, "condition returned"]}))
            result.reopened += 1
        if not row.active:
            values["active"] = True
        if row.digest != item_digest or row.evidence != item_evidence:
            values.update(details=item.details, department_id=item.department_id,
                          amount_fen=item.amount_fen, digest=item_digest,
                          evidence=item_evidence)
        if values:
            updates.append((row.id, values))
            result.updated += 1
    for fingerprint, row in existing.items():
        if fingerprint in seen or not row.active:
            continue
        values = {"active": False}
        if row.state != "resolved":
            values.update(state="resolved", state_changed_at=now, state_changed_by=actor,
                          state_reason="condition cleared")
            changes.append(_change("update", fingerprint, {
                "state": [row.state, "resolved"], "reason": [None, "condition cleared"]}))
            result.resolved += 1
        updates.append((row.id, values))
    _write(conn, inserts, updates)
    # Everything still found moves its last_seen in one statement, not one per row.
    conn.execute(update(table).where(table.c.kind.in_(sorted(kinds)), table.c.active.is_(True))
                 .values(last_seen=now))
    result.active = len(seen) if within is None else conn.execute(
        select(func.count()).select_from(table).where(table.c.kind.in_(sorted(kinds)),
                                                      table.c.active.is_(True))).scalar_one()
    return result, changes


def _new_row(item: Found, item_digest: str, item_evidence: str, now: dt.datetime,
             actor: str) -> dict:
    return {"fingerprint": item.fingerprint, "kind": item.kind, "state": "open", "active": True,
            "digest": item_digest, "evidence": item_evidence,
            "department_id": item.department_id, "declared_category": item.declared_category,
            "declared_code": item.declared_code, "observed_asset_id": item.observed_asset_id,
            "observed_source": item.observed_source, "field": item.field,
            "details": item.details, "amount_fen": item.amount_fen, "first_seen": now,
            "last_seen": now, "state_changed_at": now, "state_changed_by": actor,
            "state_reason": None, "reopened": 0}


def _write(conn: Connection, inserts: list[dict], updates: list[tuple[int, dict]]) -> None:
    table = Finding.__table__
    for start in range(0, len(inserts), CHUNK):
        conn.execute(table.insert(), inserts[start:start + CHUNK])
    for id_, values in updates:
        conn.execute(update(table).where(table.c.id == id_).values(**values))


def _change(action: str, fingerprint: str, changes: dict) -> audit.Change:
    return audit.Change(action, "finding", fingerprint[:255], changes)


def transition(engine: Engine, finding_id: int, state: str, *, actor: str, reason: str | None,
               scope: Scope | None = None, algorithm: str = "sha256",
               request_id: str | None = None) -> dict:
    """Move one finding to ``state`` as ``actor`` (acknowledge, resolve, reopen); the change
    goes to the change log. Raises :class:`FindingError`."""
    if state not in FINDING_STATES:
        raise FindingError("bad_state")
    reason = (reason or "").strip() or None
    if state in ("resolved", "open") and not reason:
        raise FindingError("reason_required")
    if reason is not None and (len(reason) > 2000 or _CONTROL.search(reason)):
        raise FindingError("bad_reason")   # PostgreSQL text holds no NUL
    table = Finding.__table__
    with engine.begin() as conn:
        head = audit.lock_head(conn)
        row = conn.execute(select(table).where(table.c.id == finding_id)).mappings().first()
        if row is None or (scope is not None and not scope.covers(row["department_id"])):
            raise FindingError("not_found")
        if (row["state"], state) not in TRANSITIONS:
            raise FindingError("bad_transition", before=row["state"], after=state)
        now = dt.datetime.now(UTC)
        conn.execute(update(table).where(table.c.id == finding_id).values(
            state=state, state_changed_at=now, state_changed_by=actor, state_reason=reason))
        audit.append(conn, head, audit.Actor(actor, uuid.uuid4().hex, request_id),
                     [_change("update", row["fingerprint"], {
                         "state": [row["state"], state], "reason": [None, reason]})],
                     algorithm, now)
        return dict(conn.execute(select(table).where(table.c.id == finding_id))
                    .mappings().one())


def counts(conn: Connection, scope: Scope, kinds: Iterable[str] | None = None) -> dict:
    """Active and resolved findings by kind and state, within ``scope``."""
    table = Finding.__table__
    query = select(table.c.kind, table.c.state, func.count()).group_by(table.c.kind,
                                                                      table.c.state)
    if kinds is not None:
        query = query.where(table.c.kind.in_(sorted(kinds)))
    if not scope.unrestricted:
        query = query.where(table.c.department_id.in_(scope.department_ids))
    out: dict[str, dict[str, int]] = {}
    for kind, state, count in conn.execute(query):
        out.setdefault(kind, {})[state] = count
    return out


def query(scope: Scope, *, kind: str | None = None, state: str | None = None,
          active_only: bool = True, department_ids: frozenset[int] | None = None,
          ids: Iterable[int] | None = None):
    """The SELECT of findings within ``scope`` and the given filters, newest first."""
    table = Finding.__table__
    statement = select(table)
    if ids is not None:
        statement = statement.where(table.c.id.in_(list(ids)))
    if not scope.unrestricted:
        statement = statement.where(table.c.department_id.in_(scope.department_ids))
    if department_ids is not None:
        statement = statement.where(table.c.department_id.in_(department_ids))
    if kind:
        statement = statement.where(table.c.kind == kind)
    if state:
        statement = statement.where(table.c.state == state)
    if active_only:
        statement = statement.where(table.c.active.is_(True))
    return statement.order_by(table.c.last_seen.desc(), table.c.id.desc())


def page(conn: Connection, scope: Scope, *, page_number: int = 1, per_page: int = 100,
         **filters: Any) -> tuple[list[dict], int]:
    """A page of findings as JSON objects, and the total."""
    statement = query(scope, **filters)
    table = Finding.__table__
    total = conn.execute(statement.with_only_columns(func.count()).order_by(None)) \
        .scalar_one()
    offset = page_offset(total, page_number, per_page)
    if offset is None:
        return [], total
    # Order and cut the narrow (id, last_seen) rows first, then read the page's rows whole:
    # sorting every finding with its JSON details cost more than the rest of the page.
    ids = list(conn.execute(statement.with_only_columns(table.c.id)
                            .limit(per_page).offset(offset)).scalars())
    rows = {row["id"]: row for row in conn.execute(
        select(table).where(table.c.id.in_(ids))).mappings()} if ids else {}
    departments = _department_codes(conn)
    subjects = _subjects(conn, rows.values())
    return [as_json(rows[id_], departments, subjects) for id_ in ids], total


def listing(conn: Connection, scope: Scope, **filters: Any) -> list[dict]:
    """Every finding within ``scope`` and the filters, as JSON objects."""
    departments = _department_codes(conn)
    rows = conn.execute(query(scope, **filters)).mappings().all()
    subjects = _subjects(conn, rows)
    return [as_json(row, departments, subjects) for row in rows]


def _subjects(conn: Connection, rows: Iterable) -> dict[int, dict[str, Any]]:
    """Observed asset id -> who it is (name, UUID, serial, kind) for the findings ``rows``."""
    from ledger.models import ObservedAsset

    ids = sorted({r["observed_asset_id"] for r in rows if r["observed_asset_id"] is not None})
    table, out = ObservedAsset.__table__, {}
    for chunk in (ids[i:i + 500] for i in range(0, len(ids), 500)):
        for asset in conn.execute(select(
                table.c.id, table.c.kind, table.c.hostname, table.c.natural_key,
                table.c.instance_uuid, table.c.machine_uuid, table.c.serial_number,
                table.c.mgmt_ip).where(table.c.id.in_(chunk))):
            out[asset.id] = {"kind": asset.kind,
                             "name": asset.hostname or asset.mgmt_ip or asset.natural_key,
                             "uuid": asset.instance_uuid or asset.machine_uuid,
                             "serial": asset.serial_number}
    return out


def subject_text(observed: dict[str, Any] | None) -> str | None:
    """``name · UUID · SN serial`` of a finding's observed asset, for text and reports."""
    if not observed or not observed.get("name"):
        return None
    parts = [observed["name"], observed.get("uuid"),
             f"SN {observed['serial']}" if observed.get("serial") else None]
    return " · ".join(p for p in parts if p)


def _department_codes(conn: Connection) -> dict[int, str]:
    from ledger.census.tables import TABLES
    table = TABLES["department"]
    return dict(conn.execute(select(table.c.id, table.c.code)).all())


def as_json(row, departments: dict[int, str],
            subjects: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One finding as the API and ``--json`` show it (amounts in 元 as text); ``observed``
    names the asset (hostname or name, UUID, serial) when ``subjects`` know it."""
    amount = row["amount_fen"]
    subject = (subjects or {}).get(row["observed_asset_id"], {})
    return {
        "id": row["id"], "kind": row["kind"], "state": row["state"], "active": row["active"],
        "department": departments.get(row["department_id"]),
        "declared": None if row["declared_code"] is None else {
            "category": row["declared_category"], "code": row["declared_code"]},
        "observed": None if row["observed_source"] is None else {
            "asset_id": row["observed_asset_id"], "source": row["observed_source"],
            **subject},
        "subject": subject_text(subject),
        "field": row["field"], "details": row["details"],
        "amount": None if amount is None else f"{amount // 100}.{amount % 100:02d}",
        "first_seen": row["first_seen"].isoformat(), "last_seen": row["last_seen"].isoformat(),
        "state_changed_at": row["state_changed_at"].isoformat(),
        "state_changed_by": row["state_changed_by"], "state_reason": row["state_reason"],
        "reopened": row["reopened"]}
