"""Building alert settings and firing alerts for tests, through the engine's own code."""

from __future__ import annotations

import datetime as dt

from alerts.config import AlertSettings, Rule, parse_alerts
from alerts.dispatch import dispatch
from alerts.evaluate import Active
from alerts.state import record
from ledger.alert_tables import alert_outbox
from monitor.config import parse_settings

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 12, 1, 8, 0, tzinfo=UTC)


def settings_with(tmp_path, section: dict, ledger_url: str | None = None, **top):
    """Settings whose ``alerts`` section is ``section``."""
    data = {"alerts": section, **top}
    if ledger_url:
        data["ledger"] = {"url": ledger_url}
    return parse_settings(data, "(test)", data_dir=str(tmp_path / "data"))


def config_with(tmp_path, section: dict) -> AlertSettings:
    return parse_alerts(settings_with(tmp_path, section))


def rule(name: str, severity: str = "warning", **labels) -> Rule:
    """A rule whose conditions the test hands in (kind health, so any labels)."""
    return Rule(name=name, kind="health", severity=severity, labels=tuple(labels.items()),
                metric="spool_depth_samples")


def fire(engine, now: dt.datetime, conditions: dict[Rule, list[dict]]) -> None:
    """Record one evaluation in which each rule's conditions hold with these labels."""
    with engine.begin() as conn:
        record(conn, {r.name: (r, [Active(dict(labels), 1.0) for labels in actives])
                      for r, actives in conditions.items()}, now)


def tick(engine, config: AlertSettings, now: dt.datetime):
    with engine.begin() as conn:
        return dispatch(conn, config, now)


def outbox(engine) -> list[dict]:
    with engine.connect() as conn:
        return [dict(r) for r in conn.execute(alert_outbox.select().order_by(
            alert_outbox.c.id)).mappings()]


def later(seconds: float) -> dt.datetime:
    return T0 + dt.timedelta(seconds=seconds)
