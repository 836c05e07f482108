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
import threading
import time
import urllib.request
from pathlib import Path

from monitor.demo.agents import answers, free_udp_port  # noqa: F401 - re-exported

INFLUXD = shutil.which("influxd") or "/usr/bin/influxd"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def launch(args: list, log_path: Path, ready, what: str,
           timeout: float = 30) -> subprocess.Popen:
    """Start ``args`` (output appended to ``log_path``) and wait until ``ready()`` is true
    (an ``OSError`` counts as not yet); raise with the log when the process exits first,
    or stop it and raise when ``timeout`` passes (``what``: "influxd did not answer /ping")."""
    with open(log_path, "ab") as log:
        proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"{Path(args[0]).name} exited: {log_path.read_text()}")
        try:
            if ready():
                return proc
        except OSError:
            pass
        time.sleep(0.1)
    terminate(proc)
    raise RuntimeError(f"{what} in time")


def _status(url: str, context=None) -> int:
    with urllib.request.urlopen(url, timeout=1, context=context) as answer:
        return answer.status


def terminate(proc: subprocess.Popen | None) -> None:
    """SIGTERM the process we started (by its PID), SIGKILL it if it does not exit."""
    if proc is not None and proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(10)


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
        self.proc = launch([INFLUXD, "-config", str(self.config)], self.folder / "influxd.log",
                           lambda: _status(self.url + "/ping") == 204,
                           "influxd did not answer /ping", timeout)
        return self

    def stop(self) -> None:
        """Stop the influxd this helper started."""
        terminate(self.proc)
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


VICTORIA_METRICS = shutil.which("victoria-metrics") or "/usr/bin/victoria-metrics"


class VictoriaMetricsServer:
    """A single-node VictoriaMetrics with its own data folder, run as the product expects
    (``.`` between measurement and field, deduplication of repeated timestamps)."""

    def __init__(self, folder: Path, tls: tuple[Path, Path] | None = None) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        self.tls = tls   # (certificate, key): serve HTTPS

    @property
    def url(self) -> str:
        """Base HTTP URL."""
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    @property
    def store_url(self) -> str:
        """The product's store URL for this server."""
        return f"victoriametrics://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "VictoriaMetricsServer":
        """Start victoria-metrics and wait until /health answers."""
        self.proc = launch(
            [VICTORIA_METRICS, f"-storageDataPath={self.folder / 'data'}",
             f"-httpListenAddr=127.0.0.1:{self.port}", "-influxMeasurementFieldSeparator=.",
             "-dedup.minScrapeInterval=1ms", "-search.latencyOffset=0s", "-loggerLevel=ERROR",
             "-retentionPeriod=100y",
             *(["-tls", f"-tlsCertFile={self.tls[0]}", f"-tlsKeyFile={self.tls[1]}"]
               if self.tls else [])], self.folder / "victoria-metrics.log",
            lambda: _status(self.url + "/health", self._context()) == 200,
            "victoria-metrics did not answer /health", timeout)
        return self

    def flush(self) -> None:
        """Make every accepted sample searchable now (VictoriaMetrics' own test hook)."""
        with urllib.request.urlopen(self.url + "/internal/force_flush", timeout=30,
                                    context=self._context()) as answer:
            answer.read()

    def _context(self):
        import ssl
        return ssl.create_default_context(cafile=str(self.tls[0])) if self.tls else None

    def stop(self) -> None:
        """Stop the victoria-metrics this helper started."""
        terminate(self.proc)
        self.proc = None


VMAUTH = shutil.which("vmauth") or "/usr/bin/vmauth"


