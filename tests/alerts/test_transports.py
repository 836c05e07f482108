"""Each channel delivers to its real receiver, signed and shaped as its platform documents."""

from __future__ import annotations

import email
import email.policy

import pytest

from alerts.config_routing import Integration
from alerts.transports import DeliveryError, NoAnswer, transport_for
from tests.alerts.contract import TransportContract, sample_payload


class ChatContract(TransportContract):
    @pytest.fixture
    def receiver(self, chat, monkeypatch):
        monkeypatch.setenv("ALERT_TEST_SECRET", chat.dingtalk_secret)
        return chat

    def accepted(self, receiver):
        return receiver.of(self.kind)


class TestDingTalk(ChatContract):
    kind = "dingtalk"

    def integration(self, receiver, good=True):
        return Integration("ops", "dingtalk", 0, {
            "url": receiver.urls()["dingtalk"],
            "secret": "env:ALERT_TEST_SECRET" if good else "wrong-secret",
            "at_mobiles": ["13800000000"]})

    def check_message(self, message):
        markdown = message["body"]["markdown"]
        assert markdown["title"].startswith("[告警:2]")
        assert "srv-0 磁盘使用率 91.5%" in markdown["text"]
        assert message["body"]["at"]["atMobiles"] == ["13800000000"]


class TestWeCom(ChatContract):
    kind = "wecom"

    def integration(self, receiver, good=True):
        url = receiver.urls()["wecom"]
        return Integration("ops", "wecom", 0, {"url": url if good else url + "-wrong-"})

    def check_message(self, message):
        assert "srv-1 磁盘使用率 92.5%" in message["body"]["markdown"]["content"]

    def test_long_messages_fit_the_limit(self, receiver):
        transport = transport_for(self.integration(receiver), max_alerts=500)
        transport.send(sample_payload(300), lambda: None)
        content = receiver.of("wecom")[0]["body"]["markdown"]["content"]
        assert 3000 < len(content.encode()) <= 4096


class TestFeishu(ChatContract):
    kind = "feishu"

    def integration(self, receiver, good=True):
        return Integration("ops", "feishu", 0, {"url": receiver.urls()["feishu"],
                                                "secret": receiver.feishu_secret if good
                                                else "wrong-secret"})

    def check_message(self, message):
        card = message["body"]["card"]
        assert card["header"]["template"] == "red"
        assert "srv-0" in card["elements"][0]["content"]


class TestWebhook(ChatContract):
    kind = "webhook"

    def integration(self, receiver, good=True):
        return Integration("ops", "webhook", 0, {"url": receiver.urls()["webhook"],
                                                 "bearer_token": "hook-token" if good
                                                 else "wrong-token"})

    def check_message(self, message):
        body = message["body"]
        assert body["version"] == "4" and body["status"] == "firing"
        assert body["groupLabels"] == {"alertname": "disk_full"}
        assert body["commonLabels"]["datacenter"] == "DC01"
        assert [a["labels"]["target"] for a in body["alerts"]] == ["srv-0", "srv-1"]
        assert message["headers"]["X-Infra-Ledger-Notification"] == "42"

    def test_overloaded_receiver_is_retried(self, receiver):
        receiver.answers.append((503, {"error": "busy"}))
        with pytest.raises(DeliveryError) as caught:
            transport_for(self.integration(receiver)).send(sample_payload(), lambda: None)
        assert caught.value.retry is True and "503" in caught.value.reason
        transport_for(self.integration(receiver)).send(sample_payload(), lambda: None)
        assert len(receiver.of("webhook")) == 1

    def test_closed_port_is_retried_and_nothing_written(self):
        from tests.servers import free_port
        integration = Integration("ops", "webhook", 0,
                                  {"url": f"http://127.0.0.1:{free_port()}/webhook"})
        written = []
        with pytest.raises(DeliveryError) as caught:
            transport_for(integration).send(sample_payload(), lambda: written.append(1))
        assert caught.value.retry and written == []

    def test_no_answer_after_the_request_left(self, receiver):
        receiver.hold.clear()      # the receiver takes the message and does not answer
        integration = Integration("ops", "webhook", 0, {"url": receiver.urls()["webhook"],
                                                        "bearer_token": "hook-token",
                                                        "timeout": 0.5})
        written = []
        with pytest.raises(NoAnswer):
            transport_for(integration).send(sample_payload(), lambda: written.append(1))
        assert written == [1] and len(receiver.of("webhook")) == 1
        receiver.hold.set()


class TestEmail(TransportContract):
    kind = "email"

    @pytest.fixture
    def receiver(self, mail, monkeypatch):
        monkeypatch.setenv("SMTP_TEST_PASSWORD", mail.password)
        return mail

    def integration(self, receiver, good=True):
        return Integration("ops", "email", 0, {
            "to": ["noc@example.gov.cn", "duty@example.gov.cn"],
            "from": "infra-ledger@example.gov.cn", "smarthost": f"127.0.0.1:{receiver.port}",
            "starttls": True, "username": receiver.user, "ca_file": str(receiver.cert),
            "password": "env:SMTP_TEST_PASSWORD" if good else "wrong-password"})

    def accepted(self, receiver):
        return receiver.messages

    def check_message(self, message):
        assert message["tls"] and message["auth"]
        assert message["to"] == ["noc@example.gov.cn", "duty@example.gov.cn"]
        parsed = email.message_from_bytes(message["data"], policy=email.policy.default)
        assert parsed["Subject"].startswith("[告警:2]")
        assert "<alert-42." in parsed["Message-ID"]
        assert "srv-0 磁盘使用率 91.5%" in parsed.get_content()

    def test_refuses_a_server_without_the_ca(self, receiver):
        integration = self.integration(receiver)
        options = {k: v for k, v in integration.options.items() if k != "ca_file"}
        with pytest.raises(DeliveryError):
            transport_for(Integration("ops", "email", 0, options)).send(sample_payload(),
                                                                          lambda: None)
        assert receiver.messages == []
