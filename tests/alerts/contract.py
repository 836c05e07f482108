"""The contract every notification transport passes, against its real receiver on loopback.

``tests/alerts/test_transports.py`` runs it for e-mail (aiosmtpd), the Alertmanager webhook,
DingTalk, WeCom and Feishu: delivered and accepted as the platform documents it; a bad
secret or key is a failure that is not retried; an overloaded receiver is retried; the
request is reported as written before the answer is read; no secret appears in a reason.
"""

from __future__ import annotations

import datetime as dt

from alerts.config_routing import Integration
from alerts.payload import build
from alerts.transports import DeliveryError, transport_for

UTC = dt.timezone.utc


def sample_payload(count: int = 2, status: str = "firing") -> dict:
    """A payload of ``count`` alerts as the dispatcher would store it."""
    now = dt.datetime.now(UTC)
    rows = [{"id": i + 1, "fingerprint": f"fp{i}", "kind": "threshold", "state": status,
             "labels": {"alertname": "disk_full", "severity": "critical", "target": f"srv-{i}",
                        "measurement": "disk", "datacenter": "DC01"},
             "annotations": {"summary_zh": "{target} 磁盘使用率 {value}%",
                             "summary_en": "{target} disk at {value}%"},
             "value": 91.5 + i, "active_at": now, "fired_at": now,
             "resolved_at": now if status == "resolved" else None} for i in range(count)]
    payload = build(receiver="ops", group_key="ops:route:abc", group={"alertname": "disk_full"},
                    rows=rows, external_url="http://127.0.0.1:8080", language="zh")
    payload["notification"] = 42
    return payload


class TransportContract:
    """Subclasses give ``integration(receiver, good=True)`` and ``accepted(receiver)``."""

    kind = ""

    def integration(self, receiver, good: bool = True) -> Integration:
        raise NotImplementedError

    def accepted(self, receiver) -> list:
        raise NotImplementedError

    def test_delivers_as_documented(self, receiver):
        written = []
        transport_for(self.integration(receiver)).send(sample_payload(),
                                                       lambda: written.append(1))
        assert written == [1]
        assert len(self.accepted(receiver)) == 1
        self.check_message(self.accepted(receiver)[0])

    def check_message(self, message) -> None:
        """What the accepted message must say (overridden per channel)."""

    def test_bad_secret_fails_without_retry(self, receiver):
        try:
            transport_for(self.integration(receiver, good=False)).send(sample_payload(),
                                                                        lambda: None)
        except DeliveryError as exc:
            assert exc.retry is False, exc.reason
            assert "wrong-" not in exc.reason   # a secret never appears in a reason
        else:
            raise AssertionError("a bad secret was accepted")
        assert self.accepted(receiver) == []
