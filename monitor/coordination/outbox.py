"""A zone's outbox: poll outcomes and facts on disk until the center has applied them.

A zone scheduler has no database connection to the center. Each poll's outcome and
facts become records (see :mod:`ledger.zones` for their form) with an idempotency key,
appended to a :class:`~monitor.spool.Spool` of their own (``<data_dir>/outbox``) before
anything is sent, so a cut link or a crash loses nothing. The store writer's machinery
delivers them: :class:`CenterClient` takes the place of a store, posting batches in
spool order to ``/api/v1/zones/ingest`` with the zone's API token, so batching, backoff
with jitter, acknowledgement and setting aside a refused record are the same code as
for samples. A batch whose answer was lost is sent again; the center recognises each
record's key and applies it once.
"""

from __future__ import annotations

import http.client
import json
import os
import ssl
import urllib.parse
import uuid
from typing import Callable, Mapping

from ledger.status import PollRecord
from ledger.zones import OLDEST_SECONDS
from monitor.backlog import PendingFacts
from monitor.spool import Spool
from monitor.store.base import RejectedBatch, StoreError
from monitor.writer import StoreWriter

INGEST_PATH = "/api/v1/zones/ingest"
#: Batches stay well under the ingest route's body limit.
BATCH_BYTES = 512 * 1024
REJECT_STATUSES = {400, 413, 422}
#: What the center says of a record whose target its configuration does not have (yet).
UNKNOWN_TARGET = "is not a configured target of zone"
#: The oldest record an outbox keeps (the center refuses older ones: ledger.zones).
MAX_AGE_SECONDS = OLDEST_SECONDS
#: A facts record larger than this is sent as several (the ingest route takes 4 MiB).
RECORD_BYTES = 1024 * 1024


def poll_record(poll: PollRecord) -> dict:
    """The outbox record of one poll's outcome."""
    return {"key": uuid.uuid4().hex, "type": "poll", "name": poll.name, "kind": poll.kind,
            "status": poll.status, "duration_seconds": poll.duration_seconds,
            "error": poll.error, "samples": poll.samples, "at": poll.at.timestamp(),
            "interval_seconds": poll.interval_seconds}


def facts_record(source: str, pending: PendingFacts) -> dict:
    """The outbox record of one poll's facts."""
    return {"key": uuid.uuid4().hex, "type": "facts", "source": source,
            "collector": pending.collector, "tags": dict(pending.tags),
            "seen_at": pending.seen_at.timestamp(),
            "facts": [{"kind": f.kind, "keys": dict(f.keys), "attributes": dict(f.attributes)}
                      for f in pending.facts]}


def decode_batch(data: bytes) -> list:
    """The records of one spooled batch (a JSON object per line). A record that is not
    JSON although its checksum holds can never be delivered: RejectedBatch, so the writer
    sets it aside (one record at a time, so the good ones of the batch still go)."""
    try:
        return [json.loads(line) for line in data.splitlines() if line.strip()]
    except ValueError as exc:
        raise RejectedBatch(f"an outbox record is not JSON: {exc}") from exc


def _size(value) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode())


def split_facts(record: dict, limit: int = RECORD_BYTES) -> list[dict]:
    """``record`` as records of at most about ``limit`` bytes each: a facts record with
    many facts is cut into parts of whole facts (keys ``<key>.<n>``); any other record, or
    a single fact larger than the limit, stays as it is."""
    facts = record.get("facts") if record.get("type") == "facts" else None
    if not isinstance(facts, list) or len(facts) < 2 or _size(record) <= limit:
        return [record]
    frame = _size({**record, "facts": []}) + 16
    parts, current, size = [], [], frame
    for fact in facts:
        fact_size = _size(fact) + 1
        if current and size + fact_size > limit:
            parts.append(current)
            current, size = [], frame
        current.append(fact)
        size += fact_size
    parts.append(current)
    return [{**record, "key": f"{record['key']}.{n}", "facts": part}
            for n, part in enumerate(parts)]


def _about_records(answer: bytes) -> bool:
    """Whether a refusal names the records (set aside, one at a time, to find the bad one)
    rather than this collector's own report, which no record can mend: then the batch
    stays and is sent again once the collector is fixed."""
    try:
        errors = json.loads(answer).get("errors") or []
        keys = [str(e.get("key", "")) for e in errors if isinstance(e, dict)]
    except (ValueError, AttributeError):
        return True
    return not keys or not all(k.startswith("collector") for k in keys)


