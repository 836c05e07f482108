"""govmomi's vCenter simulator (vcsim) on loopback, built from Debian's Go packages.

``tests/apis/vcsim/main.go`` is compiled once per machine (GOPATH mode, offline) into a cache
folder keyed by the source's hash; each :class:`VcSim` runs one simulator process and stops
it by its PID. :class:`SoapFaults` sits in front of a plain-HTTP simulator and damages the
answers to chosen SOAP methods (truncation, HTTP errors, delays) for error tests.
"""

from __future__ import annotations

import hashlib
import http.client
import http.server
import json
import os
import re
import shutil
import subprocess
import threading
import time
from pathlib import Path

SOURCE = Path(__file__).with_name("vcsim") / "main.go"
GOPATH = "/usr/share/gocode"


def binary() -> Path:
    """The built simulator; builds it when the source changed or it is missing."""
    digest = hashlib.sha256(SOURCE.read_bytes()).hexdigest()[:16]
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "infra-ledger"
    target = cache / f"vcsim-{digest}"
    if target.is_file():
        return target
    if shutil.which("go") is None or not Path(GOPATH, "src/github.com/vmware/govmomi").is_dir():
        raise RuntimeError("vcsim needs Debian's golang-go and golang-github-vmware-govmomi-dev "
                           "(scripts/setup-test-env.sh installs them)")
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_suffix(f".{os.getpid()}.tmp")
    env = dict(os.environ, GO111MODULE="off", GOPATH=GOPATH, GOFLAGS="",
               GOCACHE=str(cache / "go-build"))
    subprocess.run(["go", "build", "-o", str(partial), str(SOURCE)], env=env, check=True,
                   capture_output=True, timeout=600)
    partial.replace(target)
    return target


class VcSim:
    """One simulator: ``url``, ``counts`` (vms, hosts, clusters, datastores)."""

    def __init__(self, username="ledger", password="secret", http_only=False, **model):
        self.args = [str(binary()), "-username", username, "-password", password]
        if http_only:
            self.args.append("-http")
        for key, value in model.items():
            self.args += [f"-{key.replace('_', '-')}", str(value)]
        self.process: subprocess.Popen | None = None
        self.url = ""
        self.counts: dict = {}

    def start(self, timeout: float = 600.0) -> "VcSim":
        self.process = subprocess.Popen(self.args, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + timeout
        line = b""
        while not line and time.monotonic() < deadline and self.process.poll() is None:
            line = self.process.stdout.readline()
        if not line:
            self.stop()
            raise RuntimeError("vcsim did not start")
        self.counts = json.loads(line)
        self.url = self.counts.pop("url")
        return self

    def stop(self) -> None:
        if self.process is not None:
            try:
                self.process.stdin.close()
                self.process.wait(timeout=10)
            except (subprocess.TimeoutExpired, BrokenPipeError):
                self.process.kill()
                self.process.wait()
            self.process.stdout.close()
            self.process = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class SoapFaults:
    """An HTTP proxy to a plain-HTTP simulator that damages chosen SOAP methods' answers.

    ``faults`` maps a SOAP method name (``RetrievePropertiesEx``, ``QueryPerf``, ...) to
    ``("truncate" | "status" | "delay", value)``. ``page`` > 0 makes ``RetrievePropertiesEx``
    answer in pages of that many objects with a continuation token, as vCenter does for
    ``maxObjects`` (the simulator of this version answers everything at once).
    """

    def __init__(self, upstream: str) -> None:
        from urllib.parse import urlsplit
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname, parts.port)
        self.path = parts.path
        self.faults: dict[str, tuple[str, object]] = {}
        self.methods: list[str] = []   # SOAP methods called, in order
        self.page = 0
        self._pending: list[bytes] = []
        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True

            def log_message(self, *args):
                pass

            def do_GET(self):  # noqa: N802 - vimServiceVersions.xml, read before login
                self._forward("GET", b"", None)

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                found = re.search(rb"<soapenv:Body>\s*<(\w+)", body)
                proxy.methods.append(found[1].decode() if found else "?")
                if proxy.methods[-1] == "ContinueRetrievePropertiesEx" and proxy.page:
                    return self._reply(200, [("Content-Type", "text/xml; charset=utf-8")],
                                       proxy.next_page(b"ContinueRetrievePropertiesExResponse"))
                fault = next((f for method, f in proxy.faults.items()
                              if f"<{method} ".encode() in body or
                              f"<{method}>".encode() in body), None)
                if fault and fault[0] == "delay":
                    time.sleep(float(fault[1]))
                if fault and fault[0] == "status":
                    data = b"<html>upstream error</html>"
                    self.send_response(int(fault[1]))
                    self.send_header("Content-Type", "text/html")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                    return
                self._forward("POST", body, fault)

            def _forward(self, method, body, fault):
                conn = http.client.HTTPConnection(*proxy.upstream, timeout=60)
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "accept-encoding")}
                conn.request(method, self.path, body or None, headers)
                answer = conn.getresponse()
                data = answer.read()
                conn.close()
                if fault and fault[0] == "truncate":
                    data = data[: len(data) // 2]
                if proxy.page and b"<RetrievePropertiesExResponse" in data:
                    proxy._pending = re.findall(rb"<objects>.*?</objects>", data, re.S)
                    data = proxy.next_page(b"RetrievePropertiesExResponse")
                self._reply(answer.status, answer.getheaders(), data)

            def _reply(self, status, headers, data):
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("content-length", "transfer-encoding", "connection",
                                           "content-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}{self.path}"

    def next_page(self, element: bytes) -> bytes:
        """The next ``page`` objects as a SOAP answer, with a token while more remain."""
        page, self._pending = self._pending[:self.page], self._pending[self.page:]
        token = b"<token>page-%d</token>" % len(self._pending) if self._pending else b""
        return (b'<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
                b'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
                b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><' +
                element + b' xmlns="urn:vim25"><returnval>' + token + b"".join(page) +
                b"</returnval></" + element + b"></soapenv:Body></soapenv:Envelope>")

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
