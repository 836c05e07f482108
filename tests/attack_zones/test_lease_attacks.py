"""Attack tests of zone leases and slot claims (monitor/coordination/leases.py) on a real
PostgreSQL. Each case came from an attack on zones and holds the fixed behaviour; the
test docstrings describe the attack."""

from __future__ import annotations

import socket
import threading
import time

from sqlalchemy import create_engine

from tests.monitor.test_coordination import members, target  # noqa: F401

TARGETS = [f"sw-{i}" for i in range(200)]


class Blackhole:
    """A TCP port that accepts connections and answers nothing for ``hold`` seconds (a
    coordination database behind a link that drops packets, or a hung server)."""

    def __init__(self, hold: float) -> None:
        self.hold = hold
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)
            threading.Timer(self.hold, conn.close).start()

    def close(self) -> None:
        self.sock.close()


def test_a_hung_coordination_database_does_not_let_a_member_poll_past_its_lease(members):
    """claim() checks the lease BEFORE its database call; when the call hangs longer than
    the lease and then fails, it returns `confirmed` (True) and the member polls a slot of
    a target that another member has meanwhile taken over: the same slot polled twice."""
    a = members("a", lease=3.0)
    a.join()
    a._stop.set()                       # no background renewals: a is the one cut off
    a._thread.join(5)
    b = members("b", lease=3.0)
    b.join()
    a.renew()
    b.renew()
    assert a.confirmed and b.confirmed
    name = next(n for n in TARGETS if a.owns(n))
    t = target(name)
    hole = Blackhole(hold=6.0)           # longer than a's lease (3 s)
    a.engine.dispose()
    a.engine = create_engine(f"postgresql+psycopg://postgres@127.0.0.1:{hole.port}/none")
    now = time.time()
    started = time.monotonic()
    results = {}

    def a_claims():
        results["a"] = a.claim(t, now)
        results["a_seconds"] = time.monotonic() - started

    thread = threading.Thread(target=a_claims)
    thread.start()
    time.sleep(3.5)                      # a's lease has expired in the database
    b.renew()                            # b sees a gone and owns everything
    assert b.members == ("b",)
    results["b"] = b.claim(t, now)       # b polls the same slot
    thread.join(20)
    hole.close()
    assert not (results["a"] and results["b"]), results


def test_a_member_that_polls_nothing_does_not_report_its_targets_as_owned(members):
    """Cut off from the coordination database past its lease, a member claims nothing, but
    owned_count (the targets_owned the center's /zones page shows) still counts its share."""
    clock = [1000.0]
    a = members("a", lease=4.0, monotonic=lambda: clock[0])
    a.join()
    a._stop.set()
    a._thread.join(5)
    a.engine.dispose()
    a.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none",
                             connect_args={"connect_timeout": 1})
    clock[0] += 60
    polled = sum(a.claim(target(n), time.time()) for n in TARGETS[:20])
    assert polled == 0
    assert a.owned_count(TARGETS) == 0, a.owned_count(TARGETS)


