"""Notification transports: one small interface, one class per channel.

A transport turns a stored payload (:mod:`alerts.payload`) into one request to its
channel. ``send(payload, written)`` calls ``written()`` at the point of no return: all of
the request but its last piece (the body's last byte, the mail's terminating dot) has
left, so the receiver cannot have acted on it yet. The deliverer commits that moment
before the last piece goes, so a crash before it is retried safely and one after it is
never sent again (see :mod:`alerts.delivery`). Failures raise
:class:`DeliveryError` (``retry`` says whether trying later can help) or :class:`NoAnswer`
(the request left whole but no answer came: it may have arrived, so it is not repeated).

Every transport passes the contract suite ``tests/alerts/contract.py`` against a real
receiver on loopback.
"""

from __future__ import annotations

from typing import Any, Callable

from alerts.config_routing import Integration

Written = Callable[[], None]


class DeliveryError(Exception):
    """A send that failed; ``retry`` says whether a later attempt may succeed."""

    def __init__(self, reason: str, *, retry: bool) -> None:
        super().__init__(reason)
        self.reason, self.retry = reason, retry


class NoAnswer(Exception):
    """The request left whole but the channel did not answer; it may have been delivered."""


class Transport:
    """Base of every transport: built from an integration's options (secrets resolved at
    send time, never stored on the object longer than a send)."""

    kind = ""

    def __init__(self, integration: Integration, language: str = "zh",
                 max_alerts: int = 20) -> None:
        self.integration = integration
        self.options = integration.options
        self.language = language
        self.max_alerts = max_alerts

    def send(self, payload: dict[str, Any], written: Written) -> None:
        """Deliver ``payload``; raises DeliveryError or NoAnswer."""
        raise NotImplementedError

    def secret(self, name: str) -> str | None:
        """The option ``name`` with ``env:``/``file:`` references resolved."""
        from core.secrets import resolve_secret
        value = self.options.get(name)
        if value is None:
            return None
        try:
            return resolve_secret(str(value))
        except ValueError as exc:
            raise DeliveryError(f"{self.integration.key}: {name}: {exc}", retry=True) from None


def transport_for(integration: Integration, language: str = "zh",
                  max_alerts: int = 20) -> Transport:
    """The transport of one integration."""
    from alerts.transports.chat import DingTalkTransport, FeishuTransport, WeComTransport
    from alerts.transports.mail import EmailTransport
    from alerts.transports.webhook import WebhookTransport
    classes = {cls.kind: cls for cls in (EmailTransport, WebhookTransport, DingTalkTransport,
                                         WeComTransport, FeishuTransport)}
    return classes[integration.kind](integration, language, max_alerts)
