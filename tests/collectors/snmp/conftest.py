"""Real SNMP agents for the collector's tests: snmpsim serving recordings, and snmpd."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import SHARED
from tests.servers import SnmpdServer, SnmpSimServer

#: Rows of the corpus coverage table, filled by test_corpus in this process (under xdist,
#: in each worker, and gathered in the controller by the hooks of tests/conftest.py).
COVERAGE: list[dict] = []
#: Set to print the whole coverage table after the tests (else only its totals).
TABLE = os.environ.get("INFRA_LEDGER_CORPUS_TABLE", "") not in ("", "0")

#: The LibreNMS recordings (GPL-3.0): read where they are, never copied into the project.
SNMPREC = Path(os.environ.get("INFRA_LEDGER_SNMPREC", SHARED / "fixtures" / "snmprec"))


def snmpsim_recordings() -> Path:
    """The recordings shipped inside the snmpsim package."""
    import snmpsim
    return Path(snmpsim.__file__).parent / "data" / "recorded"


@pytest.fixture(scope="session")
def snmpsim_server(tmp_path_factory):
    """One snmpsim for the session, serving the hand-checked recordings, the corpus and
    snmpsim's own; the community of a recording is its file name."""
    from tests.collectors.snmp.corpus import CORPUS
    server = SnmpSimServer(tmp_path_factory.mktemp("snmpsim"),
                           [SNMPREC, CORPUS, snmpsim_recordings()],
                           probe_community="vrp_5720").start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def snmpd_server(tmp_path_factory):
    """One net-snmp snmpd with a v2c community and v3 users (see tests/servers.py)."""
    server = SnmpdServer(tmp_path_factory.mktemp("snmpd")).start()
    yield server
    server.stop()
