"""Ledger database: engine, schema migrations (Alembic) and sessions.

SQLite is the embedded default, PostgreSQL the production database; both are
brought to the newest schema with :func:`upgrade` before anything else runs.
"""

from __future__ import annotations

import contextlib
import fcntl
from pathlib import Path
from typing import Iterator

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import Session, sessionmaker

MIGRATIONS = Path(__file__).with_name("migrations")
#: Key of the PostgreSQL advisory lock taken while migrating ("ILDG" in ASCII).
MIGRATION_LOCK_KEY = 0x494C4447


def page_offset(total: int, page: int, per_page: int) -> int | None:
    """The OFFSET of page ``page`` (from 1), or None past the last row: a page number from a
    request can be far larger than any OFFSET SQLite or PostgreSQL take."""
    offset = (max(1, page) - 1) * per_page
    return offset if offset < total else None


#: The escape character of :func:`contains_pattern`'s patterns.
LIKE_ESCAPE = "\\"


def contains_pattern(text: str) -> str:
    """A LIKE pattern matching values that contain ``text`` literally: ``%``, ``_`` and the
    escape character itself match only themselves (use with ``escape=LIKE_ESCAPE``)."""
    escaped = text.replace(LIKE_ESCAPE, LIKE_ESCAPE * 2).replace("%", LIKE_ESCAPE + "%") \
        .replace("_", LIKE_ESCAPE + "_")
    return f"%{escaped}%"


def make_engine(url: str) -> Engine:
    """Create an engine; SQLite gets WAL, a busy timeout and foreign keys."""
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Text goes over the wire as UTF-8 whatever the server's default, so a SQL_ASCII
    # database stores and returns Chinese unchanged (psycopg would hand back bytes).
    engine = create_engine(url, pool_pre_ping=True, connect_args={"client_encoding": "utf8"})
    if engine.dialect.name == "postgresql":
        event.listen(engine, "connect", _check_server_encoding)
    return engine


class LedgerEncodingError(RuntimeError):
    """The PostgreSQL database cannot hold the ledger's text (Chinese names, actors)."""


def _check_server_encoding(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("SHOW server_encoding")
    encoding = cursor.fetchone()[0]
    cursor.close()
    if encoding not in ("UTF8", "SQL_ASCII"):
        dbapi_connection.close()
        raise LedgerEncodingError(
            f"账本数据库的编码为 {encoding}，无法保存中文，须为 UTF8 (the ledger database is "
            f"encoded {encoding}, which cannot hold Chinese text; create it with ENCODING "
            "'UTF8' TEMPLATE template0)")


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def alembic_config(engine: Engine) -> Config:
    """An Alembic configuration bound to ``engine`` (no alembic.ini needed)."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the ledger schema to ``revision``; concurrent callers take turns."""
    with _migration_lock(engine):
        command.upgrade(alembic_config(engine), revision)


@contextlib.contextmanager
def _migration_lock(engine: Engine) -> Iterator[None]:
    """One migrating process at a time: the scheduler and web workers start together.

    SQLite runs DDL outside transactions, so two processes would both create the same
    tables; a lock file beside the database serialises them. PostgreSQL uses a session
    advisory lock held on a connection of its own for the whole upgrade.
    """
    if engine.dialect.name == "sqlite":
        database = engine.url.database
        if not database or database == ":memory:":
            yield
            return
        with open(f"{database}.migrate-lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)
        return
    if engine.dialect.name != "postgresql":
        yield
        return
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        conn.commit()
        try:
            yield
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": MIGRATION_LOCK_KEY})
            conn.commit()


class Ledger:
    """The ledger database of one process: an engine and a session factory."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if migrate:
            upgrade(self.engine)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    def session(self) -> Session:
        """Open a new session; use it as a context manager."""
        return self.sessions()

    def close(self) -> None:
        """Dispose of pooled connections."""
        self.engine.dispose()
