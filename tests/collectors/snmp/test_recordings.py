"""Every recording served by snmpsim gives the expected device: data-driven cases.

``testcases/<recording>.json`` holds what the device really is (checked against the
recording by hand: vendor, OS, type, model, serial, interface count, storage, UPS and PDU
figures, the vendor inventory tables' components and sensor figures); the test polls
snmpsim with the recording's community and compares. ``INFRA_LEDGER_UPDATE_CASES=1``
rewrites the cases from what the collector sees, to be reviewed as a diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from collectors.snmp.collector import SnmpCollector

CASES = sorted(Path(__file__).with_name("testcases").glob("*.json"))


def summary(obs) -> dict:
    """What the testcases state, from one observation."""
    fact = obs.facts[0]
    attributes, keys = fact.attributes, fact.keys
    found = {"status": obs.status}
    for key in ("vendor", "os", "device_type", "model", "interface_count", "memory_bytes",
                "cpu_count", "cpu_cores"):
        if attributes.get(key) is not None:
            found[key] = attributes[key]
    for key in ("serial_number", "hostname"):
        if keys.get(key):
            found[key] = keys[key]
    if attributes.get("cpu_models"):
        found["cpu_model"] = attributes["cpu_models"][0]
    classes = {e["class"] for e in attributes.get("entities", [])} & {
        "power_supply", "fan", "module", "chassis"}
    if classes:
        found["entity_classes"] = sorted(classes)
    components = {}
    for component in attributes.get("components", []):   # vendor inventory tables
        components[component["class"]] = components.get(component["class"], 0) + 1
    if components:
        found["components"] = components
        serials = sorted(c["serial"] for c in attributes["components"] if c.get("serial"))
        if serials:
            found["component_serials"] = serials[:4]
    if attributes.get("notes"):
        found["notes"] = attributes["notes"][:3]
    for name in ("sensor", "power_supply", "entity", "rectifier", "pdu_branch"):
        samples = [s for s in obs.samples if s.measurement == name]
        if samples:   # vendor figures per sensor or entity: how many, and the first four
            found[name] = {"samples": len(samples), "first": {
                f"{s.tags.get('sensor', '')} [{s.tags['index']}]": dict(s.fields)
                for s in samples[:4]}}
    storage = [s for s in obs.samples if s.measurement == "storage"][:4]
    if storage:
        found["storage"] = {s.tags["descr"]: [s.tags["type"], s.fields["size_bytes"],
                                              s.fields["used_bytes"]] for s in storage}
    for name in ("ups", "ups_input", "ups_output", "pdu", "pdu_load", "system"):
        samples = [s for s in obs.samples if s.measurement == name]
        if samples:
            found[name] = {(s.tags.get("line") or s.tags.get("index") or "-"): dict(s.fields)
                           for s in samples}
    for name in ("cooling", "power_environment"):    # self-describing vendor tables
        samples = [s for s in obs.samples if s.measurement == name]
        if samples:
            found[name] = {"readings": len(samples), "first": {
                f"{s.tags['sensor']} ({s.tags['unit']})": s.fields["value"] for s in samples[:4]}}
    return found


@pytest.mark.parametrize("case", CASES, ids=[c.stem for c in CASES])
def test_recording(case, snmpsim_server):
    expected = json.loads(case.read_text(encoding="utf-8"))
    collector = SnmpCollector(case.stem, {"host": "127.0.0.1", "port": snmpsim_server.port,
                                          "community": case.stem, "request_timeout": 5},
                              timeout=60)
    try:
        obs = collector.collect()
    finally:
        collector.close()
    assert obs.error is None
    if os.environ.get("INFRA_LEDGER_UPDATE_CASES"):
        case.write_text(json.dumps(summary(obs), indent=1, sort_keys=True, ensure_ascii=False)
                        + "\n", encoding="utf-8")
    assert summary(obs) == expected


def test_every_recording_has_a_case():
    from tests.collectors.snmp.conftest import SNMPREC, snmpsim_recordings
    recordings = {p.stem for p in SNMPREC.glob("*.snmprec")}
    recordings |= {p.stem for p in snmpsim_recordings().glob("*.snmprec")}
    # udp-endpoint-table-walk holds one table and no system group: nothing to identify.
    assert recordings - {c.stem for c in CASES} == {"udp-endpoint-table-walk"}
    assert len(recordings) >= 46
