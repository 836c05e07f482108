"""Webhook: Alertmanager's JSON payload (version 4) as it is, for any receiver that reads it.

Options: ``url`` (may be ``env:``/``file:``), ``bearer_token``, ``timeout``, ``ca_file``,
``max_alerts`` (0: all). The header ``X-Infra-Ledger-Notification`` carries the outbox id,
so a receiver can tell two notifications apart.
"""

from __future__ import annotations

from typing import Any

from alerts.transports import Transport, Written
from alerts.transports.httppost import check_status, post_json


class WebhookTransport(Transport):
    """POST the payload as JSON."""

    kind = "webhook"

    def send(self, payload: dict[str, Any], written: Written) -> None:
        body = {k: v for k, v in payload.items() if k not in ("counts", "notification")}
        limit = int(self.options.get("max_alerts") or 0)
        if limit and len(body["alerts"]) > limit:
            body["truncatedAlerts"] = body.get("truncatedAlerts", 0) + len(body["alerts"]) - limit
            body["alerts"] = body["alerts"][:limit]
        headers = {"X-Infra-Ledger-Notification": str(payload.get("notification", ""))}
        token = self.secret("bearer_token")
        if token:
            headers["Authorization"] = f"Bearer {token}"
        status, answer = post_json(self.secret("url"), body, written, headers=headers,
                                   timeout=float(self.options.get("timeout", 10.0)),
                                   ca_file=self.options.get("ca_file"))
        check_status(status, answer, "webhook")
