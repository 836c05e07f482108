"""Non-ASCII text (actors, names) survives a PostgreSQL ledger of any server encoding."""

from __future__ import annotations

import uuid

import psycopg
import pytest

from ledger.census.audit import list_records
from ledger.census.files import read_file
from ledger.census.service import CensusService
from ledger.db import Ledger, LedgerEncodingError
from tests.conftest import PG_ADMIN_URL
from tests.ledger.census.builders import filled_workbook


@pytest.fixture
def pg_database():
    names = []

    def create(encoding: str) -> str:
        name = f"il_test_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE \"{name}\" ENCODING '{encoding}' TEMPLATE template0 "
                         "LC_COLLATE 'C' LC_CTYPE 'C'")
        names.append(name)
        base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://")
        return f"{base}/{name}"
    yield create
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        for name in names:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_a_sql_ascii_database_keeps_chinese_actors_and_names(pg_database, tmp_path):
    ledger = Ledger(pg_database("SQL_ASCII"))
    try:
        CensusService(ledger.engine, actor="张三").apply(
            read_file(filled_workbook(tmp_path / "c.xlsx")))
        with ledger.engine.connect() as conn:
            record = list_records(conn, limit=1)[0]
        assert record["actor"] == "张三"
        assert CensusService(ledger.engine).get("department", "D001")["name"] == \
            "深圳市政务服务数据管理局"
    finally:
        ledger.close()


def test_a_database_that_cannot_hold_chinese_is_refused_with_its_encoding(pg_database):
    with pytest.raises(LedgerEncodingError, match="LATIN1.*UTF8"):
        Ledger(pg_database("LATIN1"))
