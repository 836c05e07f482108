"""Tables of alert state, history, silences, notification groups and the outbox.

Change only together with a migration (``ledger/migrations/versions/0005_alerts.py``).
The ledger keeps these tables; the ``alerts`` package (above the ledger) fills and reads
them, so a restart finds every pending and firing alert, every group's last notification
and every message still to deliver.

- ``alert``: one row per alert instance (rule + labels), its state (pending, firing,
  resolved), when it became active, fired and resolved, its value and what mutes it.
- ``alert_event``: each state change of an alert (its history page).
- ``alert_silence``: silences (matchers, start, end, author, comment), as Alertmanager has.
- ``alert_group``: per receiver and group key, the notification log: when the group was
  created, when it is next flushed, what was last notified and when.
- ``alert_outbox``: every notification to deliver, one row per integration, with its
  delivery state (pending, sending, written, sent, failed, merged), attempts and reason.
"""

from __future__ import annotations

from sqlalchemy import (JSON, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table,
                        Text)

from ledger.models import Base, UTCDateTime

alert = Table(
    "alert", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("rule", String(128), nullable=False),
    Column("kind", String(32), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("state", String(16), nullable=False),           # pending | firing | resolved
    Column("labels", JSON, nullable=False),
    Column("annotations", JSON, nullable=False),            # summary_zh, summary_en, ...
    Column("value", Float),
    Column("department", String(128)),                      # department code label, if any
    Column("department_id", Integer),                       # census department (scope)
    Column("data_center", String(128)),
    Column("active_at", UTCDateTime, nullable=False),       # condition true since
    Column("fired_at", UTCDateTime),
    Column("resolved_at", UTCDateTime),
    Column("last_eval_at", UTCDateTime, nullable=False),
    Column("muted_by", String(255)),                        # silence:ID | maintenance:N | ...
    Index("ix_alert_state", "state"),
    Index("ix_alert_rule", "rule"),
    Index("ix_alert_department_id", "department_id"),
)

alert_event = Table(
    "alert_event", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("alert_id", Integer, ForeignKey("alert.id", ondelete="CASCADE"), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("state", String(16), nullable=False),
    Column("value", Float),
    Column("note", Text),
    Index("ix_alert_event_alert", "alert_id", "at"),
)

alert_silence = Table(
    "alert_silence", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("matchers", JSON, nullable=False),               # ["severity=\"critical\"", ...]
    Column("starts_at", UTCDateTime, nullable=False),
    Column("ends_at", UTCDateTime, nullable=False),
    Column("created_by", String(255), nullable=False),
    Column("comment", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expired_by", String(255)),
    Column("expired_at", UTCDateTime),
)

alert_group = Table(
    "alert_group", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("key", String(512), nullable=False, unique=True),   # receiver + route + labels
    Column("receiver", String(128), nullable=False),
    Column("labels", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("next_flush_at", UTCDateTime, nullable=False),
    Column("last_notified_at", UTCDateTime),
    Column("notified", JSON, nullable=False),               # fingerprints last notified firing
    Column("flushes", Integer, nullable=False, default=0),
)

alert_outbox = Table(
    "alert_outbox", Base.metadata,
    Column("id", Integer, primary_key=True),
    Column("dedup_key", String(600), nullable=False, unique=True),
    Column("receiver", String(128), nullable=False),
    Column("integration", String(160), nullable=False),     # receiver/kind[index]
    Column("group_key", String(512), nullable=False),
    Column("status", String(16), nullable=False),
    Column("payload", JSON, nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("last_error", Text),
    Column("merged_into", Integer),
    Column("created_at", UTCDateTime, nullable=False),
    Column("sent_at", UTCDateTime),
    Column("confirmed", Boolean),                           # receiver answered (False: unknown)
    Index("ix_alert_outbox_status", "status", "next_attempt_at"),
    Index("ix_alert_outbox_integration", "integration", "sent_at"),
)

__all__ = ["alert", "alert_event", "alert_silence", "alert_group", "alert_outbox"]
