"""Real receivers on loopback that check what each channel's documentation asks for.

- :class:`ChatReceiver`: one HTTP server answering as DingTalk's custom robot
  (``/robot/send?access_token=…&timestamp=…&sign=…``: HMAC-SHA256 keyed by the secret over
  ``"{timestamp}\\n{secret}"``, base64, URL-encoded; timestamp in ms within an hour),
  WeCom's group robot (``/cgi-bin/webhook/send?key=…``, markdown content at most 4096
  bytes), Feishu's custom bot (``/open-apis/bot/v2/hook/<token>``: ``timestamp`` in s and
  ``sign`` = base64 HMAC-SHA256 keyed by ``"{timestamp}\\n{secret}"`` over nothing) and an
  Alertmanager webhook receiver (``/webhook``, payload version 4, bearer token). A request
  that breaks the platform's rules gets the platform's error answer and is not recorded.
- :class:`MailServer`: aiosmtpd with STARTTLS required and AUTH (LOGIN/PLAIN) after it.

Both record what they accept *before* answering, which is the receiver's view the
exactly-once test reads; ``hold`` makes the answer wait (a sender killed meanwhile).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.server
import json
import threading
import time
import urllib.parse
from pathlib import Path

ALERT_KEYS = {"status", "labels", "annotations", "startsAt", "endsAt", "generatorURL",
              "fingerprint"}
PAYLOAD_KEYS = {"version", "groupKey", "truncatedAlerts", "status", "receiver", "groupLabels",
                "commonLabels", "commonAnnotations", "externalURL", "alerts"}


class ChatReceiver:
    """DingTalk, WeCom, Feishu and webhook endpoints in one loopback server."""

    def __init__(self, *, token: str = "tok-123", dingtalk_secret: str = "SECdingtalk",
                 feishu_secret: str = "feishu-secret", wecom_key: str = "wecom-key",
                 bearer: str | None = None) -> None:
        self.token, self.dingtalk_secret = token, dingtalk_secret
        self.feishu_secret, self.wecom_key, self.bearer = feishu_secret, wecom_key, bearer
        self.received: list[dict] = []
        self.refused: list[dict] = []
        self.answers: list[tuple[int, dict]] = []     # next answers to give, in order
        self.hold = threading.Event()
        self.hold.set()
        self.lock = threading.Lock()
        receiver = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                receiver._handle(self)

            def log_message(self, *args):
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "ChatReceiver":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.hold.set()
        self.server.shutdown()
        self.server.server_close()

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def urls(self) -> dict[str, str]:
        """The URL each integration is configured with."""
        return {"dingtalk": f"{self.base}/robot/send?access_token={self.token}",
                "wecom": f"{self.base}/cgi-bin/webhook/send?key={self.wecom_key}",
                "feishu": f"{self.base}/open-apis/bot/v2/hook/{self.token}",
                "webhook": f"{self.base}/webhook"}

    def of(self, platform: str) -> list[dict]:
        """Accepted messages of one platform."""
        with self.lock:
            return [r for r in self.received if r["platform"] == platform]

    def wait_for(self, count: int, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while len(self.received) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.received)} of {count} messages arrived")
            time.sleep(0.02)

    def _handle(self, request) -> None:
        body = request.rfile.read(int(request.headers.get("Content-Length", 0)))
        url = urllib.parse.urlsplit(request.path)
        query = dict(urllib.parse.parse_qsl(url.query))
        try:
            data = json.loads(body)
        except ValueError:
            return self._answer(request, 400, {"error": "not JSON"})
        if url.path == "/robot/send":
            platform, problem = "dingtalk", self._dingtalk(query, data)
        elif url.path == "/cgi-bin/webhook/send":
            platform, problem = "wecom", self._wecom(query, data)
        elif url.path.startswith("/open-apis/bot/v2/hook/"):
            platform, problem = "feishu", self._feishu(url.path, data)
        elif url.path == "/webhook":
            platform, problem = "webhook", self._webhook(request.headers, data)
        else:
            return self._answer(request, 404, {})
        with self.lock:
            planned = self.answers.pop(0) if self.answers else None
        if problem is not None:
            self.refused.append({"platform": platform, "problem": problem})
            return self._answer(request, 200 if platform != "webhook" else 400, problem)
        if planned is not None and planned[0] != 200:
            return self._answer(request, *planned)
        with self.lock:
            self.received.append({"platform": platform, "body": data, "query": query,
                                  "headers": dict(request.headers), "at": time.time()})
        self.hold.wait()
        self._answer(request, *(planned or (200, _OK[platform])))

    @staticmethod
    def _answer(request, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        request.send_response(status)
        request.send_header("Content-Type", "application/json")
        request.send_header("Content-Length", str(len(data)))
        request.end_headers()
        try:
            request.wfile.write(data)
        except BrokenPipeError:
            pass    # the sender is gone (killed while it waited): the test's point

    def _dingtalk(self, query: dict, data: dict) -> dict | None:
        if query.get("access_token") != self.token:
            return {"errcode": 300001, "errmsg": "token is not exist"}
        stamp = query.get("timestamp", "")
        if not stamp.isdigit() or abs(int(stamp) - time.time() * 1000) > 3600_000:
            return {"errcode": 310000, "errmsg": "timestamp out of range"}
        expected = base64.b64encode(hmac.new(self.dingtalk_secret.encode(),
                                             f"{stamp}\n{self.dingtalk_secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        # parse_qsl already undid the URL encoding of the signature.
        if not hmac.compare_digest(query.get("sign", ""), expected):
            return {"errcode": 310000, "errmsg": "sign not match"}
        markdown = data.get("markdown") or {}
        if data.get("msgtype") != "markdown" or not isinstance(markdown.get("title"), str) \
                or not isinstance(markdown.get("text"), str) or not markdown["text"]:
            return {"errcode": 40035, "errmsg": "missing markdown title or text"}
        return None

    def _wecom(self, query: dict, data: dict) -> dict | None:
        if query.get("key") != self.wecom_key:
            return {"errcode": 93000, "errmsg": "invalid webhook url"}
        content = (data.get("markdown") or {}).get("content")
        if data.get("msgtype") != "markdown" or not isinstance(content, str) or not content:
            return {"errcode": 40008, "errmsg": "invalid message type"}
        if len(content.encode()) > 4096:
            return {"errcode": 40058, "errmsg": "markdown.content exceed max length 4096"}
        return None

    def _feishu(self, path: str, data: dict) -> dict | None:
        if path.rsplit("/", 1)[1] != self.token:
            return {"code": 19001, "msg": "param invalid: incoming webhook access token invalid"}
        stamp = data.get("timestamp", "")
        expected = base64.b64encode(hmac.new(f"{stamp}\n{self.feishu_secret}".encode(), b"",
                                             hashlib.sha256).digest()).decode()
        if not isinstance(stamp, str) or not stamp.isdigit() or \
                abs(int(stamp) - time.time()) > 3600 or \
                not hmac.compare_digest(str(data.get("sign", "")), expected):
            return {"code": 19021, "msg": "sign match fail or timestamp is not within one "
                                          "hour from current time"}
        card = data.get("card") or {}
        elements = card.get("elements") or []
        if data.get("msg_type") != "interactive" or not card.get("header") or not elements \
                or elements[0].get("tag") != "markdown":
            return {"code": 9499, "msg": "Bad Request"}
        return None

    def _webhook(self, headers, data: dict) -> dict | None:
        if self.bearer and headers.get("Authorization") != f"Bearer {self.bearer}":
            return {"error": "bad bearer token"}
        missing = PAYLOAD_KEYS - set(data)
        if missing or data.get("version") != "4" or data.get("status") not in ("firing",
                                                                              "resolved"):
            return {"error": f"not an Alertmanager payload: missing {sorted(missing)}"}
        for item in data["alerts"]:
            if ALERT_KEYS - set(item) or item["status"] not in ("firing", "resolved"):
                return {"error": "bad alert entry"}
        return None


_OK = {"dingtalk": {"errcode": 0, "errmsg": "ok"}, "wecom": {"errcode": 0, "errmsg": "ok"},
       "feishu": {"code": 0, "data": {}, "msg": "success"}, "webhook": {}}


class MailServer:
    """aiosmtpd on loopback: STARTTLS required, then AUTH; keeps every accepted message."""

    def __init__(self, folder: Path, *, user: str = "alerts", password: str = "s3cret") -> None:
        import ssl

        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword

        from tests.test_tls import self_signed

        self.cert, key = self_signed(folder)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, key)
        self.messages: list[dict] = []
        self.user, self.password = user, password
        server = self

        def authenticate(_server, _session, _envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login.decode() == server.user and \
                data.password.decode() == server.password
            return AuthResult(success=ok, handled=False)

        self.hold = threading.Event()
        self.hold.set()

        class Handler:
            async def handle_DATA(self, _server, session, envelope):  # noqa: N802
                import asyncio
                server.messages.append({"from": envelope.mail_from, "to": envelope.rcpt_tos,
                                        "data": envelope.content, "tls": bool(
                                            session.ssl), "auth": session.authenticated})
                while not server.hold.is_set():     # the final reply waits (a sender dies)
                    await asyncio.sleep(0.05)
                return "250 Message accepted for delivery"

        from tests.servers import free_port
        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     tls_context=context, require_starttls=True,
                                     auth_required=True, authenticator=authenticate)

    def __enter__(self) -> "MailServer":
        self.controller.start()
        return self

    def __exit__(self, *exc) -> None:
        self.hold.set()
        self.controller.stop()


class AlertmanagerServer:
    """Debian's prometheus-alertmanager on loopback, clustering off, one webhook receiver."""

    def __init__(self, folder: Path, webhook_url: str, bearer: str | None = None) -> None:
        import shutil

        import yaml

        from tests.servers import free_port
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.binary = shutil.which("prometheus-alertmanager") or "/usr/bin/prometheus-alertmanager"
        hook = {"url": webhook_url, "send_resolved": True}
        if bearer:
            hook["http_config"] = {"authorization": {"type": "Bearer", "credentials": bearer}}
        (self.folder / "alertmanager.yml").write_text(yaml.safe_dump({
            "route": {"receiver": "hook", "group_by": ["alertname"], "group_wait": "0s",
                      "group_interval": "1s", "repeat_interval": "1h"},
            "receivers": [{"name": "hook", "webhook_configs": [hook]}]}), encoding="utf-8")
        self.proc = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "AlertmanagerServer":
        import subprocess
        import urllib.request
        log = (self.folder / "alertmanager.log").open("wb")
        self.proc = subprocess.Popen([
            self.binary, f"--config.file={self.folder / 'alertmanager.yml'}",
            f"--storage.path={self.folder / 'data'}",
            f"--web.listen-address=127.0.0.1:{self.port}", "--cluster.listen-address="],
            stdout=log, stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(f"{self.url}/-/ready", timeout=1).read()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError("alertmanager did not start; see alertmanager.log")

    def alerts(self) -> list[dict]:
        import urllib.request
        with urllib.request.urlopen(f"{self.url}/api/v2/alerts", timeout=5) as answer:
            return json.loads(answer.read())

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except Exception:  # noqa: BLE001 - then by force, still by its PID
                self.proc.kill()
                self.proc.wait()
            self.proc = None
