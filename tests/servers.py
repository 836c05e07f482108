"""Real servers for tests and benchmarks, each on a free loopback port and a temporary folder.

Each helper starts its process, waits until it answers, and stops exactly the
process it started, by PID.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class InfluxServer:
    """An influxd (1.x) with its own data folder; can be stopped and started again."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.port = free_port()
        self.rpc_port = free_port()
        self.proc: subprocess.Popen | None = None
        self.config = self.folder / "influxdb.conf"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.config.write_text(f"""
reporting-disabled = true
bind-address = "127.0.0.1:{self.rpc_port}"
[meta]
  dir = "{self.folder}/meta"
[data]
  dir = "{self.folder}/data"
  wal-dir = "{self.folder}/wal"
  query-log-enabled = false
[coordinator]
  log-queries-after = "0s"
[http]
  bind-address = "127.0.0.1:{self.port}"
  log-enabled = false
[continuous_queries]
  enabled = true
  log-enabled = false
[monitor]
  store-enabled = false
""")

    @property
    def url(self) -> str:
        """Base HTTP URL."""
        return f"http://127.0.0.1:{self.port}"

    def store_url(self, database: str) -> str:
        """The product's store URL for ``database`` on this server."""
        return f"influxdb://127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 30) -> "InfluxServer":
        """Start influxd and wait until /ping answers."""
        log = open(self.folder / "influxd.log", "ab")
        self.proc = subprocess.Popen([INFLUXD, "-config", str(self.config)], stdout=log,
                                     stderr=subprocess.STDOUT)
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"influxd exited: {(self.folder / 'influxd.log').read_text()}")
            try:
                with urllib.request.urlopen(self.url + "/ping", timeout=1) as answer:
                    if answer.status == 204:
                        return self
            except OSError:
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("influxd did not answer /ping in time")

    def stop(self) -> None:
        """Stop the influxd this helper started."""
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                os.kill(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        self.proc = None

    def query(self, database: str, statement: str) -> dict:
        """Run InfluxQL directly (bypassing the product) and return the JSON answer."""
        import json
        import urllib.parse
        data = urllib.parse.urlencode({"db": database, "q": statement}).encode()
        with urllib.request.urlopen(self.url + "/query", data=data, timeout=30) as answer:
            return json.loads(answer.read())

    def write(self, database: str, lines: bytes, rp: str | None = None) -> None:
        """Write line protocol directly (bypassing the product)."""
        import urllib.parse
        query = urllib.parse.urlencode({"db": database, **({"rp": rp} if rp else {})})
        request = urllib.request.Request(f"{self.url}/write?{query}", data=lines, method="POST")
        with urllib.request.urlopen(request, timeout=30) as answer:
            assert answer.status == 204
