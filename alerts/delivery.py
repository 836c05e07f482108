"""Delivery of the outbox: retries with backoff, a rate limit per integration, exactly once.

Each row moves ``pending`` → ``sending`` (claimed, committed) → ``written`` (committed at
the transport's point of no return: everything but the request's last byte, or the mail's
terminating dot, has left, so the receiver cannot have acted on it yet) → ``sent``. A failure
that may pass is retried with exponential backoff up to ``max_attempts``, then ``failed``
with its reason; one that cannot pass (a refused signature, a bad address) fails at once.
After a crash, :meth:`Deliverer.recover` puts ``sending`` rows back to ``pending`` (the
receiver cannot have acted on it) and settles ``written`` rows as sent without
confirmation: the receiver may already show them, so they are never sent again. No
receiver sees a notification twice; the price is that a crash in the instant between the
mark and the last byte leaves one notification recorded as sent-unconfirmed (visible in
the outbox) that the receiver never completed.

Under a flood, an integration sends at most ``max_per_minute`` messages a minute; when
more are waiting than it may send, they are merged into one digest (``merged`` rows point
at it), so a storm is one summary message rather than thousands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from typing import Callable

from sqlalchemy import Engine, func, select, update

from alerts.config import AlertSettings
from alerts.config_routing import Integration
from alerts.payload import MAX_STORED
from alerts.transports import DeliveryError, NoAnswer, Transport, transport_for
from ledger.alert_tables import alert_outbox

_LOGGER = logging.getLogger(__name__)
UTC = dt.timezone.utc
RATE_WINDOW = 60.0


@dataclasses.dataclass
class Delivered:
    """What one :meth:`Deliverer.run` did."""

    sent: int = 0
    unconfirmed: int = 0
    retried: int = 0
    failed: int = 0
    merged: int = 0


class Deliverer:
    """Sends what the outbox holds, through the transports of the configured integrations."""

    def __init__(self, engine: Engine, config: AlertSettings, *,
                 clock: Callable[[], dt.datetime] | None = None,
                 transports: Callable[[Integration, str, int], Transport] = transport_for
                 ) -> None:
        self.engine, self.config = engine, config
        self.clock = clock or (lambda: dt.datetime.now(UTC))
        self.transports = transports
        self.integrations = {i.key: i for items in config.routing.receivers.values()
                             for i in items}

    def recover(self) -> int:
        """Settle rows a stopped process left mid-delivery; returns how many."""
        now = self.clock()
        with self.engine.begin() as conn:
            again = conn.execute(update(alert_outbox).where(alert_outbox.c.status == "sending")
                                 .values(status="pending", next_attempt_at=now)).rowcount
            settled = conn.execute(update(alert_outbox).where(
                alert_outbox.c.status == "written").values(
                status="sent", sent_at=now, confirmed=False,
                last_error="the process stopped before the answer came; not sent again")
            ).rowcount
        if again or settled:
            _LOGGER.warning("Alert delivery after a stop: %s to send again, %s left whole and "
                            "recorded as sent without answer", again, settled)
        return again + settled

    def run(self, now: dt.datetime | None = None) -> Delivered:
        """Send every due row (within each integration's rate limit)."""
        now = now or self.clock()
        result = Delivered()
        with self.engine.connect() as conn:
            due = conn.execute(select(alert_outbox.c.id, alert_outbox.c.integration).where(
                alert_outbox.c.status == "pending", alert_outbox.c.next_attempt_at <= now)
                .order_by(alert_outbox.c.id)).all()
        by_integration: dict[str, list[int]] = {}
        for id_, integration in due:
            by_integration.setdefault(integration, []).append(id_)
        for key, ids in by_integration.items():
            integration = self.integrations.get(key)
            if integration is None:
                self._finish(ids, "failed", "the integration is no longer configured", now)
                result.failed += len(ids)
                continue
            budget = self.config.delivery.max_per_minute - self._recent(key, now)
            if len(ids) > max(budget, 0) and len(ids) > 1:
                result.merged += len(ids)
                ids = [self._merge(key, ids, now)]
            for id_ in ids[:max(budget, 0)]:
                self._send(id_, integration, now, result)
        return result

    def _recent(self, key: str, now: dt.datetime) -> int:
        since = now - dt.timedelta(seconds=RATE_WINDOW)
        with self.engine.connect() as conn:
            return conn.execute(select(func.count()).select_from(alert_outbox).where(
                alert_outbox.c.integration == key, alert_outbox.c.sent_at > since)).scalar_one()

    def _merge(self, key: str, ids: list[int], now: dt.datetime) -> int:
        """Merge waiting rows into one digest row; returns its id."""
        with self.engine.begin() as conn:
            rows = conn.execute(select(alert_outbox).where(alert_outbox.c.id.in_(ids))
                                .order_by(alert_outbox.c.id)).mappings().all()
            latest: dict[str, dict] = {}
            for row in rows:
                for item in row["payload"].get("alerts", []):
                    latest[item["fingerprint"]] = item
            alerts = sorted(latest.values(), key=lambda a: (a["status"] == "resolved",
                                                            a["labels"].get("alertname", "")))
            firing = sum(1 for a in alerts if a["status"] == "firing")
            first = rows[0]["payload"]
            # A digest merged again still counts the notifications it stood for.
            merged = sum(int(row["payload"].get("digest", 1)) for row in rows)
            payload = {"version": "4", "groupKey": f"digest:{key}", "digest": merged,
                       "status": "firing" if firing else "resolved",
                       "receiver": rows[0]["receiver"], "groupLabels": {}, "commonLabels": {},
                       "commonAnnotations": {}, "externalURL": first.get("externalURL", ""),
                       "alerts": alerts[:MAX_STORED],
                       "truncatedAlerts": max(0, len(alerts) - MAX_STORED),
                       "counts": {"firing": firing, "resolved": len(alerts) - firing}}
            digest_id = conn.execute(alert_outbox.insert().values(
                dedup_key=f"digest#{ids[0]}-{ids[-1]}#{key}", receiver=rows[0]["receiver"],
                integration=key, group_key=f"digest:{key}", status="pending", payload=payload,
                attempts=0, next_attempt_at=now, created_at=now)).inserted_primary_key[0]
            conn.execute(update(alert_outbox).where(alert_outbox.c.id.in_(ids),
                                                    alert_outbox.c.status == "pending")
                         .values(status="merged", merged_into=digest_id))
        _LOGGER.warning("Alert flood on %s: %s notifications merged into one digest", key,
                        len(ids))
        return digest_id

    def _send(self, id_: int, integration: Integration, now: dt.datetime,
              result: Delivered) -> None:
        with self.engine.begin() as conn:
            claimed = conn.execute(update(alert_outbox).where(
                alert_outbox.c.id == id_, alert_outbox.c.status == "pending").values(
                status="sending", attempts=alert_outbox.c.attempts + 1)).rowcount
            if not claimed:
                return
            row = conn.execute(select(alert_outbox.c.payload, alert_outbox.c.attempts)
                               .where(alert_outbox.c.id == id_)).one()
        transport = self.transports(integration, self.config.language,
                                    self.config.delivery.max_alerts)
        try:
            transport.send({**row.payload, "notification": id_},
                           lambda: self._mark(id_, status="written"))
        except NoAnswer as exc:
            self._finish([id_], "sent", str(exc), self.clock(), confirmed=False)
            result.unconfirmed += 1
        except DeliveryError as exc:
            self._failed(id_, row.attempts, exc, result)
        except Exception as exc:  # noqa: BLE001 - a transport bug must not stop delivery
            _LOGGER.exception("Transport %s failed unexpectedly", integration.key)
            self._failed(id_, row.attempts, DeliveryError(repr(exc), retry=True), result)
        else:
            self._finish([id_], "sent", None, self.clock(), confirmed=True)
            result.sent += 1

    def _failed(self, id_: int, attempts: int, exc: DeliveryError, result: Delivered) -> None:
        delivery = self.config.delivery
        if exc.retry and attempts < delivery.max_attempts:
            wait = min(delivery.backoff * 2 ** (attempts - 1), delivery.max_backoff)
            self._mark(id_, status="pending", last_error=exc.reason,
                       next_attempt_at=self.clock() + dt.timedelta(seconds=wait))
            result.retried += 1
            _LOGGER.warning("Notification %s failed (attempt %s), retried in %.0fs: %s", id_,
                            attempts, wait, exc.reason)
        else:
            self._mark(id_, status="failed", last_error=exc.reason)
            result.failed += 1
            _LOGGER.error("Notification %s failed for good: %s", id_, exc.reason)

    def _mark(self, id_: int, **values) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(alert_outbox).where(alert_outbox.c.id == id_).values(**values))

    def _finish(self, ids: list[int], status: str, error: str | None, now: dt.datetime,
                confirmed: bool | None = None) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(alert_outbox).where(alert_outbox.c.id.in_(ids)).values(
                status=status, last_error=error, confirmed=confirmed,
                sent_at=now if status == "sent" else None))
