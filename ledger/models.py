"""Ledger tables (SQLAlchemy 2 declarative). Change only together with a migration.

- ``observed_asset``: what collectors saw, one row per (source, natural key), with
  identity keys in their own indexed columns and first/last seen.
- ``target_state``: the last poll of every target and its running counters, written
  by the scheduler and read by the web tier (which never polls).
- ``runtime_stat``: gauges and counters of the scheduler process (store writer
  queue, write latency) for ``/metrics`` in a separate web process.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, DateTime, Float, Index, Integer, String, Text,
                        TypeDecorator, UniqueConstraint)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

UTC = dt.timezone.utc


class UTCDateTime(TypeDecorator):
    """A timezone-aware UTC datetime on every backend (SQLite stores it naive)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetimes are not stored; use an aware UTC datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: dt.datetime | None, dialect) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    """Declarative base of every ledger table."""

    type_annotation_map = {dict[str, Any]: JSON, list[str]: JSON}


class ObservedAsset(Base):
    """An asset as one source (target) observed it."""

    __tablename__ = "observed_asset"
    __table_args__ = (
        UniqueConstraint("source", "natural_key", name="uq_observed_asset_source_key"),
        Index("ix_observed_asset_serial", "serial_number"),
        Index("ix_observed_asset_instance_uuid", "instance_uuid"),
        Index("ix_observed_asset_machine_uuid", "machine_uuid"),
        Index("ix_observed_asset_mac", "mac"),
        Index("ix_observed_asset_mgmt_ip", "mgmt_ip"),
        Index("ix_observed_asset_hostname", "hostname"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(128))
    collector: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(32))
    natural_key: Mapped[str] = mapped_column(String(255))
    serial_number: Mapped[str | None] = mapped_column(String(128))
    vendor: Mapped[str | None] = mapped_column(String(128))
    model: Mapped[str | None] = mapped_column(String(255))
    instance_uuid: Mapped[str | None] = mapped_column(String(64))
    machine_uuid: Mapped[str | None] = mapped_column(String(64))
    mac: Mapped[str | None] = mapped_column(String(32))
    macs: Mapped[list[str]] = mapped_column(default=list)
    mgmt_ip: Mapped[str | None] = mapped_column(String(64))
    hostname: Mapped[str | None] = mapped_column(String(255))
    department: Mapped[str | None] = mapped_column(String(128))
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class TargetState(Base):
    """The latest poll of one target and its running totals."""

    __tablename__ = "target_state"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    status: Mapped[str | None] = mapped_column(String(16))
    up: Mapped[bool | None] = mapped_column(Boolean)
    last_poll: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_success: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    duration_seconds: Mapped[float | None] = mapped_column(Float)
    last_error: Mapped[str | None] = mapped_column(Text)
    polls_total: Mapped[int] = mapped_column(BigInteger, default=0)
    failures_total: Mapped[int] = mapped_column(BigInteger, default=0)
    samples_total: Mapped[int] = mapped_column(BigInteger, default=0)
    duration_seconds_total: Mapped[float] = mapped_column(Float, default=0.0)
    interval_seconds: Mapped[float | None] = mapped_column(Float)


class RuntimeStat(Base):
    """One named figure of the scheduler process, for /metrics in the web tier."""

    __tablename__ = "runtime_stat"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    value: Mapped[float] = mapped_column(Float)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
