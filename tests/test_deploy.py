"""The deployment files are consistent with the product: their configurations validate,
and the store flags the VictoriaMetrics backend needs are set wherever it is started."""

from __future__ import annotations

from pathlib import Path

import yaml

from monitor.cli import main
from monitor.config import load_settings

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
VM_FLAGS = ("-influxMeasurementFieldSeparator=.", "-dedup.minScrapeInterval=1ms")


def test_the_example_configurations_validate(tmp_path, monkeypatch):
    monkeypatch.setenv("SNMP_COMMUNITY", "from-the-environment")
    center = load_settings(DEPLOY / "center.yaml", data_dir=str(tmp_path))
    zone = load_settings(DEPLOY / "zone-east.yaml", data_dir=str(tmp_path))
    assert center.store_backend.startswith("victoriametrics://")
    assert {t.zone for t in center.targets} == {"central", "east"}
    assert [t.name for t in zone.targets] == [t.name for t in center.targets]
    assert zone.zone.center_url and zone.zone.coordination_url


def test_victoria_metrics_runs_with_the_flags_the_backend_needs():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    command = compose["services"]["victoriametrics"]["command"]
    assert all(flag in command for flag in VM_FLAGS)
    drop_in = (DEPLOY / "systemd" / "victoria-metrics.service.d-override.conf").read_text()
    assert all(flag in drop_in for flag in VM_FLAGS)
    unit = (DEPLOY / "systemd" / "infra-ledger-scheduler@.service").read_text()
    assert "-m monitor scheduler --zone %i" in unit


def test_a_zone_scheduler_without_a_center_refuses_to_start(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text("store: {backend: 'victoriametrics://127.0.0.1:1'}\n"
                      "targets: [{name: e1, kind: host, zone: east}]\n", encoding="utf-8")
    assert main(["scheduler", "--zone", "east", "--config", str(config),
                 "--data-dir", str(tmp_path / "d")]) == 2
    assert "zone.center_url: required" in capsys.readouterr().err
