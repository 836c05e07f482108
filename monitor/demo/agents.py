"""The demo's SNMP agents: one snmpsim process on a loopback UDP port serving the
recordings of :mod:`monitor.demo.recordings`.

snmpsim is started as a child process of the demo and stopped by its PID (never by name);
its log and cache stay in the demo's data directory.
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from monitor.demo.recordings import DEVICES, write_recordings

_LOGGER = logging.getLogger(__name__)
RESPONDER = "snmpsim.commands.responder"
#: The GET a probe sends: sysObjectID.0.
_PROBE_OID = (1, 3, 6, 1, 2, 1, 1, 2, 0)


class AgentError(RuntimeError):
    """The agents could not be started."""


def free_udp_port() -> int:
    """A UDP port on 127.0.0.1 that is free right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def answers(port: int, community: str, seconds: float) -> bool:
    """Whether an agent on 127.0.0.1:``port`` answers a GET for ``community`` in time."""
    from collectors.snmp import ber
    request = ber.encode_community_message(
        1, community.encode(), ber.encode_pdu(ber.GET, 1, [_PROBE_OID]))
    deadline = time.monotonic() + seconds
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(0.5)
        while time.monotonic() < deadline:
            try:
                sock.sendto(request, ("127.0.0.1", port))
                sock.recvfrom(65535)
                return True
            except OSError:
                time.sleep(0.2)
    return False


class DemoAgents:
    """snmpsim serving every demo device, one community per device (its recording's name)."""

    def __init__(self, folder: Path, port: int | None = None) -> None:
        self.folder = Path(folder)
        self.port = port or free_udp_port()
        self.log = self.folder / "snmpsim.log"
        self.proc: subprocess.Popen | None = None

    @property
    def communities(self) -> list[str]:
        """The community of each device."""
        return [device.community for device in DEVICES]

    def start(self, seconds: float = 120) -> "DemoAgents":
        """Write the recordings, start snmpsim and wait until it answers."""
        try:
            import snmpsim  # noqa: F401 - only to say clearly when it is missing
        except ImportError:
            raise AgentError("snmpsim is not installed: pip install -r requirements.txt"
                             ) from None
        data = self.folder / "recordings"
        write_recordings(data)
        command = [sys.executable, "-m", RESPONDER, f"--data-dir={data}",
                   f"--agent-udpv4-endpoint=127.0.0.1:{self.port}",
                   f"--cache-dir={self.folder / 'cache'}", f"--logging-method=file:{self.log}"]
        env = {**os.environ, "SNMPSIM_ALLOW_ROOT": "true"}
        self.proc = subprocess.Popen(command, env=env, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        _LOGGER.info("snmpsim (pid %s) serves %s demo devices on 127.0.0.1:%s",
                     self.proc.pid, len(DEVICES), self.port)
        if not answers(self.port, DEVICES[0].community, seconds):
            self.stop()
            raise AgentError(f"snmpsim did not answer on 127.0.0.1:{self.port}; see {self.log}")
        return self

    def stop(self) -> None:
        """Stop snmpsim (the process this object started, by its PID)."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def __enter__(self) -> "DemoAgents":
        return self.start()

    def __exit__(self, *_exc) -> None:
        self.stop()
