"""Shared fixtures: temporary ledgers on SQLite and PostgreSQL, stores, the Flask app,
Debian's Chromium for the browser tests."""

from __future__ import annotations

import json
import os
import uuid
from pathlib import Path

import psycopg
import pytest

from ledger.db import Ledger
from monitor.config import parse_settings
from monitor.store import open_store
from tests.fullfs import SmallFilesystem
from tests.servers import InfluxServer

PG_ADMIN_URL = os.environ.get("INFRA_LEDGER_TEST_PG", "postgresql://postgres@127.0.0.1:5432/test")
REPO = Path(__file__).resolve().parent.parent
SHARED = Path(os.environ.get("INFRA_LEDGER_SHARED", REPO.parent / "shared"))
#: Debian's Chromium (never a downloaded browser) and the flags the browser tests start it with.
CHROMIUM = "/usr/bin/chromium"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-component-update", "--no-first-run", "--disable-sync"]


@pytest.fixture
def pg_url():
    """A fresh, empty PostgreSQL database for one test, dropped afterwards."""
    name = f"il_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0].replace("postgresql://", "postgresql+psycopg://", 1)
    yield f"{base}/{name}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_url(request, tmp_path):
    """A ledger database URL on each backend the ledger supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def ledger(ledger_url):
    """A migrated ledger on each backend."""
    db = Ledger(ledger_url)
    yield db
    db.close()


@pytest.fixture(scope="session")
def influx_server(tmp_path_factory):
    """One real influxd for the session; tests use their own databases on it."""
    server = InfluxServer(tmp_path_factory.mktemp("influxd")).start()
    yield server
    server.stop()


@pytest.fixture
def influx_db(influx_server):
    """A fresh database name on the session's influxd."""
    return f"t_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def settings(tmp_path):
    """Settings with a temporary data directory and one host target."""
    return parse_settings({"targets": [{"name": "local", "kind": "host"}]}, "(test)",
                          data_dir=str(tmp_path / "data"))


@pytest.fixture
def embedded_store(tmp_path):
    """An empty embedded time-series store."""
    store = open_store("embedded", path=tmp_path / "tsdb",
                       retention={"raw": 2 * 86400, "1m": 35 * 86400, "1h": 730 * 86400})
    yield store
    store.close()


@pytest.fixture
def small_fs(tmp_path):
    """A 1 MiB tmpfs that really fills up (mounting needs root, as tests run here and in CI)."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    filesystem = SmallFilesystem(tmp_path / "small").mount()
    yield filesystem
    filesystem.unmount()


@pytest.fixture(scope="module")
def chromium():
    """Headless Chromium through Playwright, one per test module (tests/dashboards browser
    tests and tests/test_demo.py)."""
    # Imported here: only the browser tests need Playwright.
    from playwright.sync_api import sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield browser
        browser.close()


# The SNMP corpus coverage (tests/collectors/snmp): gathered where test_corpus ran (a worker
# under pytest-xdist, else this process) and printed once, at the end of the run.
def pytest_sessionfinish(session):
    workeroutput = getattr(session.config, "workeroutput", None)
    if workeroutput is not None:   # an xdist worker: hand the rows to the controller
        from tests.collectors.snmp.conftest import COVERAGE
        workeroutput["corpus_coverage"] = json.dumps(COVERAGE, default=str)


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    from tests.collectors.snmp.conftest import COVERAGE
    COVERAGE.extend(json.loads(getattr(node, "workeroutput", {}).get("corpus_coverage", "[]")))


def pytest_terminal_summary(terminalreporter):
    """The corpus coverage: totals, and the whole table with INFRA_LEDGER_CORPUS_TABLE=1."""
    from tests.collectors.snmp.conftest import COVERAGE, TABLE
    if not COVERAGE:
        return
    from tests.collectors.snmp.corpus import counts, table
    terminalreporter.section("SNMP corpus coverage")
    if TABLE:
        terminalreporter.write_line(table(sorted(COVERAGE, key=lambda row: row["file"])))
    terminalreporter.write_line(counts(COVERAGE))
