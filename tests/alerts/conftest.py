"""Fixtures of the alert tests: real receivers on loopback."""

from __future__ import annotations

import pytest

from tests.alerts.receivers import ChatReceiver, MailServer


@pytest.fixture
def chat():
    """DingTalk, WeCom, Feishu and webhook receivers on one loopback server."""
    with ChatReceiver(bearer="hook-token") as receiver:
        yield receiver


@pytest.fixture
def mail(tmp_path):
    """aiosmtpd with STARTTLS and AUTH."""
    with MailServer(tmp_path) as server:
        yield server
