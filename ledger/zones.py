"""What zone collectors send the center: poll outcomes and facts, applied exactly once.

A scheduler in a network zone has no database connection to the center. It appends
each poll's outcome and facts to a durable outbox as records, each with an
idempotency key, and delivers them in order to the ingest API; a batch may arrive
twice (the answer was lost), so :func:`apply_batch` applies a record only if its key
has no :class:`~ledger.models.IngestReceipt` yet, and writes the receipt in the same
transaction as the record's effect. Records name their target; a target outside the
collector's zone is refused, so a zone's token cannot write another zone's state.

Record forms (JSON)::

    {"key": "<uuid>", "type": "poll", "name": "sw-1", "kind": "snmp", "status": "ok",
     "duration_seconds": 0.12, "error": null, "samples": 42, "at": 1764600000.0,
     "interval_seconds": 60}
    {"key": "<uuid>", "type": "facts", "source": "sw-1", "collector": "snmp",
     "tags": {"department": "D1"}, "seen_at": 1764600000.0,
     "facts": [{"kind": "device", "keys": {...}, "attributes": {...}}]}
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any, Mapping, Sequence

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from core.observation import Fact
from core.text import shown
from ledger.models import IngestReceipt, ZoneCollector
from ledger.observed import record_facts
from ledger.status import PollRecord, record_poll

UTC = dt.timezone.utc
#: Receipts are kept longer than a zone's outbox may hold a record (its max age, 7 days).
RECEIPT_DAYS = 8
KEY_LIMIT = 64
BIGINT = 2**63 - 1           # the largest count a BIGINT column holds
INT = 2**31 - 1              # and an INTEGER column
LONGEST_SECONDS = 10 * 365 * 86400.0   # a poll's duration or interval, at most
LAST_EPOCH = 253402300799    # 9999-12-31T23:59:59Z
ERROR_LIMIT = 4096           # a poll error's text
#: Samples one poll may report: far above any real poll, far below overflowing a total.
SAMPLES_LIMIT = 10**9
FUTURE_SECONDS = 86400
#: Records older than this are refused: receipts are kept RECEIPT_DAYS, and a zone's outbox
#: keeps records at most this long (monitor.coordination.outbox.MAX_AGE_SECONDS).
OLDEST_SECONDS = (RECEIPT_DAYS - 1) * 86400
STATUSES = ("ok", "partial", "error", "timeout")


class IngestError(ValueError):
    """A record that can never be applied: which record, which key, and why."""

    def __init__(self, index: int, key: str, reason: str) -> None:
        super().__init__(f"records[{index}].{key}: {reason}")
        self.index, self.key, self.reason = index, key, reason


@dataclasses.dataclass(frozen=True)
class CollectorReport:
    """What a zone collector says of itself with every delivery."""

    member: str
    zone: str
    hostname: str
    version: str
    targets_owned: int = 0
    backlog_samples: int = 0
    backlog_records: int = 0

    @classmethod
    def from_json(cls, data: Any) -> "CollectorReport":
        """Parse the ``collector`` object of a request; IngestError(-1, ...) says what is wrong."""
        if not isinstance(data, Mapping):
            raise IngestError(-1, "collector", "expected an object")
        values = {}
        for field in dataclasses.fields(cls):
            value = data.get(field.name, field.default)
            wanted = int if field.type in ("int", int) else str
            # targets_owned is an INTEGER column; the backlogs are BIGINT.
            high, shown_high = (INT, "2^31") if field.name == "targets_owned" else \
                (BIGINT, "2^63")
            if value is dataclasses.MISSING or not isinstance(value, wanted) \
                    or isinstance(value, bool) or (wanted is str and not 0 < len(value) <= 128) \
                    or (wanted is int and not 0 <= value <= high):
                limits = f" 0-{shown_high}" if wanted is int else " of 1-128 characters"
                raise IngestError(-1, f"collector.{field.name}",
                                  f"expected {wanted.__name__}{limits}, got {shown(value)}")
            values[field.name] = value
        return cls(**values)


def apply_batch(session: Session, report: CollectorReport, records: Sequence[Mapping],
                zones: Mapping[str, str], *, address: str | None = None,
                now: dt.datetime | None = None,
                targets: Mapping[str, Any] | None = None) -> tuple[int, int]:
    """Apply ``records`` in order (those not applied before) and note the collector's
    contact; return (applied, duplicates). ``zones`` maps each configured target to its
    zone; ``targets`` (name -> the center's target configuration) makes the center's
    configuration, not the record, say a target's kind, collector and tags. Nothing is
    written when a record is malformed (IngestError); the caller commits."""
    now = now or dt.datetime.now(UTC)
    _check_member(session, report)
    parsed = [_parse(i, r, report.zone, zones, targets or {}, now)
              for i, r in enumerate(records)]
    keys = [key for key, _ in parsed]
    if len(set(keys)) != len(keys):
        raise IngestError(0, "key", "a key appears twice in one batch")
    seen = set(session.scalars(select(IngestReceipt.key).where(IngestReceipt.key.in_(keys))))
    applied = 0
    for key, apply in parsed:
        if key in seen:
            continue
        apply(session)
        session.add(IngestReceipt(key=key, member=report.member, received_at=now))
        applied += 1
    _note_contact(session, report, address, now, applied, len(parsed) - applied)
    return applied, len(parsed) - applied


def prune_receipts(session: Session, now: dt.datetime | None = None) -> int:
    """Forget receipts older than any record a zone may still resend; return how many."""
    cutoff = (now or dt.datetime.now(UTC)) - dt.timedelta(days=RECEIPT_DAYS)
    return session.execute(delete(IngestReceipt).where(IngestReceipt.received_at < cutoff)
                           ).rowcount or 0


def zone_collectors(session: Session) -> list[ZoneCollector]:
    """Every zone collector the center has heard of, by zone and member."""
    return list(session.scalars(select(ZoneCollector).order_by(ZoneCollector.zone,
                                                               ZoneCollector.member)))


def _check_member(session: Session, report: CollectorReport) -> None:
    """A member name belongs to the zone that first reported it: another zone's token
    cannot take its row over (and hide that member's silence)."""
    row = session.get(ZoneCollector, report.member)
    if row is not None and row.zone != report.zone:
        raise IngestError(-1, "collector.member", f"{shown(report.member)} is a member of "
                          f"zone {shown(row.zone)}")


def _note_contact(session: Session, report: CollectorReport, address: str | None,
                  now: dt.datetime, applied: int, duplicates: int) -> None:
    row = session.get(ZoneCollector, report.member)
    if row is None:
        row = ZoneCollector(member=report.member, first_contact=now, applied_total=0,
                            duplicates_total=0)
        session.add(row)
    row.zone, row.hostname, row.version = report.zone, report.hostname, report.version
    row.address, row.last_contact = address, now
    row.targets_owned = report.targets_owned
    row.backlog_samples, row.backlog_records = report.backlog_samples, report.backlog_records
    row.applied_total += applied
    row.duplicates_total += duplicates


def _parse(index: int, record: Any, zone: str, zones: Mapping[str, str],
           targets: Mapping[str, Any], now: dt.datetime):
    """(key, function applying the record) for one record, or IngestError."""
    if not isinstance(record, Mapping):
        raise IngestError(index, "(record)", "expected an object")
    key = record.get("key")
    if not isinstance(key, str) or not 0 < len(key) <= KEY_LIMIT:
        raise IngestError(index, "key", f"expected a string of 1-{KEY_LIMIT} characters")
    kind = record.get("type")
    name = record.get("name" if kind == "poll" else "source")
    if kind not in ("poll", "facts"):
        raise IngestError(index, "type", f"expected poll or facts, got {shown(kind)}")
    if zones.get(name) != zone:
        raise IngestError(index, "name" if kind == "poll" else "source",
                          f"{shown(name)} is not a configured target of zone {shown(zone)}")
    target = targets.get(name)
    configured = getattr(target, "kind", None)
    try:
        if kind == "poll":
            error = record.get("error")
            if error is not None and not (isinstance(error, str) and len(error) <= ERROR_LIMIT):
                raise ValueError(f"error: expected null or text of at most {ERROR_LIMIT} "
                                 "characters")
            if record.get("status") not in STATUSES:
                raise ValueError(f"status: expected one of {', '.join(STATUSES)}, got "
                                 f"{shown(record.get('status'))}")
            if configured is not None and record.get("kind") != configured:
                raise ValueError(f"kind: the center configures {name} as {configured}, "
                                 f"got {shown(record.get('kind'))}")
            poll = PollRecord(name=name, kind=str(record["kind"]), status=str(record["status"]),
                              duration_seconds=_seconds(record["duration_seconds"]),
                              error=error, samples=_count(record["samples"], SAMPLES_LIMIT),
                              at=_time(record["at"], now),
                              interval_seconds=_seconds(record["interval_seconds"]))
            return key, lambda session: record_poll(session, poll, newest_only=True)
        facts = [Fact(str(f["kind"]), dict(f["keys"]), dict(f["attributes"]))
                 for f in record["facts"]]
        tags = {str(k): str(v) for k, v in dict(record.get("tags") or {}).items()}
        seen_at, collector = _time(record["seen_at"], now), str(record["collector"])
        if target is not None:   # the center's configuration says where and whose
            tags = {str(k): str(v) for k, v in dict(target.tags).items()}
            if collector != configured:
                raise ValueError(f"collector: the center configures {name} as {configured}, "
                                 f"got {shown(collector)}")
    except (KeyError, TypeError, ValueError) as exc:
        raise IngestError(index, "(record)",
                          f"malformed {kind} record: {shown(exc, 200)}") from None
    return key, lambda session: record_facts(session, source=name, collector=collector,
                                             facts=facts, tags=tags, seen_at=seen_at,
                                             newest_only=True)


def _number(value: Any, low: float, high: float, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) \
            or not low <= value <= high:   # NaN compares false: refused too
        raise ValueError(f"expected {what} ({low:g}-{high:g}), got {shown(value)}")
    return value


def _time(value: Any, now: dt.datetime) -> dt.datetime:
    """A time within the receipt window (an older record might have been applied and its
    receipt pruned: it cannot be applied exactly once) and no later than a day after the
    center's clock (a zone's clock may be off by minutes; a record from the far future
    would never look stale)."""
    latest = min(now.timestamp() + FUTURE_SECONDS, LAST_EPOCH)
    earliest = max(now.timestamp() - OLDEST_SECONDS, 0)
    return dt.datetime.fromtimestamp(float(_number(
        value, earliest, latest, f"epoch seconds, at most {OLDEST_SECONDS // 86400} days "
        "before and a day after the center's clock")), UTC)


def _seconds(value: Any) -> float:
    return float(_number(value, 0, LONGEST_SECONDS, "seconds"))


def _count(value: Any, high: int = BIGINT) -> int:
    if isinstance(value, float):
        raise ValueError(f"expected a whole number, got {shown(value)}")
    return int(_number(value, 0, high, "a count"))
