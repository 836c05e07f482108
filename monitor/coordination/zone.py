"""The scheduler of a network zone: polls the zone's targets, reports to the center.

``python -m monitor scheduler --zone Z`` runs :class:`ZoneMonitor` for a zone other
than ``central``: it polls only targets whose ``zone`` is Z (and, with a coordination
database, only those its leases give it), sends samples through its own spool to the
configured store over HTTP(S), and puts poll outcomes and facts in its outbox for the
center's ingest API (:mod:`monitor.coordination.outbox`). It opens no ledger: nothing
crosses the zone's border but HTTP(S) to the store and to the center. Every few seconds
it reports itself (last contact, backlog, version, targets owned) with an empty delivery.
"""

from __future__ import annotations

import logging
import os
import socket
import time
import uuid
from pathlib import Path

import monitor
from monitor.backlog import PendingFacts
from monitor.config import Settings
from monitor.coordination.outbox import CenterClient, Outbox, facts_record, poll_record
from monitor.scheduler import Monitor
from monitor.spool import SpoolError
from monitor.store.base import StoreError

_LOGGER = logging.getLogger(__name__)
#: How often records refused for a target the center did not know are sent again.
REQUEUE_SECONDS = 600.0


def member_id(data_dir: Path, zone: str) -> str:
    """This scheduler's member name, kept in its data directory across restarts."""
    path = Path(data_dir) / "member-id"
    try:
        return path.read_text(encoding="utf-8").strip()
    except FileNotFoundError:
        # At most 128 characters, as the center and the coordination tables keep it.
        name = f"{zone[:64]}-{socket.gethostname()[:54]}-{uuid.uuid4().hex[:8]}"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(name + "\n", encoding="utf-8")
        return name


class ZoneMonitor(Monitor):
    """A scheduler that delivers everything but samples to the center's ingest API."""

    def __init__(self, settings: Settings, store, zone: str, *, collector_factory=None,
                 assignment=None) -> None:
        super().__init__(settings, None, store, collector_factory, zone=zone)
        self.assignment = assignment
        self.member = member_id(settings.data_dir, zone)
        self.hostname = socket.gethostname()
        token = os.environ.get(settings.zone.token_env)
        client = CenterClient(settings.zone.center_url, token, self.report,
                              ca_file=settings.zone.ca_file)
        self.outbox = Outbox(settings.data_dir / "outbox", client, **settings.spool)
        self._center_failing = False
        self._next_requeue = 0.0

    def report(self) -> dict:
        """What the center's zone page shows of this scheduler."""
        names = list(self.targets)
        owned = self.assignment.owned_count(names) if self.assignment else len(names)
        return {"member": self.member, "zone": self.zone, "hostname": self.hostname[:128],
                "version": monitor.__version__, "targets_owned": owned,
                "backlog_samples": self.writer.depth, "backlog_records": self.outbox.depth}

    def start(self) -> None:
        """Start delivering the outbox, then polling."""
        self.outbox.start()
        super().start()

    def _register(self) -> None:
        """Targets are registered by the center from the same configuration."""

    def _add_analysis_jobs(self, now) -> None:
        """Analyses run at the center, over every zone's facts."""

    def _record_poll(self, poll) -> None:
        self._put(poll_record(poll))

    def _write_facts(self, name: str, pending: PendingFacts) -> None:
        self._put(facts_record(name, pending))

    def _put(self, record: dict) -> None:
        try:
            self.outbox.put(record)
        except SpoolError as exc:
            _LOGGER.error("Could not keep a %s record of %s in the outbox: %s", record["type"],
                          record.get("name") or record.get("source"), exc)

    def retry_facts(self) -> None:
        """Nothing waits in memory: the outbox on disk retries."""

    def publish_stats(self) -> None:
        """Report to the center (an empty delivery), so it knows this scheduler is alive."""
        try:
            self.outbox.client.post([])
        except StoreError as exc:
            if not self._center_failing:
                _LOGGER.warning("Cannot reach the center: %s; polling goes on, records wait "
                                "in the outbox", exc)
            self._center_failing = True
            return
        if self._center_failing:
            _LOGGER.info("The center answers again; %s records wait to be delivered",
                         self.outbox.depth)
        self._center_failing = False
        now = time.monotonic()
        if now >= self._next_requeue:
            self._next_requeue = now + REQUEUE_SECONDS
            try:
                moved = self.outbox.requeue_unknown_targets()
            except SpoolError as exc:
                _LOGGER.error("Could not send refused records again: %s", exc)
            else:
                if moved:
                    _LOGGER.info("Sending again %s records the center refused for a target "
                                 "it did not know", moved)

    def stop(self) -> None:
        """Stop polling, then deliver what the link allows; the rest stays on disk."""
        super().stop()
        self.outbox.stop()
