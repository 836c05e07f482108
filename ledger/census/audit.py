"""The change log: append-only, hash-chained records of every change to the census.

Each record holds time, actor, batch (one import, one API request), object and the
before/after of the fields that really changed. Its hash covers all of that and the
previous record's hash, so an edited, inserted or deleted record breaks the chain at
that point; ``audit_head`` (kept in the same transaction) reveals a removed tail.
Triggers refuse UPDATE and DELETE on the tables; verification is for what bypasses them.

SHA-256 is the default; SM3 (GB/T 32905) is chosen with ``ledger.audit_hash: sm3``. The
algorithm is stored per record, so a ledger may switch without breaking its chain. With
a chain key (:mod:`ledger.census.anchor`) records are HMACs and every committed head is
checkpointed outside the database; :func:`verify` then also detects a truncated, rewound
or wholly rewritten chain, and census rows edited outside the application
(:mod:`ledger.census.rowcheck`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Iterable, Iterator

from sqlalchemy import Connection, select, update

from ledger.census.anchor import (KEYED_PREFIX, AuditChain, AuditKeyError,
                                  checkpoint_on_commit, digest, read_checkpoints)
from ledger.census.messages import message
from ledger.census.rowcheck import CensusReplay
from ledger.census.tables import audit_head, audit_record

GENESIS = "0" * 64
UTC = dt.timezone.utc


@dataclass(frozen=True)
class Change:
    """One changed object: ``changes`` maps field to ``[before, after]`` (JSON values)."""

    action: str  # create | update | delete
    object_type: str
    object_key: str
    changes: dict[str, list]


@dataclass(frozen=True)
class Actor:
    """Who changes the ledger and under which batch / request id."""

    name: str
    batch_id: str
    request_id: str | None = None


def _payload(row: dict) -> dict:
    return {
        "seq": row["seq"], "time": row["time"].isoformat(), "actor": row["actor"],
        "batch_id": row["batch_id"], "request_id": row["request_id"],
        "action": row["action"], "object_type": row["object_type"],
        "object_key": row["object_key"], "changes": row["changes"],
        "algorithm": row["algorithm"], "prev_hash": row["prev_hash"],
    }


def lock_head(conn: Connection) -> tuple[int, str]:
    """Take the ledger's write lock; call first in every writing transaction.

    On PostgreSQL the head row is locked FOR UPDATE. On SQLite a no-op UPDATE as the
    transaction's first statement takes the database write lock before anything is read,
    so no other writer can slip in between our reads and our writes.
    """
    if conn.dialect.name == "sqlite":
        conn.execute(update(audit_head).where(audit_head.c.id == 1)
                     .values(seq=audit_head.c.seq))
        row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)
                           .where(audit_head.c.id == 1)).one()
    else:
        row = conn.execute(select(audit_head.c.seq, audit_head.c.hash)
                           .where(audit_head.c.id == 1).with_for_update()).one()
    return row.seq, row.hash


def append(conn: Connection, head: tuple[int, str], actor: Actor, changes: Iterable[Change],
           algorithm: str | AuditChain = "sha256",
           now: dt.datetime | None = None) -> tuple[int, str]:
    """Append one record per change after ``head`` (from :func:`lock_head`); new head.

    ``algorithm`` is a hash name (an unkeyed chain) or an :class:`AuditChain` (keyed,
    with the new head checkpointed when the transaction commits)."""
    chain = AuditChain.of(algorithm)
    key, algorithm = chain.key(create=True), chain.record_algorithm
    _check_writer(conn, head, key)
    seq, prev = head
    time = (now or dt.datetime.now(UTC)).astimezone(UTC)
    rows = []
    for change in changes:
        seq += 1
        row = {"seq": seq, "time": time, "actor": actor.name, "batch_id": actor.batch_id,
               "request_id": actor.request_id, "action": change.action,
               "object_type": change.object_type, "object_key": change.object_key,
               "changes": change.changes, "algorithm": algorithm, "prev_hash": prev}
        row["hash"] = prev = digest(algorithm, _payload(row), key)
        rows.append(row)
        if len(rows) >= 5000:
            conn.execute(audit_record.insert(), rows)
            rows = []
    if rows:
        conn.execute(audit_record.insert(), rows)
    if seq != head[0]:
        conn.execute(update(audit_head).where(audit_head.c.id == 1).values(seq=seq, hash=prev))
        if key is not None:
            checkpoint_on_commit(conn, chain, key, (seq, prev))
    return seq, prev


def _check_writer(conn: Connection, head: tuple[int, str], key: bytes | None) -> None:
    """Refuse to extend a keyed chain without its key or with another one.

    An unkeyed record after keyed ones, or one under a different key, would read as
    tampering at the next ``audit verify``; a writer that would produce one (a caller that
    passed the algorithm name instead of ``settings.audit_chain``, a process with its own
    ``<data_dir>/audit.key``) fails now instead, with the reason."""
    if head[0] == 0:
        return
    row = conn.execute(select(audit_record).where(audit_record.c.seq == head[0])) \
        .mappings().one_or_none()
    if row is None or not row["algorithm"].startswith(KEYED_PREFIX):
        return
    if key is None:
        raise AuditKeyError(f"the change log is keyed (record {head[0]}) and this writer has "
                            "no chain key: pass settings.audit_chain, not the hash name")
    if digest(row["algorithm"], _payload(dict(row)), key) != row["hash"]:
        raise AuditKeyError(f"this process's chain key did not write record {head[0]}: every "
                            "process of one ledger must share ledger.audit_key")


def check_writer(engine, chain: AuditChain | str) -> None:
    """Raise AuditKeyError now if this process could not extend the chain (at start, so a
    misconfigured key stops the service instead of failing its first write)."""
    chain = AuditChain.of(chain)
    with engine.connect() as conn:
        head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)
                            .where(audit_head.c.id == 1)).one_or_none()
        if head is not None:
            _check_writer(conn, (head.seq, head.hash), chain.key(create=True))


def list_records(conn: Connection, *, object_types: Iterable[str] | None = None,
                 exclude_types: Iterable[str] | None = None, actor: str | None = None,
                 action: str | None = None, before_seq: int | None = None,
                 object_key: str | None = None, since: dt.datetime | None = None,
                 until: dt.datetime | None = None, limit: int = 200) -> list[dict]:
    """The newest records first (for the audit administrator's pages), filtered; ``actor``
    and ``object_key`` match a part of the name, ``since`` and ``until`` bound the time."""
    query = select(audit_record).order_by(audit_record.c.seq.desc()).limit(limit)
    if object_key:
        query = query.where(audit_record.c.object_key.contains(object_key, autoescape=True))
    if since is not None:
        query = query.where(audit_record.c.time >= since)
    if until is not None:
        query = query.where(audit_record.c.time < until)
    if object_types is not None:
        query = query.where(audit_record.c.object_type.in_(list(object_types)))
    if exclude_types is not None:
        query = query.where(audit_record.c.object_type.not_in(list(exclude_types)))
    if actor:
        query = query.where(audit_record.c.actor.contains(actor, autoescape=True))
    if action:
        query = query.where(audit_record.c.action == action)
    if before_seq is not None:
        query = query.where(audit_record.c.seq < before_seq)
    return [dict(row) for row in conn.execute(query).mappings()]


@dataclass
class VerifyResult:
    """What :func:`verify` found: ``problems`` is empty when the chain is intact;
    ``notes`` say what could not be checked or predates the key."""

    records: int
    head_hash: str
    problems: list[str]
    notes: list[str] = field(default_factory=list)
    checkpoints: int = 0


def _records(conn: Connection) -> Iterator[dict]:
    last = 0
    while True:
        batch = conn.execute(select(audit_record).where(audit_record.c.seq > last)
                             .order_by(audit_record.c.seq).limit(10000)).mappings().all()
        if not batch:
            return
        yield from batch
        last = batch[-1]["seq"]


class _Verifier:
    """One pass over the chain, against the key and the checkpoints."""

    def __init__(self, chain: AuditChain | None, limit: int, language: str) -> None:
        self.limit, self.problems, self.notes, self.language = limit, [], [], language
        self.key, self.key_error = None, "no chain key"
        try:
            self.key = chain.key() if chain else None
        except AuditKeyError as exc:
            self.key_error = str(exc)
        self.checkpoints, self.last_checkpoint = {}, None
        if chain is not None and chain.checkpoints is not None:
            found, problems = read_checkpoints(chain.checkpoints, self.key, language)
            self.problems += problems
            self.checkpoints = {c.seq: c for c in found}
            self.last_checkpoint = max(found, key=lambda c: c.seq, default=None)
        self.unkeyed = 0
        self.keyed_from: int | None = None

    def say(self, key: str, **params) -> None:
        self.problems.append(message(key, self.language, **params))

    def full(self) -> bool:
        return len(self.problems) >= self.limit

    def check(self, row: dict, expected_seq: int, prev: str) -> None:
        seq = row["seq"]
        if seq != expected_seq:
            self.say("audit_missing", first=expected_seq, last=seq - 1)
        if row["prev_hash"] != prev:
            self.say("audit_unlinked", seq=seq)
        keyed = row["algorithm"].startswith(KEYED_PREFIX)
        if keyed and self.keyed_from is None:
            self.keyed_from = seq
        elif not keyed and self.keyed_from is not None:
            self.say("audit_downgraded", seq=seq, keyed=self.keyed_from)
        self.unkeyed += not keyed
        if keyed and self.key is None:
            return
        try:
            computed = digest(row["algorithm"], _payload(dict(row)), self.key)
        except ValueError as exc:
            computed = f"({exc})"
        if computed != row["hash"]:
            self.say("audit_edited", seq=seq)
        checkpoint = self.checkpoints.get(seq)
        if checkpoint is not None and checkpoint.hash != row["hash"]:
            self.say("audit_checkpoint_differs", seq=seq, time=checkpoint.time)

    def finish(self, last_seq: int) -> None:
        last = self.last_checkpoint
        if last is not None and last.seq > last_seq:
            self.say("audit_truncated", last=last_seq, time=last.time, seq=last.seq)
        if self.keyed_from is not None and self.key is None:
            self.say("audit_no_key", seq=self.keyed_from, reason=self.key_error)
        if self.unkeyed and self.keyed_from is not None:
            self.notes.append(message("audit_pre_key", self.language, count=self.unkeyed,
                                      seq=self.keyed_from, last=self.keyed_from - 1))


def verify(conn: Connection, *, chain: AuditChain | None = None, census: bool = True,
           limit_problems: int = 100, language: str = "en") -> VerifyResult:
    """Recompute the whole chain and compare it with the stored hashes, the head, and
    (with ``chain``) the key and the checkpoints; with ``census`` also replay it against
    the census tables."""
    check, replay = _Verifier(chain, limit_problems, language), CensusReplay()
    expected_seq, prev, count = 1, GENESIS, 0
    for row in _records(conn):
        count += 1
        check.check(row, expected_seq, prev)
        replay.add(row)
        prev, expected_seq = row["hash"], row["seq"] + 1
        if check.full():
            break
    problems = check.problems
    head = conn.execute(select(audit_head.c.seq, audit_head.c.hash)
                        .where(audit_head.c.id == 1)).one_or_none()
    if head is None:
        check.say("audit_no_head")
    elif not check.full() and (head.seq != expected_seq - 1 or head.hash != prev):
        check.say("audit_head_mismatch", head_seq=head.seq, head_hash=head.hash[:12],
                  last=expected_seq - 1, last_hash=prev[:12])
    check.finish(expected_seq - 1)
    if census and not check.full():
        problems += replay.differences(conn, limit_problems - len(problems), language)
    return VerifyResult(records=count, head_hash=prev, problems=problems[:limit_problems],
                        notes=check.notes, checkpoints=len(check.checkpoints))
