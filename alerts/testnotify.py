"""A test message through each integration of a receiver (``monitor alerts test-notify``).

The message is a payload like any other, with one firing test alert, sent at once and not
recorded in the outbox; each integration reports sent, or why not. Secrets never appear in
the reasons (they name the option and the source, e.g. ``environment variable X``).
"""

from __future__ import annotations

import datetime as dt
from typing import Iterable, Iterator

from alerts.config import AlertSettings
from alerts.config_routing import Integration
from alerts.payload import build
from alerts.transports import DeliveryError, NoAnswer, transport_for

UTC = dt.timezone.utc


def test_payload(config: AlertSettings, receiver: str, language: str) -> dict:
    """A payload with one firing alert named ``InfraLedgerTest``."""
    now = dt.datetime.now(UTC)
    row = {"id": 0, "fingerprint": "test", "kind": "health", "state": "firing",
           "labels": {"alertname": "InfraLedgerTest", "severity": "info"},
           "annotations": {"summary_zh": "测试通知：告警通道工作正常",
                           "summary_en": "Test notification: the alert channel works"},
           "value": None, "active_at": now, "fired_at": now, "resolved_at": None}
    payload = build(receiver=receiver, group_key=f"test:{receiver}", group={}, rows=[row],
                    external_url=config.external_url, language=language)
    payload["test"] = True
    return payload


def send_test(config: AlertSettings, integrations: Iterable[Integration],
              language: str) -> Iterator[tuple[str, str | None]]:
    """(integration key, None when sent or the reason) for each integration."""
    for integration in integrations:
        payload = test_payload(config, integration.receiver, language)
        transport = transport_for(integration, language, config.delivery.max_alerts)
        try:
            transport.send(payload, lambda: None)
        except (DeliveryError, NoAnswer) as exc:
            yield integration.key, str(exc)
        else:
            yield integration.key, None
