"""Ledger tables of the census, built from :mod:`ledger.census.fields`, and the audit log.

Change only together with a migration (``ledger/migrations/versions``): the migrations are
fixed snapshots and never import this module.
"""

from __future__ import annotations

import decimal

from sqlalchemy import (JSON, BigInteger, Boolean, Column, Date, Float, ForeignKey, Index,
                        Integer, SmallInteger, String, Table, Text, TypeDecorator,
                        UniqueConstraint)

from ledger.census.fields import CATEGORIES, Category, Field
from ledger.models import Base, UTCDateTime

CENT = decimal.Decimal("0.01")


class Money(TypeDecorator):
    """An amount in 元 as :class:`decimal.Decimal`, stored exactly as integer 分 (cents)."""

    impl = BigInteger
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        cents = decimal.Decimal(value) * 100
        if cents != cents.to_integral_value():
            raise ValueError(f"amount {value} is finer than one fen")
        return int(cents)

    def process_result_value(self, value, dialect):
        return None if value is None else (decimal.Decimal(value) / 100).quantize(CENT)


def _column(spec: Field) -> Column:
    nullable = not spec.required
    if spec.kind == "ref":
        return Column(spec.column, Integer, ForeignKey(f"census_{spec.ref}.id"),
                      nullable=nullable, index=True)
    kinds = {
        "int": BigInteger(), "float": Float(), "bool": Boolean(), "date": Date(),
        "money": Money(), "level": SmallInteger(), "choice": String(32),
        "ip": String(64), "mac": String(32),
    }
    if spec.kind == "text":
        kind = String(spec.max_length) if spec.max_length <= 255 else Text()
    else:
        kind = kinds[spec.kind]
    return Column(spec.column, kind, nullable=nullable, index=spec.identity)


def _table(category: Category) -> Table:
    columns = [Column("id", Integer, primary_key=True)]
    for spec in category.fields:
        column = _column(spec)
        if spec.key == "code":
            column.unique = True
        columns.append(column)
    if category.key in ("region", "department"):
        # Materialised path of ids ("/1/4/9/") so a subtree is one indexed prefix match.
        columns.append(Column("path", String(1024), nullable=False, default="/", index=True))
    columns += [Column("created_at", UTCDateTime, nullable=False),
                Column("updated_at", UTCDateTime, nullable=False)]
    extra = [UniqueConstraint(*group, name=f"uq_{category.table}_{'_'.join(group)}")
             for group in category.unique]
    return Table(category.table, Base.metadata, *columns, *extra)


TABLES: dict[str, Table] = {key: _table(category) for key, category in CATEGORIES.items()}

audit_record = Table(
    "audit_record", Base.metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
           autoincrement=False),
    Column("time", UTCDateTime, nullable=False),
    Column("actor", String(255), nullable=False),
    Column("batch_id", String(64), nullable=False),
    Column("request_id", String(64)),
    Column("action", String(16), nullable=False),
    Column("object_type", String(64), nullable=False),
    Column("object_key", String(255), nullable=False),
    Column("changes", JSON, nullable=False),
    Column("algorithm", String(16), nullable=False),
    Column("prev_hash", String(128), nullable=False),
    Column("hash", String(128), nullable=False),
    Index("ix_audit_record_object", "object_type", "object_key"),
    Index("ix_audit_record_batch", "batch_id"),
)

#: One row (id 1): the newest record's seq and hash, updated in the same transaction
#: as every append, so a removed tail is detected and appends are serialised.
audit_head = Table(
    "audit_head", Base.metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(128), nullable=False),
)

__all__ = ["TABLES", "audit_record", "audit_head", "Money"]
