"""Reconciliation against the ledger: read the estate, keep pairs and findings, list them.

:func:`run` reconciles declared with observed rows in one snapshot, as set-based SQL
(:mod:`ledger.reconcile.sql`, which the tests hold to its definition: the pure function
:mod:`ledger.reconcile.engine` over :func:`load_inputs`), then, holding the ledger's write
lock, writes only the pairs that changed and syncs the findings (their lifecycle changes
go to the change log). A run is idempotent: run twice, the same pairs and findings.
:func:`list_pairs` and :func:`summary` read results within a department scope.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import hashlib
import uuid
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, delete, func, select, update

from ledger import findings
from ledger.census import audit
from ledger.census.snapshot import Scope
from ledger.census.tables import TABLES
from ledger.const import RECONCILE_KINDS
from ledger.db import page_offset
from ledger.estate import (CodeBook, Departments, declared_rows, observed_rows,
                           target_states)
from ledger.models import AnalysisRun, Finding, ObservedAsset, ReconcilePair
from ledger.policy import ReconcilePolicy
from ledger.reconcile.compare import Books
from ledger.reconcile import sql
from ledger.reconcile.engine import Inputs

UTC = dt.timezone.utc
CHUNK = 2000
PAIR_COLUMNS = ("outcome", "department_id", "declared_category", "declared_id",
                "declared_code", "observed_asset_id", "observed_source", "observed_kind",
                "observed_keys", "also_seen_by", "matched_by", "differences", "note",
                "first_seen", "last_seen")
OUTCOME_ORDER = ("matched", "undeclared", "missing", "suspect", "mismatch", "conflict")


@dataclasses.dataclass
class RunResult:
    """What one reconciliation run found and changed."""

    run_id: int
    summary: dict[str, int]
    findings: findings.SyncResult
    pairs_written: int


def load_inputs(conn: Connection, now: dt.datetime) -> Inputs:
    """Everything reconciliation reads, from one consistent snapshot."""
    books = Books(Departments.load(conn), CodeBook.load(conn, "data_center"),
                  CodeBook.load(conn, "cloud_platform"))
    return Inputs(declared_rows(conn, "device"), declared_rows(conn, "cloud_resource"),
                  observed_rows(conn), books, target_states(conn), now)


def run(engine: Engine, policy: ReconcilePolicy, *, now: dt.datetime | None = None,
        actor: str = findings.SYSTEM_ACTOR, algorithm: str = "sha256") -> RunResult:
    """Reconcile the whole ledger and keep the results (see the module docstring)."""
    now = now or dt.datetime.now(UTC)
    started = dt.datetime.now(UTC)
    with engine.begin() as conn:
        resolve_departments(conn)
    with engine.connect() as conn, _no_cyclic_gc():
        outcome = sql.reconcile(conn, policy, now)
    with engine.begin() as conn:
        head = audit.lock_head(conn)
        written = write_pairs(conn, outcome.pairs)
        write_entities(conn, outcome.members)
        synced, changes = findings.sync(conn, RECONCILE_KINDS, outcome.found, now=now,
                                        actor=actor)
        if changes:
            audit.append(conn, head, audit.Actor(actor, uuid.uuid4().hex), changes, algorithm,
                         now)
        summary = outcome.summary
        run_id = conn.execute(AnalysisRun.__table__.insert().values(
            analysis="reconcile", started_at=started, finished_at=dt.datetime.now(UTC),
            actor=actor, summary={**summary, "findings": dataclasses.asdict(synced)})
        ).inserted_primary_key[0]
    return RunResult(run_id, summary, synced, written)


@contextlib.contextmanager
def _no_cyclic_gc():
    """Millions of small containers and no reference cycles: Python's cyclic collector would
    rescan them again and again (time growing faster than the estate); reference counting
    frees everything as usual."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def resolve_departments(conn: Connection) -> int:
    """Point observed assets at the census departments their codes name (a census import
    may have declared them since the poll); return how many changed.

    One statement, as :meth:`ledger.estate.CodeBook.resolve` reads a tag: the department
    with that code, else the one department with that name."""
    table = ObservedAsset.__table__
    departments = TABLES["department"]
    named = departments.c.name == table.c.department
    wanted = func.coalesce(
        select(departments.c.id).where(departments.c.code == table.c.department)
        .scalar_subquery(),
        case((select(func.count()).select_from(departments).where(named)
              .scalar_subquery() == 1,
              select(func.min(departments.c.id)).where(named).scalar_subquery())))
    result = conn.execute(update(table).where(
        table.c.department.is_not(None), table.c.department != "",
        table.c.department_id.is_distinct_from(wanted)).values(department_id=wanted))
    cleared = conn.execute(update(table).where(
        table.c.department_id.is_not(None), table.c.department == "")
        .values(department_id=None))
    return result.rowcount + cleared.rowcount


def pair_digest(pair: dict) -> str:
    """A hash of a pair's columns, so a run reads one short column to find what changed."""
    # repr is deterministic here (the engine builds every dict in the same key order);
    # times go in as numbers, whose repr is much cheaper than a datetime's.
    values = [pair[c] for c in PAIR_COLUMNS]
    values[-2:] = [None if t is None else t.timestamp() for t in values[-2:]]
    return hashlib.blake2b(repr(values).encode(), digest_size=16).hexdigest()


