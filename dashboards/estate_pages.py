"""Operators' estate pages: the overview, search across assets, one page per observed asset.

- ``/estate``: targets by kind, department and state (failing first), the spool and store,
  the scheduler (polls overdue, last analysis runs); refreshes itself every minute;
- ``/search?q=``: targets and observed assets by name, serial, address, key or model;
- ``/observed/<asset_id>``: what was observed of one asset, its declared twin, its daily
  summaries and the charts of its source target.

Views only read the ledger (``ledger.status``, ``ledger.browse``) and the store; they never
poll. Operators are estate-wide; a department-scoped caller still sees only its own assets.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter, defaultdict

from flask import Blueprint, abort, render_template, request

from core.observation import TARGET_TAG
from dashboards import facts, figures
from dashboards.access import caller_scope, requires
from dashboards.i18n import translate
from dashboards.operator import REFRESH, charts, page_range, page_refresh, store_label
from dashboards.operator import RANGES
from dashboards.resources import get_ledger, get_settings
from ledger import analyses, browse
from ledger.identity.roles import TARGETS_READ
from ledger.models import TargetState
from ledger.status import runtime_stats, target_states

bp = Blueprint("estate", __name__)
#: Failing first: the order of states on the overview.
SEVERITY = {"error": 0, "timeout": 1, "partial": 2, None: 3, "ok": 4}
#: A target is overdue when its last poll is older than this many intervals.
OVERDUE_INTERVALS = 3


def _departments(conn) -> dict[str, str]:
    """Target name -> its department tag in the configuration, else the one its observed
    assets carry."""
    out = browse.source_departments(conn)
    out.update({t.name: t.tags["department"] for t in get_settings().targets
                if t.tags.get("department")})
    return out


@bp.get("/estate")
@requires(TARGETS_READ)
def overview():
    """Targets by kind, department and state, failing first; store and scheduler health."""
    with get_ledger().session() as session:
        states = target_states(session)
        stats = {name: row.value for name, row in runtime_stats(session).items()}
        runs = analyses.last_runs(session.connection())
        departments = _departments(session.connection())
    states.sort(key=lambda s: (SEVERITY.get(s.status, 3), s.kind, s.name))
    now = dt.datetime.now(dt.timezone.utc)
    overdue = [s.name for s in states if s.last_poll and s.interval_seconds and
               (now - s.last_poll).total_seconds() > OVERDUE_INTERVALS * s.interval_seconds]
    by_kind, by_department = defaultdict(Counter), defaultdict(Counter)
    for s in states:
        by_kind[s.kind][s.status or "pending"] += 1
        by_department[departments.get(s.name) or "—"][s.status or "pending"] += 1
    return render_template(
        "estate.html", states=states, departments=departments, stats=stats,
        by_kind=dict(sorted(by_kind.items())), by_department=dict(sorted(by_department.items())),
        columns=("error", "timeout", "partial", "pending", "ok"), overdue=overdue, runs=runs,
        store=store_label(get_settings().store_backend), refresh=page_refresh(60),
        failing=sum(1 for s in states if s.up is False))


@bp.app_template_filter("asset_kind")
def asset_kind(kind: str | None) -> str:
    """An observed asset's kind in the request's language."""
    return facts.kind_label(kind)


@bp.get("/search")
@requires(TARGETS_READ)
def search():
    """Targets and observed assets matching ``q``."""
    text = (request.args.get("q") or "").strip()
    found, targets = [], []
    if text:
        caller = caller_scope()
        with get_ledger().engine.connect() as conn:
            found = browse.search_assets(conn, text, caller.ledger_scope(conn))
        with get_ledger().session() as session:
            targets = [s for s in target_states(session) if text.lower() in s.name.lower()]
    return render_template("search.html", q=text, assets=found, targets=targets)


@bp.get("/observed/<int:asset_id>")
@requires(TARGETS_READ)
def asset(asset_id: int):
    """One observed asset: readable facts, declared twin, summaries and its target's charts."""
    caller = caller_scope()
    zone = get_settings().timezone
    with get_ledger().engine.connect() as conn:
        scope = caller.ledger_scope(conn)
        found = browse.asset(conn, asset_id)
        if found is None or not scope.covers(browse.owner_of(conn, asset_id)):
            abort(404)
        since = analyses.today(get_settings().analysis, dt.datetime.now(dt.timezone.utc)) \
            - dt.timedelta(days=30)
        days = browse.asset_days(conn, asset_id, since)
        # A target that reports many assets (a vCenter) draws its own charts, not this one's.
        alone = browse.source_size(conn, found["source"]) == 1
    with get_ledger().session() as session:   # a cloud asset's source may be no target
        has_target = session.get(TargetState, found["source"]) is not None
    range_key = page_range()
    summary = figures.line_chart(translate("daily_summaries"), [
        (translate(label), [(_noon(d["day"], zone), d[column]) for d in days
                            if d[column] is not None])
        for label, column in (("cpu_p95", "cpu_p95"), ("memory_p95", "memory_p95"))],
        "%", zone, translate("time"))
    ports = facts.interfaces((found.get("attributes") or {}).get("interfaces") or [])
    return render_template(
        "asset.html", asset=found, has_target=has_target, facts=facts.readable(found, zone), ports=ports,
        summary=figures.to_html(summary) if days else None,
        charts=charts({TARGET_TAG: found["source"]}, range_key) if alone else [],
        ranges=list(RANGES),
        range_key=range_key, refresh=page_refresh(), refresh_choices=REFRESH,
        zone=figures.zone_label(zone))


def _noon(day: dt.date, zone: str) -> float:
    from zoneinfo import ZoneInfo
    return dt.datetime.combine(day, dt.time(12), ZoneInfo(zone)).timestamp()
