"""Membership as leases in the zone's PostgreSQL, and one claim per target and slot.

Each scheduler of a zone is a member: a row in ``coord_member`` whose ``expires_at``
it pushes forward every quarter lease (``now() + 3/4 lease``, the database's clock,
so members' clocks do not matter). The live members are the rows not yet expired;
every member reads them at each renewal and assigns targets by rendezvous hashing
over them (:mod:`monitor.coordination.hashing`). A member stopped cleanly deletes its
row, so its targets move at the others' next renewal; a killed one's row expires, so
its targets move within one lease period.

Fencing: a target's polls fall on slots shared by all members (``k * interval +
phase``). Before polling slot ``k`` a member inserts ``(zone, target, k)`` into
``coord_slot``; the primary key lets exactly one insert succeed, so while two members
disagree about the membership (one has not yet seen a joiner) a slot is still polled
once. A member that cannot reach the database polls its own share only while its
lease, as last renewed, is certainly still valid (a margin before the database would
expire it), so nobody else can yet have taken its targets; then it stops polling.

Joining: such a member polls without claims, by the membership it last saw. So a joiner
(or a member back after its lease ran out) polls nothing until every other live member
has renewed since it joined (and so has seen it, and stops polling the joiner's share):
until then each of its claims also asks the database, in the claim's transaction, whether
anyone has not. A renewal records the time just before it reads the members, a join the
time just after its row is committed, so "renewed since" means "has seen". Members of an
earlier release record no renewals and are not waited for (as before the rule existed). A healthy zone renews every
quarter lease, so a joiner starts within a quarter lease and no slot goes unpolled (the
old owner polls, with claims, until it renews); a member cut off from the database holds
the joiner back until its lease has expired, so a target is never polled twice.

The tables live in the coordination database (the zone's own PostgreSQL, or the
ledger's database for the central zone) and are created there if missing.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
import time
from typing import Callable

from sqlalchemy import (BigInteger, Column, DateTime, Index, MetaData, String, Table,
                        create_engine, delete, func, make_url, select, text)
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.exc import SQLAlchemyError

from monitor.config import TargetConfig
from monitor.coordination import hashing

_LOGGER = logging.getLogger(__name__)
UTC = dt.timezone.utc
#: Claims of slots older than this are deleted at renewals (they can no longer collide).
SLOT_KEEP_SECONDS = 3600

metadata = MetaData()
members_table = Table(
    "coord_member", metadata,
    Column("zone", String(64), primary_key=True),
    Column("member", String(128), primary_key=True),
    Column("hostname", String(255), nullable=False),
    Column("joined_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    #: The last renewal (the database's clock): who has seen whom join.
    Column("renewed_at", DateTime(timezone=True), nullable=True))
slots_table = Table(
    "coord_slot", metadata,
    Column("zone", String(64), primary_key=True),
    Column("target", String(128), primary_key=True),
    Column("slot", BigInteger, primary_key=True),
    Column("member", String(128), nullable=False),
    Column("claimed_at", DateTime(timezone=True), nullable=False),
    Index("ix_coord_slot_claimed_at", "claimed_at"))


def _timeouts(url: str, lease_seconds: float) -> dict:
    """Connection options that keep a call to a hung or unreachable coordination database
    within a fraction of the lease (a member must not act on a lease that ran out while
    it waited)."""
    if make_url(url).get_backend_name() != "postgresql":
        return {}
    seconds = max(1, int(lease_seconds / 3))
    return {"connect_timeout": seconds,
            "options": f"-c statement_timeout={seconds * 1000} -c lock_timeout={seconds * 1000}"}


class LeaseAssignment:
    """Decides, for this member, which target slots to poll (the Monitor's assignment)."""

    def __init__(self, url: str, zone: str, member: str, hostname: str, *,
                 lease_seconds: float = 15.0,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.zone, self.member, self.hostname = zone, member, hostname
        self.lease = lease_seconds
        self.engine = create_engine(url, pool_pre_ping=True, pool_size=4, max_overflow=8,
                                    connect_args=_timeouts(url, lease_seconds))
        self._monotonic = monotonic
        self.members: tuple[str, ...] = ()
        self.valid_until = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._failing = False
        self.changes = 0   # how often the live membership changed, for logs and tests
        self.joined_at: dt.datetime | None = None
        #: Every other live member has renewed since this one joined (it may poll).
        self.confirmed = False
        self._join_pending = False   # the join time is still to be recorded

    # -- membership ------------------------------------------------------------------------------

    def join(self) -> None:
        """Create the tables if missing, take a lease and start renewing it."""
        with self.engine.begin() as conn:
            # Two members starting together must not both try to create the tables.
            conn.execute(text("SELECT pg_advisory_xact_lock(727361)"))
            metadata.create_all(conn)
            # Tables made before renewals were recorded.
            conn.execute(text("ALTER TABLE coord_member ADD COLUMN IF NOT EXISTS renewed_at "
                              "TIMESTAMP WITH TIME ZONE"))
        self.renew(joining=True)
        self._thread = threading.Thread(target=self._loop, name="lease", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.lease / 4):
            self.renew()

    def renew(self, joining: bool = False) -> None:
        """Push this member's lease forward and read the live members (``joining``: this
        member starts; so does one whose lease ran out meanwhile)."""
        started = self._monotonic()
        lease = dt.timedelta(seconds=self.lease * 0.75)
        m = members_table.c
        try:
            with self.engine.begin() as conn:
                now = conn.execute(select(func.now())).scalar_one()
                mine = conn.execute(select(m.expires_at).where(
                    m.zone == self.zone, m.member == self.member)).scalar()
                joining = joining or self._join_pending or mine is None or mine <= now
                conn.execute(insert(members_table).values(
                    zone=self.zone, member=self.member, hostname=self.hostname, joined_at=now,
                    expires_at=now + lease).on_conflict_do_update(
                    index_elements=["zone", "member"], set_={"expires_at": now + lease}))
                # Taken before the members are read (each statement reads what was committed
                # when it began): a renewal at or after a join has seen that member.
                seen_at = conn.execute(select(func.clock_timestamp())).scalar_one()
                rows = conn.execute(select(m.member, m.renewed_at).where(
                    m.zone == self.zone, m.expires_at > now)).all()
                conn.execute(members_table.update().where(
                    m.zone == self.zone, m.member == self.member).values(renewed_at=seen_at))
                conn.execute(delete(members_table).where(
                    members_table.c.expires_at < now - dt.timedelta(days=1)))
                conn.execute(delete(slots_table).where(
                    slots_table.c.claimed_at < now - dt.timedelta(seconds=SLOT_KEEP_SECONDS)))
            if joining:
                # Joined once the row is visible to all: after the commit above. Until that
                # is recorded this member is unconfirmed, and a failure retries the join.
                self.confirmed, self._join_pending = False, True
                with self.engine.begin() as conn:
                    self.joined_at = conn.execute(members_table.update().where(
                        m.zone == self.zone, m.member == self.member).values(
                        joined_at=func.clock_timestamp()).returning(m.joined_at)).scalar_one()
                self._join_pending = False
        except SQLAlchemyError as exc:
            if not self._failing:
                _LOGGER.warning("Cannot renew the lease of %s in zone %s: %s; polling its "
                                "share until the lease runs out", self.member, self.zone, exc)
            self._failing = True
            return
        if self._failing:
            _LOGGER.info("Lease of %s renewed again", self.member)
        self._failing = False
        live = tuple(sorted(member for member, _renewed in rows))
        if joining:   # nobody can have seen it yet, unless nobody else is there
            self.confirmed = not any(renewed is not None for member, renewed in rows
                                     if member != self.member)
        elif not self.confirmed:
            self.confirmed = all(renewed is None or renewed >= self.joined_at
                                 for member, renewed in rows if member != self.member)
        # Stop trusting the lease a quarter lease before the database lets it expire.
        self.valid_until = started + self.lease * 0.5
        if live != self.members:
            self.changes += 1
            _LOGGER.info("Zone %s members: %s", self.zone, ", ".join(live))
        self.members = live

    def leave(self) -> None:
        """Stop renewing and give the lease back, so the others take over at once."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(10)
        try:
            with self.engine.begin() as conn:
                conn.execute(delete(members_table).where(members_table.c.zone == self.zone,
                                                         members_table.c.member == self.member))
        except SQLAlchemyError as exc:
            _LOGGER.warning("Could not give back the lease of %s: %s", self.member, exc)
        self.engine.dispose()

    # -- assignment ------------------------------------------------------------------------------

    def owns(self, name: str) -> bool:
        """Whether rendezvous hashing over the live members gives ``name`` to this member."""
        return hashing.owner(name, self.members) == self.member

    def owned_count(self, names) -> int:
        """How many of ``names`` this member owns now (none once its lease ran out: cut off
        from the coordination database, it polls nothing)."""
        if self._monotonic() >= self.valid_until:
            return 0
        return sum(1 for name in names if self.owns(name))

    def first_slot(self, target: TargetConfig) -> dt.datetime:
        """The start of the target's slots (its phase after the epoch)."""
        return dt.datetime.fromtimestamp(hashing.phase(target.name, target.interval), UTC)

    def slot(self, target: TargetConfig, now: float) -> int:
        """The number of the slot that ``now`` falls in (rounded, so a late firing counts)."""
        return round((now - hashing.phase(target.name, target.interval)) / target.interval)

    def claim(self, target: TargetConfig, now: float) -> bool:
        """Whether this member polls the target's slot at ``now``: it owns the target and
        won the slot's claim (or, with the database unreachable, still holds its lease)."""
        if not self.owns(target.name):
            return False
        if self._monotonic() >= self.valid_until:
            return False
        slot = self.slot(target, now)
        try:
            with self.engine.begin() as conn:
                if not self.confirmed:
                    if self._unseen_by(conn):
                        return False   # someone may still poll this share by an old view
                    self.confirmed = True
                won = conn.execute(insert(slots_table).values(
                    zone=self.zone, target=target.name, slot=slot, member=self.member,
                    claimed_at=func.now()).on_conflict_do_nothing().returning(
                    slots_table.c.slot)).first()
        except SQLAlchemyError:
            # While the lease is still valid nobody else may own this target yet (unless
            # this member has just joined and not everyone has seen it). The call may have
            # hung past the lease: judged again now, never by the time it was made.
            return self.confirmed and self._monotonic() < self.valid_until
        return won is not None

    def _unseen_by(self, conn) -> bool:
        """Whether a live member has not renewed since this one joined (a member of an
        earlier release records no renewals: it is not waited for, as before)."""
        m = members_table.c
        return conn.execute(select(func.count()).select_from(members_table).where(
            m.zone == self.zone, m.member != self.member, m.expires_at > func.now(),
            m.renewed_at < self.joined_at)).scalar_one() > 0
