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
from monitor.backlog import PendingFacts
from monitor.spool import Spool
from monitor.store.base import RejectedBatch, StoreError
from monitor.writer import StoreWriter

INGEST_PATH = "/api/v1/zones/ingest"
#: Batches stay well under the ingest route's body limit.
BATCH_BYTES = 512 * 1024
REJECT_STATUSES = {400, 413, 422}


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
        if status in REJECT_STATUSES:
            raise RejectedBatch(reason)
        raise StoreError(f"the center refused the delivery for now, will retry: {reason}")

    # -- the store protocol as StoreWriter uses it ------------------------------------------------

    def write_lines(self, data: bytes) -> int:
        """Deliver one batch of spooled records (a JSON object per line)."""
        records = [json.loads(line) for line in data.splitlines() if line.strip()]
        self.post(records)
        return len(records)

    def close(self) -> None:
        """Nothing is kept open between deliveries."""


class Outbox:
    """Records spooled on disk and a sender delivering them to the center in order."""

    def __init__(self, folder: os.PathLike, client: CenterClient, **spool_options) -> None:
        self.client = client
        self.writer = StoreWriter(client, Spool(folder, **spool_options),
                                  batch_bytes=BATCH_BYTES)

    def start(self) -> None:
        """Start delivering (what an earlier run left in the outbox goes first)."""
        self.writer.start()

    def put(self, record: dict) -> None:
        """Append one record durably; raises SpoolError if the disk refuses it."""
        data = json.dumps(record, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"
        self.writer.spool.append(data, 1)

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
