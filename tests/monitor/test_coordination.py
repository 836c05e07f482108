"""Rendezvous hashing, and leases and slot claims on a real PostgreSQL."""

from __future__ import annotations

import datetime as dt
import threading
import time

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.dialects.postgresql import insert

from monitor.config import TargetConfig
from monitor.coordination import hashing
from monitor.coordination.leases import LeaseAssignment, members_table

TARGETS = [f"sw-{i}" for i in range(2000)]


def owners(members):
    return {t: hashing.owner(t, members) for t in TARGETS}


def test_a_leaving_member_moves_only_its_targets():
    before = owners(["a", "b", "c"])
    after = owners(["a", "c"])
    moved = {t for t in TARGETS if before[t] != after[t]}
    assert moved == {t for t in TARGETS if before[t] == "b"}


def test_a_joining_member_takes_its_share_and_nothing_else_moves():
    before = owners(["a", "b", "c"])
    after = owners(["a", "b", "c", "d"])
    moved = {t for t in TARGETS if before[t] != after[t]}
    assert all(after[t] == "d" for t in moved)
    assert 0.2 < len(moved) / len(TARGETS) < 0.3          # about 1/4
    shares = [list(after.values()).count(m) for m in "abcd"]
    assert min(shares) > 0.2 * len(TARGETS)


def test_owners_do_not_depend_on_other_targets_or_member_order():
    assert hashing.owner("sw-1", ["a", "b", "c"]) == hashing.owner("sw-1", ["c", "a", "b"])
    assert hashing.owner("x", []) is None
    assert 0 <= hashing.phase("sw-1", 15) < 15
    assert hashing.phase("sw-1", 15) == hashing.phase("sw-1", 15)


def cut_off(member):
    """The member loses its coordination database (a port nothing listens on)."""
    member.engine.dispose()
    member.engine = create_engine("postgresql+psycopg://postgres@127.0.0.1:1/none",
                                  connect_args={"connect_timeout": 1})


def target(name, interval=10.0):
    return TargetConfig(name, "host", interval, 5.0, 0.0, {}, {}, "east")


@pytest.fixture
def members(pg_url):
    made = []

    def make(name, lease=3.0, **options):
        member = LeaseAssignment(pg_url, "east", name, "host", lease_seconds=lease, **options)
        made.append(member)
        return member
    yield make
    for member in made:
        member._stop.set()
        member.engine.dispose()


def test_members_share_targets_and_each_slot_is_claimed_once(members):
    a = members("a")
    a.join()
    assert a.members == ("a",) and a.owned_count(TARGETS) == len(TARGETS)
    b = members("b")
    b.join()
    a.renew()
    assert a.members == b.members == ("a", "b")
    assert not b.confirmed                             # b has not yet seen a see it
    assert a.owned_count(TARGETS) + b.owned_count(TARGETS) == len(TARGETS)
    now = time.time()
    for name in TARGETS[:50]:
        t = target(name)
        owner = a if a.owns(name) else b
        assert owner.claim(t, now)
        assert not owner.claim(t, now)                 # the same slot again: refused
        assert owner.claim(t, now + t.interval)        # the next slot
    # While b has not yet seen a joiner c, both may think they own a target: the claim
    # of the slot decides, once.
    c = members("c")
    c.join()
    moved = [n for n in TARGETS if c.owns(n) and b.owns(n)]
    assert moved
    t = target(moved[0])
    results = [b.claim(t, now + 100), c.claim(t, now + 100)]
    assert sorted(results) == [False, True]


def test_a_stopped_member_hands_over_at_once_and_a_killed_one_within_a_lease(members):
    a, b, c = members("a"), members("b"), members("c")
    for m in (a, b, c):
        m.join()
    a.renew()
    assert a.members == ("a", "b", "c")
    c.leave()                                          # stopped cleanly
    a.renew()
    assert a.members == ("a", "b")
    b._stop.set()                                      # killed: no renewal, no goodbye
    started = time.monotonic()
    while "b" in a.members:
        a.renew()
        time.sleep(0.1)
        assert time.monotonic() - started < 3.0        # one lease period
    assert a.owned_count(TARGETS) == len(TARGETS)


def test_without_the_database_a_member_polls_only_while_its_lease_surely_holds(members):
    now = [1000.0]
    a = members("a", lease=8.0, monotonic=lambda: now[0])
    a.join()
    cut_off(a)
    t = target("sw-1")
    a.renew()                                          # fails: the lease is not extended
    assert a.claim(t, time.time())                     # still well inside the lease
    now[0] += 4.1                                      # past half a lease: stop polling
    assert not a.claim(t, time.time())


def test_a_joiner_waits_until_everyone_has_seen_it(members):
    """A member cut off from the database polls by the membership it last saw, without
    claims; a member joining meanwhile polls nothing until the cut-off member's lease has
    expired, so no target is polled by both. With everyone healthy it starts as soon as
    the others have renewed."""
    a = members("a", lease=3.0)
    a.join()
    a._stop.set()                                      # no background renewals in this test
    a._thread.join(5)
    cut_off(a)
    b = members("b", lease=3.0)
    b.join()
    b._stop.set()
    b._thread.join(5)
    assert b.members == ("a", "b")
    now = time.time()
    polled_by_a = {n for n in TARGETS[:200] if a.claim(target(n), now)}
    assert polled_by_a == set(TARGETS[:200])           # a still holds its lease, sees only a
    assert not any(b.claim(target(n), now) for n in TARGETS[:200])
    time.sleep(2.5)                                    # a's lease expires (0.75 x 3 s)
    assert not any(a.claim(target(n), now + 10) for n in TARGETS[:200])
    b.renew()
    assert b.members == ("b",)
    assert all(b.claim(target(n), now + 10) for n in TARGETS[:200])
    # Healthy: c joins, b renews (sees c), then c polls its share at once.
    c = members("c", lease=3.0)
    c.join()
    mine = [n for n in TARGETS[:200] if c.owns(n)]
    assert mine and not c.claim(target(mine[0]), now + 20)
    b.renew()
    assert all(c.claim(target(n), now + 20) for n in mine)
    assert c.confirmed


