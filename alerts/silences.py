"""Silences: matchers, a start, an end, an author and a comment, as Alertmanager keeps them.

A silence mutes every alert its matchers select while ``starts_at <= now < ends_at``; it is
never deleted, only expired early (``expired_at``/``expired_by``), so the list keeps who
silenced what and why. Created from the page, the API or ``monitor alerts silence``.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import Connection, Engine, or_, select, update

from alerts.matchers import Matcher, MatcherError, match_all, parse_matchers
from ledger.alert_tables import alert_silence

UTC = dt.timezone.utc
MAX_COMMENT = 2000


class SilenceError(ValueError):
    """A silence that cannot be made or changed; ``field`` names the bad input."""

    def __init__(self, field: str, reason: str, code: str = "") -> None:
        super().__init__(f"{field}: {reason}")
        #: ``code`` names the kind of problem for pages that word it in their language.
        self.field, self.reason, self.code = field, reason, code


def silences_everything(matchers: tuple[Matcher, ...]) -> bool:
    """Whether ``matchers`` would mute any alert at all: they hold for an alert with no
    labels (Alertmanager refuses such a silence) or for one whose every named label has a
    value nobody could foresee (``alertname=~".+"``)."""
    unforeseen = {m.name: f"z{uuid.uuid4().hex}" for m in matchers}
    return match_all(matchers, {}) or match_all(matchers, unforeseen)


def create(engine: Engine, *, matchers: Any, starts_at: dt.datetime | None,
           ends_at: dt.datetime, created_by: str, comment: Any,
           now: dt.datetime | None = None) -> dict:
    """Make a silence; raises :class:`SilenceError` naming the bad field."""
    now = now or dt.datetime.now(UTC)
    try:
        parsed = parse_matchers(matchers)
    except MatcherError as exc:
        raise SilenceError("matchers", str(exc), f"matcher_{exc.code}") from None
    if not parsed:
        raise SilenceError("matchers", "at least one matcher is required", "matchers_required")
    if silences_everything(parsed):
        raise SilenceError("matchers", "the matchers would silence every alert",
                           "matchers_everything")
    starts_at = starts_at or now
    if ends_at.tzinfo is None or starts_at.tzinfo is None:
        raise SilenceError("ends_at", "times need a time zone")
    if ends_at <= max(starts_at, now):
        raise SilenceError("ends_at", "must be after the start and in the future", "ends_past")
    if comment is not None and not isinstance(comment, str):
        raise SilenceError("comment", "expected text")
    comment = (comment or "").strip()
    if not comment:
        raise SilenceError("comment", "a comment saying why is required", "comment_required")
    if len(comment) > MAX_COMMENT or "\x00" in comment:
        raise SilenceError("comment", f"at most {MAX_COMMENT} characters, no NUL")
    if not created_by:
        raise SilenceError("created_by", "required")
    with engine.begin() as conn:
        new_id = conn.execute(alert_silence.insert().values(
            matchers=[str(m) for m in parsed], starts_at=starts_at, ends_at=ends_at,
            created_by=created_by, comment=comment[:MAX_COMMENT], created_at=now)
        ).inserted_primary_key[0]
        return as_json(conn.execute(select(alert_silence).where(
            alert_silence.c.id == new_id)).mappings().one(), now)


def expire(engine: Engine, silence_id: int, *, actor: str,
           now: dt.datetime | None = None) -> dict | None:
    """End a silence now; None when there is no such silence."""
    now = now or dt.datetime.now(UTC)
    with engine.begin() as conn:
        row = conn.execute(select(alert_silence).where(alert_silence.c.id == silence_id)
                           ).mappings().first()
        if row is None:
            return None
        if row["expired_at"] is None and row["ends_at"] > now:
            conn.execute(update(alert_silence).where(alert_silence.c.id == silence_id)
                         .values(expired_at=now, expired_by=actor,
                                 ends_at=max(now, row["starts_at"])))
        return as_json(conn.execute(select(alert_silence).where(
            alert_silence.c.id == silence_id)).mappings().one(), now)


def active(conn: Connection, now: dt.datetime) -> list[tuple[int, tuple[Matcher, ...]]]:
    """The silences in force at ``now``, as (id, matchers)."""
    rows = conn.execute(select(alert_silence.c.id, alert_silence.c.matchers).where(
        alert_silence.c.starts_at <= now, alert_silence.c.ends_at > now,
        alert_silence.c.expired_at.is_(None))).all()
    out = []
    for id_, matchers in rows:
        try:
            out.append((id_, parse_matchers(matchers)))
        except MatcherError:   # stored before a rule tightened: it mutes nothing now
            continue
    return out


def listing(conn: Connection, now: dt.datetime, *, include_expired: bool = True) -> list[dict]:
    """Every silence, newest first."""
    query = select(alert_silence).order_by(alert_silence.c.id.desc())
    if not include_expired:
        query = query.where(alert_silence.c.ends_at > now,
                            or_(alert_silence.c.expired_at.is_(None)))
    return [as_json(row, now) for row in conn.execute(query).mappings()]


def status(row, now: dt.datetime) -> str:
    """``pending``, ``active`` or ``expired``."""
    if row["expired_at"] is not None or row["ends_at"] <= now:
        return "expired"
    return "pending" if row["starts_at"] > now else "active"


def as_json(row, now: dt.datetime) -> dict:
    """One silence as the API shows it."""
    return {"id": row["id"], "matchers": list(row["matchers"]),
            "starts_at": row["starts_at"].isoformat(), "ends_at": row["ends_at"].isoformat(),
            "created_by": row["created_by"], "comment": row["comment"],
            "created_at": row["created_at"].isoformat(), "status": status(row, now),
            "expired_by": row["expired_by"],
            "expired_at": row["expired_at"].isoformat() if row["expired_at"] else None}
