"""Reconciliation as a pure function: declared and observed rows in, pairs and findings out.

Outcomes per pair (DESIGN.md, "Matching observed to declared"):

- ``matched``: one declared asset and one entity agree on their keys and fields;
- ``mismatch``: they agree on keys but differ in fields (one finding per field);
- ``undeclared`` (漏报): an entity no declared asset's keys name;
- ``missing``: a declared asset never seen, or not seen for ``missing_after``;
- ``suspect``: its sources reported ``suspect_after_polls`` times without it, or stopped
  answering that long;
- ``conflict``: keys point at several declared assets, or several entities claim one.

Retired declared assets are not expected to be seen; an entity gone for longer than
``missing_after`` is no longer undeclared. Nothing here reads the database.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from typing import Mapping, Sequence

from ledger.findings import Found
from ledger.policy import ReconcilePolicy
from ledger.reconcile import compare
from ledger.reconcile.entities import Entity, build
from ledger.reconcile.match import DeclaredIndex, Decision, Ref, decide_all

#: Every outcome of a pair, in the order summaries list them.
OUTCOMES = ("matched", "undeclared", "missing", "suspect", "mismatch", "conflict")
#: Declared statuses that mean "not expected to answer".
RETIRED = frozenset({"retired"})


@dataclasses.dataclass
class Outcome:
    """Pairs (as ledger rows) and findings of one reconciliation."""

    pairs: list[dict]
    found: list[Found]
    #: Row id -> entity id for the rows of entities several sources see (the rest are
    #: entities on their own).
    members: dict[int, int] = dataclasses.field(default_factory=dict)

    @property
    def summary(self) -> dict[str, int]:
        counts = Counter(p["outcome"] for p in self.pairs)
        return {k: counts.get(k, 0) for k in OUTCOMES}


@dataclasses.dataclass
class Inputs:
    """Everything one reconciliation reads."""

    devices: Sequence
    resources: Sequence
    observed: Sequence
    books: compare.Books
    states: Mapping[str, object]
    now: dt.datetime


def reconcile(inputs: Inputs, policy: ReconcilePolicy) -> Outcome:
    """Reconcile declared with observed; see the module docstring."""
    entities, _shared = build(inputs.observed, policy.placeholders)
    index = DeclaredIndex(inputs.devices, inputs.resources, policy.placeholders)
    decisions, contested = decide_all(entities, index, policy.keys)
    run = _Run(inputs, policy, index, _latest_by_source(inputs.observed))
    for decision in decisions:
        run.entity(decision, contested)
    run.missing()
    run.unknown_departments()
    members = {row.id: entity.id for entity in entities if len(entity.rows) > 1
               for row in entity.rows}
    return Outcome(run.pairs, run.found, members)


def _latest_by_source(observed: Sequence) -> dict[str, dt.datetime]:
    latest: dict[str, dt.datetime] = {}
    for row in observed:
        if row.source not in latest or row.last_seen > latest[row.source]:
            latest[row.source] = row.last_seen
    return latest


class _Run:
    """The state of one reconciliation while it walks the entities."""

    def __init__(self, inputs: Inputs, policy: ReconcilePolicy, index: DeclaredIndex,
                 latest: dict[str, dt.datetime]) -> None:
        self.inputs, self.policy, self.index, self.latest = inputs, policy, index, latest
        self.pairs: list[dict] = []
        self.found: list[Found] = []
        self.accounted: set[Ref] = set()
        self.missing_after = dt.timedelta(seconds=policy.missing_after)

    # Entities.
    def entity(self, decision: Decision, contested: dict) -> None:
        entity = decision.entity
        ref = decision.clean
        if ref is not None and ref in contested:
            self._conflict(entity, [ref], "claimed")
        elif ref is not None:
            self._matched(entity, ref, decision.candidates[ref])
        elif decision.conflicting:
            self._conflict(entity, decision.conflicting, "keys")
        elif self.inputs.now - entity.last_seen <= self.missing_after:
            self._undeclared(entity)

    def _matched(self, entity: Entity, ref: Ref, key: str) -> None:
        self.accounted.add(ref)
        row = self.index.rows[ref]
        category, _id = ref
        stale = self._stale(entity)
        if stale is not None:
            self._pair(stale, ref, entity, key)
            self._declared_finding(stale, ref, entity=entity, matched_by=key)
            return
        diffs = compare.differences(category, row, entity, self.inputs.books,
                                    self.policy.tolerance_percent)
        self._pair("mismatch" if diffs else "matched", ref, entity, key, diffs)
        for diff in diffs:
            self.found.append(self._found("mismatch", ref, entity, field=diff["field"],
                                          details={**diff, "matched_by": key}))

    def _stale(self, entity: Entity) -> str | None:
        """``missing`` or ``suspect`` for an entity that stopped being seen, else None.

        Suspect needs every source that can be judged (a configured target with an
        interval) to say so: it kept reporting without the asset, or stopped answering
        (its polls have failed for the window). Time passing without polls (the scheduler
        stopped, polls run by hand) is no evidence: after ``missing_after`` it is missing."""
        now, last = self.inputs.now, entity.last_seen
        if now - last > self.missing_after:
            return "missing"
        judged = False
        for row in entity.rows:
            state = self.inputs.states.get(row.source)
            interval = getattr(state, "interval_seconds", None)
            if not interval:
                continue
            judged = True
            window = dt.timedelta(seconds=interval * self.policy.suspect_after_polls)
            reported_without = self.latest.get(row.source, last) - row.last_seen >= window
            silent = source_silent(state, window)
            if not (reported_without or silent):
                return None
        return "suspect" if judged else None

    def _conflict(self, entity: Entity, refs: list[Ref], why: str) -> None:
        codes = [f"{r[0]}:{self.index.rows[r].code}" for r in refs]
        note = ("claimed by several observed assets" if why == "claimed"
                else "its keys point at several declared assets")
        for ref in refs:
            self.accounted.add(ref)
            self._pair("conflict", ref, entity, None, note=note)
            self.found.append(self._found("conflict", ref, entity, details={
                "reason": why, "candidates": codes, "observed_keys": entity.keys()}))

    def _undeclared(self, entity: Entity) -> None:
        self._pair("undeclared", None, entity, None)
        primary = entity.primary
        self.found.append(Found(
            f"undeclared|o:{entity.id}", "undeclared", primary.department_id,
            {"keys": entity.keys(), "kind": primary.kind, "sources": _sources(entity),
             "model": entity.value("model")[0], "vendor": entity.value("vendor")[0]},
            observed_asset_id=entity.id, observed_source=primary.source))

    # Declared assets nothing observed.
    def missing(self) -> None:
        for ref, row in self.index.rows.items():
            if ref in self.accounted or row.status in RETIRED:
                continue
            self._pair("missing", ref, None, None)
            self._declared_finding("missing", ref)

    def unknown_departments(self) -> None:
        unknown = Counter((r.source, r.department) for r in self.inputs.observed
                          if r.department and r.department_id is None)
        for (source, code), count in sorted(unknown.items()):
            self.found.append(Found(f"unknown_department|{source}|{code}",
                                    "unknown_department", None,
                                    {"code": code, "source": source, "assets": count},
                                    observed_source=source))

    # Building blocks.
    def _declared_finding(self, kind: str, ref: Ref, entity: Entity | None = None,
                          matched_by: str | None = None) -> None:
        details = {"last_seen": entity.last_seen.isoformat() if entity else None,
                   "matched_by": matched_by,
                   "sources": _sources(entity) if entity else []}
        self.found.append(self._found(kind, ref, entity, details=details))

    def _found(self, kind: str, ref: Ref, entity: Entity | None, *, details: dict,
               field: str | None = None) -> Found:
        category, id_ = ref
        row = self.index.rows[ref]
        parts = [kind, f"d:{category}:{id_}"]
        if kind == "conflict" and entity is not None:
            parts.append(f"o:{entity.id}")
        if field:
            parts.append(field)
        return Found("|".join(parts), kind, row.department_id,
                     {"name": row.name, **details}, declared_category=category,
                     declared_code=row.code, field=field,
                     observed_asset_id=entity.id if entity else None,
                     observed_source=entity.primary.source if entity else None)

    def _pair(self, outcome: str, ref: Ref | None, entity: Entity | None, key: str | None,
              differences: list | None = None, note: str | None = None) -> None:
        row = self.index.rows[ref] if ref else None
        pair = {"fingerprint": "", "outcome": outcome, "department_id": None,
                "declared_category": None, "declared_id": None, "declared_code": None,
                "observed_asset_id": None, "observed_source": None, "observed_kind": None,
                "observed_keys": None, "also_seen_by": None, "matched_by": key,
                "differences": differences or [], "note": note, "first_seen": None,
                "last_seen": None}
        parts = []
        if row is not None:
            parts.append(f"d:{ref[0]}:{ref[1]}")
            pair.update(department_id=row.department_id, declared_category=ref[0],
                        declared_id=ref[1], declared_code=row.code)
        if entity is not None:
            primary = entity.primary
            parts.append(f"o:{entity.id}")
            pair.update(observed_asset_id=entity.id, observed_source=primary.source,
                        observed_kind=primary.kind, observed_keys=entity.keys(),
                        also_seen_by=_sources(entity)[1:] if len(entity.rows) > 1 else [],
                        first_seen=entity.first_seen, last_seen=entity.last_seen)
            if row is None:
                pair["department_id"] = primary.department_id
        pair["fingerprint"] = "|".join(parts)
        self.pairs.append(pair)


def source_silent(state, window: dt.timedelta) -> bool:
    """Whether a source has been polled without success for ``window``."""
    last_success, last_poll = state.last_success, getattr(state, "last_poll", None)
    return last_success is not None and last_poll is not None and \
        last_poll - last_success >= window


def _sources(entity: Entity) -> list[str]:
    return [f"{r.source}/{r.kind}" for r in entity.rows]
