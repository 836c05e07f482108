"""Ledger tables (SQLAlchemy 2 declarative). Change only together with a migration.

- ``observed_asset``: what collectors saw, one row per (source, natural key), with
  identity keys in their own indexed columns and first/last seen.
- ``target_state``: the last poll of every target and its running counters, written
  by the scheduler and read by the web tier (which never polls).
- ``runtime_stat``: gauges and counters of the scheduler process (store writer
  queue, write latency) for ``/metrics`` in a separate web process.
- ``utilization_day``: one observed resource's daily utilization summary (mean, p95 and
  max of CPU, memory, network and disk, with the share of the day that had samples).
- ``reconcile_pair``: the current outcome of reconciliation per declared and/or observed
  asset (matched, mismatch, undeclared, missing, suspect, conflict), with the key that matched.
- ``finding``: what an analysis found (a pair that is not clean, an idle resource, an
  overdue migration), with its lifecycle (open, acknowledged, resolved) and first/last seen.
- ``analysis_run``: when each analysis last ran, over which scope, and its summary.
- ``reconcile_key``, ``reconcile_row``, ``reconcile_state``: what the last reconciliation
  judged (each row's normalised keys, a digest of what it read of each row and the row's
  time class, the digest of the policy and code books), so the next run recomputes only
  the rows a change can reach (:mod:`ledger.reconcile.scope`).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import (JSON, BigInteger, Boolean, Date, DateTime, Float, ForeignKey, Index,
                        Integer, String, Text, TypeDecorator, UniqueConstraint)
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
    #: The department code as the target's tag or the collector's mapping named it; kept
    #: even when no census department has that code (shown as unknown, never dropped).
    department: Mapped[str | None] = mapped_column(String(128))
    #: The census department that code names (None while unknown).
    department_id: Mapped[int | None] = mapped_column(
        ForeignKey("census_department.id", ondelete="SET NULL"), index=True)
    #: Codes from the target's tags: census data center, cloud platform, dedicated network.
    data_center: Mapped[str | None] = mapped_column(String(128))
    platform: Mapped[str | None] = mapped_column(String(128))
    network: Mapped[str | None] = mapped_column(String(128))
    # Figures every analysis reads, lifted out of ``attributes`` when the fact is recorded
    # so reconciliation and the compute ledger read columns, not a million JSON documents.
    cpu_model: Mapped[str | None] = mapped_column(String(255))
    cpu_sockets: Mapped[int | None] = mapped_column(Integer)
    cpu_cores: Mapped[int | None] = mapped_column(Integer)
    cpu_threads: Mapped[int | None] = mapped_column(Integer)
    vcpus: Mapped[int | None] = mapped_column(Integer)
    memory_bytes: Mapped[int | None] = mapped_column(BigInteger)
    disk_bytes: Mapped[int | None] = mapped_column(BigInteger)
    gpus: Mapped[int | None] = mapped_column(Integer)
    architecture: Mapped[str | None] = mapped_column(String(32))
    power_state: Mapped[str | None] = mapped_column(String(32))
    #: The agent answers for the hardware itself (a BMC seen over SNMP): a physical host.
    hardware: Mapped[bool | None] = mapped_column(Boolean)
    attributes: Mapped[dict[str, Any]] = mapped_column(default=dict)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    #: The entity reconciliation last grouped this row into (its lowest row id), when other
    #: sources see the same asset; None for a row that is an entity on its own. The set-based
    #: analyses group by ``COALESCE(entity_id, id)`` instead of rebuilding entities.
    entity_id: Mapped[int | None] = mapped_column(Integer, index=True)


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


class UtilizationDay(Base):
    """One observed resource's utilization over one day (in the configured time zone).

    Percentages for CPU, memory and disk, bit/s for network; ``coverage`` is the share of
    the day that had samples, and a day under the configured minimum is ``low_coverage``
    (never counted as idle).
    """

    __tablename__ = "utilization_day"

    asset_id: Mapped[int] = mapped_column(
        ForeignKey("observed_asset.id", ondelete="CASCADE"), primary_key=True)
    day: Mapped[dt.date] = mapped_column(Date, primary_key=True, index=True)
    cpu_mean: Mapped[float | None] = mapped_column(Float)
    cpu_p95: Mapped[float | None] = mapped_column(Float)
    cpu_max: Mapped[float | None] = mapped_column(Float)
    memory_mean: Mapped[float | None] = mapped_column(Float)
    memory_p95: Mapped[float | None] = mapped_column(Float)
    memory_max: Mapped[float | None] = mapped_column(Float)
    net_in_mean: Mapped[float | None] = mapped_column(Float)
    net_in_p95: Mapped[float | None] = mapped_column(Float)
    net_in_max: Mapped[float | None] = mapped_column(Float)
    net_out_mean: Mapped[float | None] = mapped_column(Float)
    net_out_p95: Mapped[float | None] = mapped_column(Float)
    net_out_max: Mapped[float | None] = mapped_column(Float)
    disk_mean: Mapped[float | None] = mapped_column(Float)
    disk_p95: Mapped[float | None] = mapped_column(Float)
    disk_max: Mapped[float | None] = mapped_column(Float)
    coverage: Mapped[float] = mapped_column(Float)
    low_coverage: Mapped[bool] = mapped_column(Boolean)
    demo: Mapped[bool] = mapped_column(Boolean, default=False)


class SummaryDay(Base):
    """A day whose utilization summaries are complete (backfill skips it)."""

    __tablename__ = "summary_day"

    day: Mapped[dt.date] = mapped_column(Date, primary_key=True)
    resources: Mapped[int] = mapped_column(Integer)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)


class ReconcilePair(Base):
    """The current reconciliation outcome of one declared and/or observed asset."""

    __tablename__ = "reconcile_pair"
    __table_args__ = (Index("ix_reconcile_pair_declared", "declared_category", "declared_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(255), unique=True)
    #: Hash of the other columns: a run compares it to see which pairs changed.
    digest: Mapped[str] = mapped_column(String(32))
    outcome: Mapped[str] = mapped_column(String(16), index=True)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    declared_category: Mapped[str | None] = mapped_column(String(32))
    declared_id: Mapped[int | None] = mapped_column(Integer)
    declared_code: Mapped[str | None] = mapped_column(String(64))
    observed_asset_id: Mapped[int | None] = mapped_column(Integer, index=True)
    observed_source: Mapped[str | None] = mapped_column(String(128))
    observed_kind: Mapped[str | None] = mapped_column(String(32))
    observed_keys: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    also_seen_by: Mapped[list[str] | None] = mapped_column(JSON)
    matched_by: Mapped[str | None] = mapped_column(String(32))
    differences: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)
    note: Mapped[str | None] = mapped_column(Text)
    first_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class Finding(Base):
    """Something an analysis found, with its lifecycle.

    ``fingerprint`` names the condition (kind, declared asset, observed asset, field), so a
    run that finds it again updates ``last_seen`` instead of adding a row; ``active`` says
    whether the last run still found it. A finding whose condition clears is resolved by
    the analysis; one whose condition returns is reopened.
    """

    __tablename__ = "finding"
    __table_args__ = (Index("ix_finding_kind_state", "kind", "state"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(255), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    state: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(Boolean, index=True)
    department_id: Mapped[int | None] = mapped_column(Integer, index=True)
    declared_category: Mapped[str | None] = mapped_column(String(32))
    declared_code: Mapped[str | None] = mapped_column(String(64))
    observed_asset_id: Mapped[int | None] = mapped_column(Integer)
    observed_source: Mapped[str | None] = mapped_column(String(128))
    field: Mapped[str | None] = mapped_column(String(64))
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)
    #: Hash of details, owner and amount: a run compares it to see what to rewrite.
    digest: Mapped[str] = mapped_column(String(32))
    #: Hash of the evidence (:data:`ledger.findings.EVIDENCE`) and owner: a finding resolved
    #: by hand reopens when it changes, not when a figure or an observation time moves.
    evidence: Mapped[str | None] = mapped_column(String(32))
    #: Money the finding ties up or concerns, in fen (idle investment), for sorting/totals.
    amount_fen: Mapped[int | None] = mapped_column(BigInteger)
    first_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state_changed_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    state_changed_by: Mapped[str] = mapped_column(String(255))
    state_reason: Mapped[str | None] = mapped_column(Text)
    reopened: Mapped[int] = mapped_column(Integer, default=0)


class ReconcileKey(Base):
    """One normalised identity value of a row as the last reconciliation read it: ``side``
    ``o`` (observed, ``cat`` empty) or ``d`` (declared, ``cat`` its category); ``tag`` the
    class of value that can meet another side's (``s`` serial, ``i`` instance or machine
    UUID, ``m`` MAC, ``ip`` address, ``h`` host name)."""

    __tablename__ = "reconcile_key"
    __table_args__ = (Index("ix_reconcile_key_tag_value", "tag", "value"),)

    side: Mapped[str] = mapped_column(String(1), primary_key=True)
    cat: Mapped[str] = mapped_column(String(32), primary_key=True)
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    tag: Mapped[str] = mapped_column(String(2), primary_key=True)
    value: Mapped[str] = mapped_column(String(255), primary_key=True)


class ReconcileRow(Base):
    """A digest of what the last reconciliation read of one row (observed or declared),
    and the row's time class then (stale, judged by a source, overdue)."""

    __tablename__ = "reconcile_row"

    side: Mapped[str] = mapped_column(String(1), primary_key=True)
    cat: Mapped[str] = mapped_column(String(32), primary_key=True)
    row_id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    digest: Mapped[str] = mapped_column(String(32))
    tclass: Mapped[int] = mapped_column(Integer)
    #: The ``observed_asset.entity_id`` the run wrote (None for a row on its own).
    entity: Mapped[int | None] = mapped_column(Integer)


