"""Reconciliation against the ledger: read the estate, keep pairs and findings, list them.

:func:`run` reconciles declared with observed rows in one snapshot, as set-based SQL
(:mod:`ledger.reconcile.sql`, which the tests hold to its definition: the pure function
:mod:`ledger.reconcile.engine` over :func:`load_inputs`), over only the rows a change since
the last run can reach (:mod:`ledger.reconcile.scope`) unless the run must be whole, then,
holding the ledger's write lock, writes only the pairs that changed and syncs the findings
(their lifecycle changes go to the change log). A run is idempotent: run twice, the same
pairs and findings.
:func:`list_pairs` and :func:`summary` read results within a department scope.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import gc
import uuid
from typing import Any

from sqlalchemy import Connection, Engine, bindparam, case, func, select, text, update

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
from ledger.reconcile import scope, sql
from ledger.reconcile.engine import OUTCOMES, Inputs, Outcome

UTC = dt.timezone.utc
CHUNK = 2000
PAIR_COLUMNS = ("outcome", "department_id", "declared_category", "declared_id",
                "declared_code", "observed_asset_id", "observed_source", "observed_kind",
                "observed_keys", "also_seen_by", "matched_by", "differences", "note",
                "first_seen", "last_seen")


@dataclasses.dataclass
class RunResult:
    """What one reconciliation run found and changed."""

    run_id: int
    summary: dict[str, int]
    findings: findings.SyncResult
    pairs_written: int
    #: ``{"whole": True, "why": ...}`` (``first``, ``inputs``, ``overlap``, ``asked``,
    #: ``large``), or
    #: ``{"whole": False, "observed": n, "declared": n}``: how many rows the run read.
    recomputed: dict[str, Any] = dataclasses.field(default_factory=dict)


def load_inputs(conn: Connection, now: dt.datetime) -> Inputs:
    """Everything reconciliation reads, from one consistent snapshot."""
    books = Books(Departments.load(conn), CodeBook.load(conn, "data_center"),
                  CodeBook.load(conn, "cloud_platform"))
    return Inputs(declared_rows(conn, "device"), declared_rows(conn, "cloud_resource"),
                  observed_rows(conn), books, target_states(conn), now)


def run(engine: Engine, policy: ReconcilePolicy, *, now: dt.datetime | None = None,
        actor: str = findings.SYSTEM_ACTOR, algorithm: str = "sha256",
        whole: bool = False) -> RunResult:
    """Reconcile the ledger and keep the results (see the module docstring): only the rows
    a change since the last run can reach (:mod:`ledger.reconcile.scope`), or everything
    (``whole``, a first run, other inputs, or too much changed)."""
    now = now or dt.datetime.now(UTC)
    started = dt.datetime.now(UTC)
    with engine.begin() as conn:
        resolve_departments(conn)
    salt = _salt(policy)
    with engine.connect() as conn, _no_cyclic_gc(), \
            sql.temporary(conn, sql.TABLES + scope.TABLES):
        states = target_states(conn)
        matcher = sql.Matcher(conn, policy.placeholders)
        matcher.sources(policy, states)
        inputs = scope.inputs(conn, policy, salt)
        scope.digests(matcher, policy, now)
        kept, generation = scope.stored_inputs(conn), scope.generation(conn)
        why = "asked" if whole else "first" if kept is None else \
            "overlap" if kept == "" else "inputs" if kept != inputs else None
        scoped = why is None and scope.plan(matcher)
        why = why or (None if scoped else "large")
        matcher.run(policy, now, states)
        matcher.stored(salt)
        # End the snapshot (the temporary tables stay with the connection), then write
        # holding the ledger's write lock: what changed is judged against the stored pairs
        # as they are now, in the database; Python builds only those pairs and the findings.
        conn.commit()
        head = audit.lock_head(conn)
        written, outcome, replaced = _write(conn, matcher, policy)
        matcher.write_entities()
        if scoped:
            written += scope.move_times(conn)
        scope.keep(conn, inputs, scoped=scoped, seen_generation=generation)
        summary = _counts(conn) if scoped else matcher.summary()
        synced, changes = findings.sync(
            conn, RECONCILE_KINDS, outcome.found, now=now, actor=actor,
            within=replaced if scoped else None, whole=frozenset({"unknown_department"}))
        if changes:
            audit.append(conn, head, audit.Actor(actor, uuid.uuid4().hex), changes, algorithm,
                         now)
        recomputed = _recomputed(conn, why)
        run_id = conn.execute(AnalysisRun.__table__.insert().values(
            analysis="reconcile", started_at=started, finished_at=dt.datetime.now(UTC),
            actor=actor, summary={**summary, "findings": dataclasses.asdict(synced),
                                  "recomputed": recomputed})
        ).inserted_primary_key[0]
        conn.commit()
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql("RESET jit")
            conn.commit()
    return RunResult(run_id, summary, synced, written, recomputed)


def _salt(policy: ReconcilePolicy) -> str:
    """What stored pairs depend on beside the result rows: the format and the key names."""
    return f"pairs/3|{sorted((k, list(v)) for k, v in policy.keys.items())!r}|"


def _counts(conn: Connection) -> dict[str, int]:
    table = ReconcilePair.__table__
    counts = dict(conn.execute(select(table.c.outcome, func.count())
                               .group_by(table.c.outcome)).all())
    return {k: counts.get(k, 0) for k in OUTCOMES}


def _recomputed(conn: Connection, why: str | None) -> dict[str, Any]:
    """How much of the estate the run read: everything (and why), or the rows a change
    reached."""
    if why:
        return {"whole": True, "why": why}
    rows = dict(conn.execute(text("SELECT side, COUNT(*) FROM rc_scope GROUP BY side")).all())
    return {"whole": False, "observed": rows.get("o", 0), "declared": rows.get("d", 0)}


def _write(conn: Connection, matcher: sql.Matcher,
           policy: ReconcilePolicy) -> tuple[int, Outcome, list[str]]:
    """Make ``reconcile_pair`` hold exactly the run's pairs, touching only rows that
    changed: stale ones deleted, new ones inserted and changed ones found by the database
    (a new clean match written whole there), the rest built by Python and written.
    Returns how many rows it touched, the run's :class:`Outcome` (those pairs, every
    finding) and, for a run over part of the estate, the findings the pairs it replaces
    stood for (all but those stay as they are)."""
    table = ReconcilePair.__table__
    replaced: list[str] = []
    if matcher.scoped:
        replaced = [fp for row in scope.old_pairs(conn) for fp in finding_fingerprints(row)]
        within = f"id IN ({scope.OLD_PAIR_IDS}) AND"
    else:
        within = ""
    stale = conn.execute(text(f"""
        DELETE FROM reconcile_pair WHERE {within} NOT EXISTS (
            SELECT 1 FROM rc_out o WHERE o.fp = reconcile_pair.fingerprint)""")).rowcount
    inserted = matcher.insert_new(table.name, policy.keys)
    matcher.changed(table.name)
    outcome = matcher.outcome(policy.keys, selected=True)
    changed = [{"row_id": pair["pair_id"], "v_digest": pair["digest"],
                **{f"v_{c}": pair[c] for c in PAIR_COLUMNS}} for pair in outcome.pairs]
    if changed:
        conn.execute(update(table).where(table.c.id == bindparam("row_id"))
                     .values({c: bindparam(f"v_{c}") for c in (*PAIR_COLUMNS, "digest")}),
                     changed)
    # A row inserted above and completed here is one row written; times moved by a poll
    # are written by the database (a row written above already has them).
    completed = sum(1 for pair in outcome.pairs if pair["placeholder"])
    seen = matcher.seen(table.name)
    return stale + inserted + len(changed) - completed + seen, outcome, replaced


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
    return {k: counts.get(k, 0) for k in OUTCOMES}


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