class CenterClient:
    """Posts outbox batches to the center; shaped like a store for :class:`StoreWriter`."""

    def __init__(self, center_url: str, token: str | None, report: Callable[[], Mapping],
                 *, ca_file: os.PathLike | None = None, timeout: float = 10.0) -> None:
        parts = urllib.parse.urlsplit(center_url)
        self.host, self.https = parts.hostname, parts.scheme == "https"
        self.port = parts.port or (443 if self.https else 80)
        self.prefix = parts.path.rstrip("/")
        self.token, self.report, self.timeout = token, report, timeout
        self._context = ssl.create_default_context(cafile=ca_file) if self.https else None

    def post(self, records: list) -> dict:
        """Deliver ``records`` (possibly none: a heartbeat); return the center's answer."""
        body = json.dumps({"collector": dict(self.report()), "records": records},
                          ensure_ascii=False).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        if self.https:
            conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=self._context)
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            conn.request("POST", self.prefix + INGEST_PATH, body=body, headers=headers)
            response = conn.getresponse()
            status, answer = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            raise StoreError(f"the center at {self.host}:{self.port} did not answer: "
                             f"{type(exc).__name__}: {exc}") from exc
        finally:
            conn.close()
        if status == 200:
            return json.loads(answer)
        reason = f"HTTP {status}: {answer[:500].decode(errors='replace').strip()}"
        if status in REJECT_STATUSES and _about_records(answer):
            raise RejectedBatch(reason)
        raise StoreError(f"the center refused the delivery for now, will retry: {reason}")

    # -- the store protocol as StoreWriter uses it ------------------------------------------------

    def write_lines(self, data: bytes) -> int:
        """Deliver one batch of spooled records (a JSON object per line)."""
        records = decode_batch(data)
        self.post(records)
        return len(records)

    def close(self) -> None:
        """Nothing is kept open between deliveries."""


class Outbox:
    """Records spooled on disk and a sender delivering them to the center in order."""

    def __init__(self, folder: os.PathLike, client: CenterClient, **spool_options) -> None:
        self.client = client
        # Never longer than the center can recognise a record it applied (its receipts).
        spool_options["max_age_seconds"] = min(
            spool_options.get("max_age_seconds", MAX_AGE_SECONDS), MAX_AGE_SECONDS)
        self.writer = StoreWriter(client, Spool(folder, label="Outbox", unit="records",
                                                peer="Center", **spool_options),
                                  batch_bytes=BATCH_BYTES)

    def start(self) -> None:
        """Start delivering (what an earlier run left in the outbox goes first)."""
        self.writer.start()

    def put(self, record: dict) -> None:
        """Append one record durably; raises SpoolError if the disk refuses it. A facts
        record too large for one delivery goes as several (facts are upserted one by one,
        so parts apply as the whole would), each with a key of its own."""
        for part in split_facts(record):
            data = json.dumps(part, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
            self.writer.spool.append(data, 1)

    def requeue_unknown_targets(self) -> int:
        """Send again the records the center refused because it did not know their target
        (its configuration was rolled out after the zone's): appended to the outbox anew,
        the set-aside copy removed; return how many. A record too old by then is refused
        for good (the center's receipt window) and stays under rejected/."""
        spool, moved = self.writer.spool, 0
        for reason_file in sorted(spool.rejected.glob("*.json")):
            payload_file = reason_file.with_suffix(".lp")
            try:
                reason = json.loads(reason_file.read_text(encoding="utf-8")).get("reason", "")
                if UNKNOWN_TARGET not in str(reason):
                    continue
                payload = payload_file.read_bytes()
            except (OSError, ValueError, AttributeError):
                continue
            lines = sum(1 for line in payload.splitlines() if line.strip())
            spool.append(payload, lines)   # SpoolError (a full disk): the copy stays
            reason_file.unlink(missing_ok=True)
            payload_file.unlink(missing_ok=True)
            moved += 1
        return moved

    @property
    def depth(self) -> int:
        """Records not yet applied by the center."""
        return self.writer.spool.pending_samples

    def flush(self, timeout: float) -> bool:
        """Wait until the center has every record; False if not within ``timeout``."""
        return self.writer.flush(timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Deliver what the link allows within ``timeout``; the rest waits on disk."""
        self.writer.stop(timeout)

    def stats(self) -> dict[str, float]:
        """Figures of the outbox for the collector's report."""
        return {"outbox_depth_records": float(self.depth),
                "outbox_delivered_total": float(self.writer.written_points),
                "outbox_errors_total": float(self.writer.write_errors)}