class ReconcileState(Base):
    """What the last reconciliation depended on as a whole (``inputs``: the policy, the
    format of pairs and the code books, as a digest)."""

    __tablename__ = "reconcile_state"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class AnalysisRun(Base):
    """One run of an analysis (reconcile, summaries, idle, migration, compute)."""

    __tablename__ = "analysis_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    analysis: Mapped[str] = mapped_column(String(32), index=True)
    started_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    actor: Mapped[str] = mapped_column(String(255))
    summary: Mapped[dict[str, Any]] = mapped_column(default=dict)


class ZoneCollector(Base):
    """One scheduler of a network zone as the center last heard of it (ingest API)."""

    __tablename__ = "zone_collector"

    member: Mapped[str] = mapped_column(String(128), primary_key=True)
    zone: Mapped[str] = mapped_column(String(64), index=True)
    hostname: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    address: Mapped[str | None] = mapped_column(String(64))
    first_contact: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    last_contact: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    targets_owned: Mapped[int] = mapped_column(Integer, default=0)
    backlog_samples: Mapped[int] = mapped_column(BigInteger, default=0)
    backlog_records: Mapped[int] = mapped_column(BigInteger, default=0)
    applied_total: Mapped[int] = mapped_column(BigInteger, default=0)
    duplicates_total: Mapped[int] = mapped_column(BigInteger, default=0)


class IngestReceipt(Base):
    """The idempotency key of one applied ingest record: a replay is recognised, not applied."""

    __tablename__ = "ingest_receipt"

    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    member: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)
