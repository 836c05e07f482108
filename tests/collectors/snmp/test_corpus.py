"""Every recording of the LibreNMS corpus, polled from one snmpsim, with no per-file data.

For each file: the poll ends ok or partial; the device has a vendor (from the sysObjectID's
enterprise number at least; a recording whose sysObjectID names no enterprise, such as
``0.0`` or none at all, needs one only where ENTITY-MIB or UPS-MIB names a maker); no
identity key is a placeholder; every real ENTITY-MIB serial of the recording is in the
fact; every interface's ifName, ifDescr and ifAlias are there; and every number is
physically plausible (see ``corpus.py``). ``python -m bench.corpus``
prints the coverage table kept in ``collectors/snmp/README.md``.
"""

from __future__ import annotations

import pytest

from collectors.snmp.collector import SnmpCollector
from tests.collectors.snmp import corpus
from tests.collectors.snmp.conftest import COVERAGE

FILES = corpus.files()


def poll(community: str, port: int):
    """One poll of one recording, as a target would be polled."""
    collector = SnmpCollector(community, {"host": "127.0.0.1", "port": port,
                                          "community": community, "request_timeout": 5},
                              timeout=120)
    try:
        return collector.collect()
    finally:
        collector.close()


@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_corpus_recording(path, snmpsim_server):
    recording = corpus.read(path)
    obs = poll(path.stem, snmpsim_server.port)
    row = corpus.coverage(path, recording, obs)
    COVERAGE.append(row)
    assert row["problems"] == []


def test_corpus_is_there():
    assert len(FILES) >= 500, f"the corpus is expected at {corpus.CORPUS}"
