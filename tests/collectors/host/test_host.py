"""The host collector against this machine's real /proc and /sys, plus prepared trees."""

from __future__ import annotations

import json
import time
from pathlib import Path

import psutil
import pytest

from collectors import get_collector
from collectors.host.facts import host_fact, parse_cpuinfo

CASES = Path(__file__).with_name("testcases") / "cpuinfo"


@pytest.fixture(scope="module")
def two_polls():
    collector = get_collector("host")("local")
    first = collector.collect()
    time.sleep(0.5)  # CPU times tick every 10 ms; give every CPU some ticks
    return first, collector.collect()


def by_measurement(obs):
    out = {}
    for sample in obs.samples:
        out.setdefault(sample.measurement, []).append(sample)
    return out


def test_every_measurement_is_present(two_polls):
    _, second = two_polls
    seen = by_measurement(second)
    assert {"cpu", "system", "mem", "swap", "disk", "diskio", "net"} <= set(seen)
    cpus = {s.tags["cpu"] for s in seen["cpu"]}
    assert cpus == {"cpu-total"} | {f"cpu{i}" for i in range(psutil.cpu_count())}
    total = next(s for s in seen["cpu"] if s.tags["cpu"] == "cpu-total").fields
    assert 0 <= total["usage_percent"] <= 100
    shares = [total[f"{s}_percent"] for s in ("user", "system", "iowait", "steal", "idle")]
    # Shares of one interval: each within 0-100 and together at most 100 (nice, irq and
    # softirq, not reported, make up the rest; under niced load they are large).
    assert all(0 <= share <= 100 for share in shares) and sum(shares) <= 100 + 1e-6
    assert total["usage_percent"] == pytest.approx(
        100 - total["idle_percent"] - total["iowait_percent"])
    mem = seen["mem"][0].fields
    assert mem["total_bytes"] == psutil.virtual_memory().total
    root = next(s for s in seen["disk"] if s.tags["path"] == "/")
    assert root.fields["total_bytes"] > 0 and root.fields["inodes_total"] > 0
    assert seen["system"][0].fields["uptime_seconds"] > 0


def test_rates_need_two_polls(two_polls):
    first, second = two_polls
    nic_first = by_measurement(first)["net"][0].fields
    nic_second = by_measurement(second)["net"][0].fields
    assert "rx_bytes_per_second" not in nic_first and "rx_bytes" in nic_first
    assert nic_second["rx_bytes_per_second"] >= 0
    disk = by_measurement(second)["diskio"][0].fields
    assert disk["read_bytes_per_second"] >= 0 and 0 <= disk["util_percent"] <= 100


def test_loopback_is_skipped_unless_asked(two_polls):
    _, second = two_polls
    assert "lo" not in {s.tags["interface"] for s in by_measurement(second)["net"]}
    with_lo = get_collector("host")("local", {"include_loopback": True}).collect()
    assert "lo" in {s.tags["interface"] for s in by_measurement(with_lo)["net"]}


def test_host_fact_of_this_machine(two_polls):
    (fact,) = two_polls[0].facts
    assert fact.kind == "host"
    assert fact.keys["hostname"]
    assert fact.attributes["cpu_threads"] == psutil.cpu_count()
    assert fact.attributes["memory_bytes"] == psutil.virtual_memory().total
    assert fact.attributes["cpu_model"] and fact.attributes["cpu_vendor"]
    assert any(nic["name"] == "lo" for nic in fact.attributes["interfaces"])


@pytest.mark.parametrize("case", sorted(p.name for p in CASES.iterdir()))
def test_cpuinfo_cases(case):
    text = (CASES / case / "cpuinfo").read_text()
    expected = json.loads((CASES / case / "expected.json").read_text())
    assert parse_cpuinfo(text) == expected


def test_facts_from_a_prepared_root(tmp_path):
    files = {
        "sys/class/dmi/id/product_serial": "To be filled by O.E.M.\n",
        "sys/class/dmi/id/product_uuid": "4C4C4544-0042-3510-8057-B7C04F565832\n",
        "sys/class/dmi/id/sys_vendor": "Huawei\n",
        "sys/class/dmi/id/product_name": "TaiShan 200 (Model 2280)\n",
        "proc/cpuinfo": (CASES / "kunpeng-920" / "cpuinfo").read_text(),
        "etc/os-release": 'PRETTY_NAME="openEuler 22.03 (LTS-SP1)"\nID="openEuler"\n',
        "proc/net/route": "Iface\tDestination\tGateway\nlo\t00000000\t00000000\n",
        "sys/block/sda/size": "3907029168\n",
        "sys/block/sda/queue/rotational": "1\n",
        "sys/block/loop0/size": "8\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    fact = host_fact(tmp_path)
    assert "serial_number" not in fact.keys  # a placeholder is not an identity
    assert fact.keys["machine_uuid"] == "4c4c4544-0042-3510-8057-b7c04f565832"
    assert fact.keys["mgmt_ip"] == "127.0.0.1"
    assert (fact.attributes["vendor"], fact.attributes["model"]) == ("Huawei",
                                                                     "TaiShan 200 (Model 2280)")
    assert fact.attributes["os_name"] == "openEuler 22.03 (LTS-SP1)"
    assert fact.attributes["cpu_model"] == "Kunpeng 920"
    assert fact.attributes["disks"] == [{"name": "sda", "size_bytes": 3907029168 * 512,
                                         "model": None, "serial": None, "rotational": True}]
