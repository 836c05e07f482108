"""Chat robots of Chinese workplaces: DingTalk, WeCom (企业微信) and Feishu/Lark (飞书).

- DingTalk custom robot (钉钉自定义机器人): markdown message; with a signing secret the URL
  gets ``timestamp`` (ms) and ``sign`` = URL-encoded base64 of HMAC-SHA256 keyed by the
  secret over ``"{timestamp}\\n{secret}"``.
- WeCom group robot (企业微信群机器人): markdown message, at most 4096 bytes.
- Feishu custom bot (飞书自定义机器人): an interactive card with a markdown element; with a
  secret the body carries ``timestamp`` (s) and ``sign`` = base64 of HMAC-SHA256 keyed by
  ``"{timestamp}\\n{secret}"`` over an empty message.

Each answers HTTP 200 with a JSON error code; rate-limit codes are retried later, others
are failures with the platform's message as the reason.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import urllib.parse
from typing import Any

from alerts import messages
from alerts.transports import DeliveryError, Transport, Written
from alerts.transports.httppost import check_status, post_json

#: Codes that mean "too fast" or "busy": tried again later.
RETRY_CODES = {-1, 130101, 45009, 11232, 9499}
WECOM_MAX_BYTES = 4096


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature of a request (URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(),
                      hashlib.sha256).digest()
    return urllib.parse.quote_plus(base64.b64encode(digest).decode())


def feishu_sign(secret: str, timestamp_s: int) -> str:
    """Feishu's signature of a request."""
    digest = hmac.new(f"{timestamp_s}\n{secret}".encode(), b"", hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


class _ChatTransport(Transport):
    """What the three robots share: markdown text, one POST, a JSON error code."""

    def _post(self, url: str, body: dict, written: Written) -> None:
        status, answer = post_json(url, body, written,
                                   timeout=float(self.options.get("timeout", 10.0)),
                                   ca_file=self.options.get("ca_file"))
        check_status(status, answer, self.kind)
        try:
            reply = json.loads(answer or b"{}")
        except ValueError:
            raise DeliveryError(f"{self.kind} answered something that is not JSON",
                                retry=False) from None
        code = reply.get("errcode", reply.get("code", reply.get("StatusCode", 0)))
        if code not in (0, None):
            text = reply.get("errmsg") or reply.get("msg") or reply.get("StatusMessage") or ""
            raise DeliveryError(f"{self.kind} error {code}: {text}", retry=code in RETRY_CODES)

    def _markdown(self, payload: dict[str, Any]) -> tuple[str, str]:
        return (messages.title(payload, self.language),
                messages.markdown(payload, self.language, self.max_alerts))


class DingTalkTransport(_ChatTransport):
    """DingTalk custom robot."""

    kind = "dingtalk"

    def send(self, payload: dict[str, Any], written: Written) -> None:
        title, text = self._markdown(payload)
        url, secret = self.secret("url"), self.secret("secret")
        if secret:
            stamp = int(time.time() * 1000)
            sep = "&" if "?" in url else "?"
            url = f"{url}{sep}timestamp={stamp}&sign={dingtalk_sign(secret, stamp)}"
        mobiles = [str(m) for m in self.options.get("at_mobiles") or []]
        if mobiles:
            text += "\n\n" + " ".join(f"@{m}" for m in mobiles)
        self._post(url, {"msgtype": "markdown", "markdown": {"title": title, "text": text},
                         "at": {"atMobiles": mobiles, "isAtAll": False}}, written)


class WeComTransport(_ChatTransport):
    """WeCom group robot."""

    kind = "wecom"

    def send(self, payload: dict[str, Any], written: Written) -> None:
        _title, text = self._markdown(payload)
        data = text.encode()
        if len(data) > WECOM_MAX_BYTES:
            text = data[:WECOM_MAX_BYTES - 8].decode("utf-8", "ignore") + "\n……"
        self._post(self.secret("url"), {"msgtype": "markdown", "markdown": {"content": text}},
                   written)


class FeishuTransport(_ChatTransport):
    """Feishu/Lark custom bot."""

    kind = "feishu"

    def send(self, payload: dict[str, Any], written: Written) -> None:
        title, text = self._markdown(payload)
        body: dict[str, Any] = {}
        secret = self.secret("secret")
        if secret:
            stamp = int(time.time())
            body.update(timestamp=str(stamp), sign=feishu_sign(secret, stamp))
        colour = "red" if payload.get("status") == "firing" else "green"
        body.update(msg_type="interactive", card={
            "header": {"title": {"tag": "plain_text", "content": title}, "template": colour},
            "elements": [{"tag": "markdown", "content": text.split("\n", 2)[-1]}]})
        self._post(self.secret("url"), body, written)
