"""The compute ledger: classification, peak FLOPS with sources, grouping, overcommit."""

from __future__ import annotations

from ledger.compute import ComputeInputs, compute, is_physical, load_tables
from ledger.reconcile.entities import build
from tests.ledger.reconcile.rows import observed

GIB = 1024 ** 3


def test_classification_covers_domestic_cpus_and_never_guesses():
    tables = load_tables()
    cases = {"Hygon C86 7285 32-core Processor": ("x86_64", "Hygon", True),
             "Kunpeng 920-6426": ("aarch64", "Huawei Kunpeng", True),
             "Phytium S2500/64": ("aarch64", "Phytium", True),
             "Loongson-3C5000": ("loongarch64", "Loongson", True),
             "ZHAOXIN KaiXian KX-U6780A@2.7GHz": ("x86_64", "Zhaoxin", True),
             "Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz": ("x86_64", "Intel", False),
             "AMD EPYC 7742 64-Core Processor": ("x86_64", "AMD", False)}
    for model, expected in cases.items():
        rule = tables.classify(model)
        assert (rule.arch, rule.vendor, rule.domestic) == expected, model
    assert tables.classify("x86_64") is None and tables.classify(None) is None
    peak = tables.peak("Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz", "cpu")
    assert (peak.fp64, peak.fp32) == (1792, 3584) and "Intel ARK" in peak.source
    assert tables.peak("NVIDIA A100-PCIE-40GB", "accelerator").fp16 == 312000


def test_user_tables_come_first(tmp_path):
    (tmp_path / "cpus.yaml").write_text(
        "rules:\n  - {match: 'x86_64', arch: x86_64, vendor: 自研, domestic: true}\n",
        encoding="utf-8")
    (tmp_path / "flops.yaml").write_text(
        "entries:\n  - {match: 'gold 6330', kind: cpu, fp64: 1, source: 'our lab'}\n",
        encoding="utf-8")
    tables = load_tables(str(tmp_path / "cpus.yaml"), str(tmp_path / "flops.yaml"))
    assert tables.classify("x86_64").vendor == "自研"
    assert tables.peak("Xeon Gold 6330", "cpu").source == "our lab"


def test_totals_groups_composition_and_overcommit():
    rows = [
        observed("hypervisor", source="vc", collector="vsphere", hostname="esx1",
                 machine_uuid="aaaaaaaa-0000-4000-8000-000000000001", cpu_sockets=2,
                 cpu_cores=56, cpu_threads=112, memory_bytes=512 * GIB,
                 cpu_model="Intel(R) Xeon(R) Gold 6330 CPU @ 2.00GHz"),
        observed("server", source="bmc", collector="redfish", serial_number="KP001",
                 cpu_sockets=2, cpu_cores=128, cpu_threads=128, memory_bytes=1024 * GIB,
                 cpu_model="Kunpeng 920-6426", gpus=2),
        observed("host", source="vm-agent", collector="host", vendor="QEMU",
                 model="Standard PC", cpu_cores=4, cpu_model="Mystery CPU"),
        observed("host", source="old", collector="host", vendor="Dell Inc.", cpu_cores=8,
                 cpu_threads=16, cpu_model="Mystery CPU"),
        *[observed("instance", source="vc", collector="vsphere", vcpus=8,
                   instance_uuid=f"bbbbbbbb-0000-4000-8000-00000000000{i}",
                   memory_bytes=16 * GIB, power_state="running") for i in range(1, 5)],
        observed("datastore", source="vc", collector="vsphere", disk_bytes=10 * 1024 * GIB),
    ]
    entities, _ = build(rows)
    assert [is_physical(e) for e in entities[:4]] == [True, True, False, True]
    platform = {e.id: "CP01" if e.primary.source == "vc" else None for e in entities}
    inputs = ComputeInputs(entities, [rows[-1]], {e.id: 1 for e in entities}, {}, platform, {},
                           {entities[0].id: 40.0}, {rows[1].id: ["NVIDIA A100-PCIE-40GB",
                                                                 "NVIDIA A100-PCIE-40GB"]},
                           {1: "D001"})
    result = compute(inputs, load_tables(), by="platform")
    totals = result["totals"]
    assert (totals["hosts"], totals["cores"], totals["threads"], totals["gpus"]) == (
        3, 192, 256, 2)
    assert (totals["instances"], totals["vcpus"], totals["memory_gib"]) == (4, 32, 1536.0)
    assert totals["storage_bytes"] == 10 * 1024 * GIB
    # FP64: two Gold 6330 (1,792 each) + two Kunpeng 920 (1,331 each) + two A100 (9,700).
    assert totals["fp64_tflops"] == round((2 * 1792 + 2 * 1331 + 2 * 9700) / 1000, 3)
    assert totals["fp16_tflops"] == 624.0
    groups = {g["key"]: g for g in result["groups"]}
    assert groups["CP01"]["overcommit"] == round(32 / 112, 2)
    # The Gold 6330 has no FP16 figure in the table: unknown, never 0.
    assert groups["CP01"]["fp16_tflops"] is None and groups["CP01"]["fp64_tflops"] == 3.584
    from monitor.ledger_text import render
    alone = compute(ComputeInputs(entities[:1], [], {}, {}, platform, {}, {}, {}, {}),
                    load_tables())
    assert alone["totals"]["fp16_tflops"] is None
    assert "FP32 7.168，FP16 未知" in render("compute", alone, "zh")
    assert "FP16 unknown" in render("compute", alone, "en")
    assert result["composition"][0]["vendor"] == "Huawei Kunpeng"
    assert result["domestic_share"] == round(128 / (128 + 56), 4)
    assert result["unknown_cpu_models"] == [{"model": "Mystery CPU", "hosts": 1, "cores": 8}]
    assert result["models_without_flops"] == ["Mystery CPU"]
    assert result["utilization"]["physical"] == 40.0
    assert any("Kunpeng" in s for s in result["flops_sources"])