def write_pairs(conn: Connection, pairs: list[dict]) -> int:
    """Make ``reconcile_pair`` hold exactly ``pairs``, touching only rows that changed."""
    table = ReconcilePair.__table__
    existing = {fp: (id_, digest) for id_, fp, digest in conn.execute(
        select(table.c.id, table.c.fingerprint, table.c.digest)).all()}
    gone = {fp: id_ for fp, (id_, _d) in existing.items()}
    new, changed = [], []
    for pair in pairs:
        digest = pair_digest(pair)
        found = existing.get(pair["fingerprint"])
        if found is None:
            new.append({**pair, "digest": digest})
        elif gone.pop(pair["fingerprint"], None) is not None and found[1] != digest:
            changed.append({"pair_id": found[0], "v_digest": digest,
                            **{f"v_{c}": pair[c] for c in PAIR_COLUMNS}})
    stale = list(gone.values())
    for start in range(0, len(stale), CHUNK):
        conn.execute(delete(table).where(table.c.id.in_(stale[start:start + CHUNK])))
    for start in range(0, len(new), CHUNK):
        conn.execute(table.insert(), new[start:start + CHUNK])
    if changed:
        conn.execute(update(table).where(table.c.id == bindparam("pair_id"))
                     .values({c: bindparam(f"v_{c}") for c in (*PAIR_COLUMNS, "digest")}),
                     changed)
    return len(stale) + len(new) + len(changed)


def write_entities(conn: Connection, members: dict[int, int]) -> int:
    """Make ``observed_asset.entity_id`` hold ``members`` (row id -> entity id) and None
    for every other row, touching only rows that changed; return how many."""
    table = ObservedAsset.__table__
    current = dict(conn.execute(select(table.c.id, table.c.entity_id)
                                .where(table.c.entity_id.is_not(None))).all())
    changed = [{"row_id": id_, "v_entity": entity} for id_, entity in members.items()
               if current.get(id_) != entity]
    cleared = [id_ for id_ in current if id_ not in members]
    for start in range(0, len(cleared), CHUNK):
        conn.execute(update(table).where(table.c.id.in_(cleared[start:start + CHUNK]))
                     .values(entity_id=None))
    if changed:
        conn.execute(update(table).where(table.c.id == bindparam("row_id"))
                     .values(entity_id=bindparam("v_entity")), changed)
    return len(changed) + len(cleared)


def finding_fingerprints(pair) -> list[str]:
    """The findings a pair stands for (none for a clean match)."""
    declared = f"d:{pair.declared_category}:{pair.declared_id}" if pair.declared_id else None
    observed = f"o:{pair.observed_asset_id}" if pair.observed_asset_id else None
    if pair.outcome == "undeclared":
        return [f"undeclared|{observed}"]
    if pair.outcome in ("missing", "suspect"):
        return [f"{pair.outcome}|{declared}"]
    if pair.outcome == "conflict":
        return [f"conflict|{declared}|{observed}"]
    if pair.outcome == "mismatch":
        return [f"mismatch|{declared}|{d['field']}" for d in pair.differences or []]
    return []


def _scoped(query, column, scope: Scope):
    return query if scope.unrestricted else query.where(column.in_(scope.department_ids))


def summary(conn: Connection, scope: Scope) -> dict[str, int]:
    """Pairs per outcome within ``scope``."""
    table = ReconcilePair.__table__
    counts = dict(conn.execute(_scoped(select(table.c.outcome, func.count())
                                       .group_by(table.c.outcome), table.c.department_id,
                                       scope)).all())
    return {k: counts.get(k, 0) for k in OUTCOME_ORDER}


def list_pairs(conn: Connection, scope: Scope, *, outcome: str | None = None, page: int = 1,
               per_page: int = 100) -> tuple[list[dict[str, Any]], int]:
    """A page of pairs within ``scope``, in ledger order, as documented JSON objects."""
    table = ReconcilePair.__table__
    query = _scoped(select(table), table.c.department_id, scope)
    if outcome:
        query = query.where(table.c.outcome == outcome)
    total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
    offset = page_offset(total, page, per_page)
    if offset is None:
        return [], total
    rows = conn.execute(query.order_by(table.c.id).limit(per_page).offset(offset)).all()
    states = _states(conn, [fp for row in rows for fp in finding_fingerprints(row)])
    departments = CodeBook.load(conn, "department")
    return [_pair_json(row, states, departments) for row in rows], total


def _states(conn: Connection, fingerprints: list[str]) -> dict[str, str]:
    table = Finding.__table__
    out = {}
    for start in range(0, len(fingerprints), CHUNK):
        chunk = fingerprints[start:start + CHUNK]
        out.update(conn.execute(select(table.c.fingerprint, table.c.state)
                                .where(table.c.fingerprint.in_(chunk))).all())
    return out


def _pair_json(row, states: dict[str, str], departments: CodeBook) -> dict[str, Any]:
    found = [states[fp] for fp in finding_fingerprints(row) if fp in states]
    state = next((s for s in ("open", "acknowledged", "resolved") if s in found), None)
    declared = None if row.declared_id is None else {
        "category": row.declared_category, "code": row.declared_code,
        "department": departments.code(row.department_id)}
    observed = None if row.observed_asset_id is None else {
        "source": row.observed_source, "kind": row.observed_kind, "keys": row.observed_keys,
        "also_seen_by": row.also_seen_by or []}
    return {"outcome": row.outcome, "state": state, "declared": declared,
            "observed": observed, "matched_by": row.matched_by,
            "differences": row.differences or [], "note": row.note,
            "first_seen": _iso(row.first_seen), "last_seen": _iso(row.last_seen)}


def _iso(value: dt.datetime | None) -> str | None:
    return None if value is None else value.isoformat()


def all_pairs(conn: Connection, scope: Scope) -> list[dict[str, Any]]:
    """Every pair within ``scope`` (the command line's ``--json``)."""
    items, total, page = [], None, 1
    while total is None or len(items) < total:
        chunk, total = list_pairs(conn, scope, page=page, per_page=5000)
        if not chunk:
            break
        items.extend(chunk)
        page += 1
    return items