class VmAuthServer:
    """VictoriaMetrics' ``vmauth`` (from the same Debian package) in front of ``upstream``,
    letting in requests that carry ``token`` (``Authorization: Bearer`` or ``Token``)."""

    def __init__(self, folder: Path, upstream: str, token: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.proc: subprocess.Popen | None = None
        (self.folder / "auth.yml").write_text(
            f'users:\n- bearer_token: "{token}"\n  url_prefix: "{upstream}"\n')

    @property
    def store_url(self) -> str:
        """The product's store URL through this proxy."""
        return f"victoriametrics://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> "VmAuthServer":
        """Start vmauth and wait until its port answers."""
        self.proc = launch(
            [VMAUTH, f"-auth.config={self.folder / 'auth.yml'}",
             f"-httpListenAddr=127.0.0.1:{self.port}", "-loggerLevel=ERROR"],
            self.folder / "vmauth.log",
            lambda: socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
            is None, "vmauth did not listen", timeout)
        return self

    def stop(self) -> None:
        """Stop the vmauth this helper started."""
        terminate(self.proc)
        self.proc = None


def free_tcp_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _snmp_answers(port: int, community: str, deadline: float) -> bool:
    """Whether an agent on ``port`` answers a GET of sysObjectID before ``deadline``."""
    return answers(port, community, deadline - time.monotonic())


class _Process:
    """A child process we started, stopped by its PID."""

    proc: subprocess.Popen | None = None
    log: Path

    def stop(self) -> None:
        if self.proc is None:
            return
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def _started(self, port: int, community: str, seconds: float) -> None:
        if not _snmp_answers(port, community, time.monotonic() + seconds):
            self.stop()
            raise RuntimeError(f"agent did not answer on 127.0.0.1:{port}; see {self.log}")


class SnmpSimServer(_Process):
    """snmpsim serving every recording of ``data_dirs`` (community = file name)."""

    def __init__(self, folder: Path, data_dirs: list[Path], probe_community: str) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_udp_port()
        self.data_dirs = data_dirs
        self.probe = probe_community
        self.log = self.folder / "snmpsim.log"

    def start(self) -> "SnmpSimServer":
        command = [shutil.which("snmpsim-command-responder") or "snmpsim-command-responder",
                   f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
                   f"--cache-dir={self.folder / 'cache'}",
                   f"--logging-method=file:{self.log}"]
        command += [f"--data-dir={d}" for d in self.data_dirs]
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
        self.proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self._started(self.port, self.probe, 120)
        return self


SNMPD = shutil.which("snmpd") or "/usr/sbin/snmpd"


class SnmpdServer(_Process):
    """net-snmp's snmpd with a v2c community and v3 users, on its own port and folder."""

    COMMUNITY = "infra-ledger-test"
    USERS = {  # name: (auth protocol, auth passphrase, priv protocol, priv passphrase)
        "md5des": ("MD5", "auth-pass-md5", "DES", "priv-pass-des"),
        "shaaes": ("SHA", "auth-pass-sha1", "AES", "priv-pass-aes128"),
        "sha256aes": ("SHA-256", "auth-pass-sha256", "AES", "priv-pass-aes256x"),
        "sha512aes": ("SHA-512", "auth-pass-sha512", "AES", "priv-pass-sha512x"),
        "sha256aes256": ("SHA-256", "auth-pass-sha256b", "AES-256", "priv-pass-aes256b"),
        "sha1aes192": ("SHA", "auth-pass-sha1c", "AES-192", "priv-pass-aes192c"),
        "authonly": ("SHA", "auth-only-pass", None, None),
    }

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_udp_port()
        self.log = self.folder / "snmpd.log"
        lines = [f"agentAddress udp:127.0.0.1:{self.port}",
                 f"rocommunity {self.COMMUNITY} 127.0.0.1",
                 "sysLocation infra-ledger test rack", "sysContact tests@localhost",
                 "sysName snmpd-test"]
        for name, (auth, auth_key, priv, priv_key) in self.USERS.items():
            lines.append(f"createUser {name} {auth} {auth_key}"
                         + (f" {priv} {priv_key}" if priv else ""))
            lines.append(f"rouser {name} {'priv' if priv else 'auth'}")
        (self.folder / "snmpd.conf").write_text("\n".join(lines) + "\n")

    def start(self) -> "SnmpdServer":
        command = [SNMPD, "-f", "-C", "-c", str(self.folder / "snmpd.conf"), "-Lf",
                   str(self.log), "-p", str(self.folder / "snmpd.pid"),
                   f"--persistentDir={self.folder / 'persist'}", "-M", "/dev/null"]
        self.proc = subprocess.Popen(command, stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
        self._started(self.port, self.COMMUNITY, 30)
        return self


NODE_EXPORTER = shutil.which("prometheus-node-exporter") or "/usr/bin/prometheus-node-exporter"


class NodeExporterServer(_Process):
    """Debian's prometheus-node-exporter on a free loopback port."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        self.log = self.folder / "node_exporter.log"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/metrics"

    def start(self) -> "NodeExporterServer":
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen([NODE_EXPORTER,
                                          f"--web.listen-address=127.0.0.1:{self.port}"],
                                         stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(self.url, timeout=1).read()
                return self
            except OSError:
                time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"node_exporter did not answer; see {self.log}")


def _fixed_port() -> int:
    """A free port below the ephemeral range: while the proxy is cut, a client connecting to
    an ephemeral port can be handed that very port as its source and connect to itself,
    which would keep the proxy from listening there again."""
    import random
    low = int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    for _ in range(200):
        port = random.randrange(10000, low)
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    raise RuntimeError("no free port below the ephemeral range")


class TcpProxy:
    """A loopback TCP proxy in the test process: cut it to sever a zone from the center
    (every connection closed, new ones refused), restore it to mend the link."""

    def __init__(self, upstream_port: int) -> None:
        self.upstream = upstream_port
        self.port = _fixed_port()
        self._listener: socket.socket | None = None
        self._sockets: set[socket.socket] = set()
        self._lock = threading.Lock()

    @property
    def address(self) -> str:
        """host:port of the proxy."""
        return f"127.0.0.1:{self.port}"

    def start(self) -> "TcpProxy":
        """Listen (again) and forward every connection to the upstream port."""
        listener = socket.socket()
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind(("127.0.0.1", self.port))
            listener.listen(64)
        except OSError:
            listener.close()
            raise
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return self

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return   # cut
            try:
                upstream = socket.create_connection(("127.0.0.1", self.upstream), timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets |= {client, upstream}
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (source, sink):
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            # Each socket is read by one pump, which closes it when done.
            with self._lock:
                self._sockets.discard(source)
            source.close()

    def cut(self) -> None:
        """Close the listener and every open connection."""
        if self._listener is not None:
            # shutdown wakes the thread blocked in accept(); close alone would leave the
            # socket listening until that call returns.
            try:
                self._listener.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            self._listener.close()
            self._listener = None
        with self._lock:
            sockets = list(self._sockets)
        for sock in sockets:   # their pumps see the end and close them
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