def test_a_member_back_after_its_lease_expired_waits_like_a_joiner(members):
    """A member whose lease expired while it could not reach the database has left the
    zone: the others took its targets. When it comes back it is a joiner again, and must
    poll nothing until everyone has seen it; else a member now cut off from the database,
    polling by the membership it last saw (without the returning one), polls the same
    targets without claims."""
    a = members("a", lease=3.0)
    a.join()
    a._stop.set()                                      # no background renewals
    a._thread.join(5)
    b = members("b", lease=3.0)
    b.join()
    b._stop.set()
    b._thread.join(5)
    a.renew()
    b.renew()
    assert a.members == b.members == ("a", "b") and a.confirmed and b.confirmed
    time.sleep(2.5)                                    # a renews nothing: its lease expires
    b.renew()
    assert b.members == ("b",)                         # b took over a's targets
    # Now b is cut off from the database: it polls every target by its last view.
    cut_off(b)
    now = time.time()
    names = TARGETS[:100]
    polled_by_b = {n for n in names if b.claim(target(n), now)}
    assert polled_by_b == set(names)
    a.renew()                                          # a reaches the database again
    assert a.members == ("a", "b")
    polled_by_a = {n for n in names if a.claim(target(n), now)}
    assert not polled_by_a & polled_by_b, "polled twice in the same slot"


def test_a_renewal_that_did_not_see_the_joiner_does_not_confirm_it(members, pg_url):
    """A member's renewal whose transaction started after a joiner's but read the members
    before the joiner's row was committed has not seen the joiner, yet its ``renewed_at``
    (the start of its transaction) is later than the joiner's ``joined_at``: the joiner
    takes that as "everyone has seen me" and polls while that member, cut off from the
    database now, polls the joiner's share by its view without the joiner."""
    b = members("b", lease=6.0)
    b.join()
    b._stop.set()
    b._thread.join(5)
    a = members("a", lease=6.0)
    # Hold both renewals at their cleanup step (a long-expired member row of another zone,
    # locked) so that b's renewal starts after a's join and reads before a's commit.
    blocker = create_engine(pg_url)
    with blocker.begin() as conn:
        conn.execute(text("INSERT INTO coord_member (zone, member, hostname, joined_at, "
                          "expires_at) VALUES ('west', 'old', 'h', now() - interval '3 days', "
                          "now() - interval '2 days')"))
    hold = blocker.connect()
    hold.execute(text("SELECT * FROM coord_member WHERE zone = 'west' FOR UPDATE"))
    joining = threading.Thread(target=a.renew, kwargs={"joining": True})
    joining.start()
    time.sleep(0.5)
    renewing = threading.Thread(target=b.renew)
    renewing.start()
    time.sleep(0.5)
    hold.rollback()
    hold.close()
    joining.join(10)
    renewing.join(10)
    blocker.dispose()
    assert b.members == ("b",)                         # b's renewal never saw a
    a.renew()
    assert a.members == ("a", "b")
    # b is cut off from the database now: it polls by the membership it last saw.
    cut_off(b)
    now = time.time()
    names = TARGETS[:100]
    polled_by_b = {n for n in names if b.claim(target(n), now)}
    assert polled_by_b == set(names)
    polled_by_a = {n for n in names if a.claim(target(n), now)}
    assert not polled_by_a & polled_by_b, "polled twice in the same slot"


class OldRelease(LeaseAssignment):
    """A member of the release before renewals were recorded: it renews its lease without
    ``renewed_at`` and polls its share at once."""

    def renew(self, joining: bool = False) -> None:
        m = members_table.c
        lease = dt.timedelta(seconds=self.lease * 0.75)
        with self.engine.begin() as conn:
            now = conn.execute(select(func.now())).scalar_one()
            conn.execute(insert(members_table).values(
                zone=self.zone, member=self.member, hostname=self.hostname, joined_at=now,
                expires_at=now + lease).on_conflict_do_update(
                index_elements=["zone", "member"], set_={"expires_at": now + lease}))
            self.members = tuple(sorted(conn.execute(select(m.member).where(
                m.zone == self.zone, m.expires_at > now)).scalars()))
        self.valid_until = self._monotonic() + self.lease * 0.5
        self.confirmed = True


def test_during_a_rolling_upgrade_a_restarted_member_polls_its_share(members, pg_url,
                                                                     tmp_path):
    """Members of a zone are upgraded one at a time: a member running the release before
    renewals were recorded (``renewed_at``) still renews its lease and, seeing the upgraded
    member join, stops polling that member's share. The upgraded member must then poll it:
    every target is polled by someone."""
    a = OldRelease(pg_url, "east", "a", "host", lease_seconds=3.0)
    a.join()
    try:
        b = members("b", lease=3.0)
        b.join()                                        # upgraded, restarted
        a.renew()                                       # the old member sees b
        b.renew()
        assert a.members == b.members == ("a", "b")
        now = time.time()
        names = TARGETS[:100]
        unpolled = [n for n in names
                    if not (a.claim(target(n), now) or b.claim(target(n), now))]
        assert not unpolled, f"{len(unpolled)} targets polled by nobody"
    finally:
        a._stop.set()
        a.engine.dispose()
