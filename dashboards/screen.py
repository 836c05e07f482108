"""The leadership screen (领导大屏): total compute, where it is, how it is used, what it is
made of, the KPIs against their targets, idle investment and migration progress.

Dark, large type, fitted to 1920x1080 without scrolling, reloading itself every minute.
Figures come from :mod:`ledger.analyses` (compute ledger, KPIs, migration progress) and
:mod:`ledger.browse` (daily-summary trend, idle investment by department), within the
caller's department scope. The analyses read the whole ledger, so their results are kept
for ``SCREEN_CACHE_SECONDS`` (default 60) per scope: twenty screens on the wall cost one
computation a minute, not twenty.
"""

from __future__ import annotations

import datetime as dt

from flask import Blueprint, current_app, render_template

from dashboards import figures_screen as fs
from dashboards.access import caller_scope, requires
from dashboards.cache import cached
from dashboards.figures import to_html
from dashboards.i18n import current_language, translate
from dashboards.resources import get_ledger, get_settings
from ledger import analyses, browse
from ledger.census.tables import TABLES
from ledger.identity.roles import OVERVIEW_READ

bp = Blueprint("screen", __name__)
KPIS = ("ledger_accuracy", "cloud_migration_rate", "network_integration_rate",
        "idle_investment_reclaimed")
SYSTEM_STATES = ("migrated", "legacy_retired", "in_progress", "planned", "unverified",
                 "not_planned")
REFRESH_SECONDS = 60


def screen_data(scope) -> dict:
    """Everything the screen shows for ``scope`` (the slow part, cached)."""
    engine, policy = get_ledger().engine, get_settings().analysis
    now = dt.datetime.now(dt.timezone.utc)
    compute = analyses.compute_ledger(engine, policy, scope, by="department", now=now)
    progress = analyses.migration_progress(engine, policy, scope, now=now)
    kpis = analyses.kpis(engine, policy, scope, now=now)
    with engine.connect() as conn:
        trend = browse.trend(conn, scope, analyses.today(policy, now) - dt.timedelta(days=30))
        idle = browse.idle_by_department(conn, scope, limit=8)
        regions = _department_regions(conn)
        names = _department_names(conn)
        declared_storage = declared_storage_tib(_platform_storage(conn, scope))
    counts: dict[str, int] = {}
    for item in progress["systems"]:
        counts[item["status"]] = counts.get(item["status"], 0) + 1
    return {"compute": compute, "progress": progress, "kpis": kpis, "trend": trend,
            "idle": idle, "regions": regions, "names": names, "systems": counts,
            "declared_storage_tib": declared_storage,
            "overdue": len(progress["overdue"]), "as_of": now}


def _department_regions(conn) -> dict[str, str | None]:
    departments, regions = TABLES["department"], TABLES["region"]
    rows = conn.execute(departments.select().with_only_columns(
        departments.c.code, regions.c.name).join_from(
        departments, regions, departments.c.region_id == regions.c.id, isouter=True))
    return {code: name for code, name in rows}


def _department_names(conn) -> dict[str, str]:
    departments = TABLES["department"]
    return {code: name for code, name in conn.execute(
        departments.select().with_only_columns(departments.c.code, departments.c.name))}


def _platform_storage(conn, scope) -> list[str]:
    """The storage the caller's cloud platforms declare (census text such as "800 TiB")."""
    platforms = TABLES["cloud_platform"]
    query = platforms.select().with_only_columns(platforms.c.storage)
    if not scope.unrestricted:
        query = query.where(platforms.c.department_id.in_(scope.department_ids))
    return [text for text, in conn.execute(query) if text]


#: Storage units as census forms write them, in TiB.
STORAGE_UNITS = {"pib": 1024.0, "pb": 1e15 / 2 ** 40, "tib": 1.0, "tb": 1e12 / 2 ** 40,
                 "gib": 1 / 1024, "gb": 1e9 / 2 ** 40}


def declared_storage_tib(texts) -> float:
    """The total of declared storage texts ("800 TiB", "1.5PB", "200 TB 存储") in TiB; a text
    without a number and a unit counts nothing."""
    import re
    total = 0.0
    for text in texts:
        for number, unit in re.findall(r"(\d+(?:\.\d+)?)\s*(PiB|PB|TiB|TB|GiB|GB)", str(text),
                                       re.I):
            total += float(number) * STORAGE_UNITS[unit.lower()]
    return total


def storage_shown(totals: dict, declared_tib: float) -> tuple[str, str]:
    """(figure, basis) of the storage total: observed storage when there is any, else what
    the platforms declare (basis ``declared``), else a dash, never a misleading 0."""
    observed = (totals.get("storage_bytes", 0) + totals.get("vm_disk_bytes", 0)) / 2 ** 40
    if observed > 0:
        return f"{observed:,.1f}", "observed"
    if declared_tib > 0:
        return f"{declared_tib:,.1f}", "declared"
    return "—", "none"


@bp.get("/screen")
@requires(OVERVIEW_READ)
def show():
    """The screen for the caller's scope."""
    caller = caller_scope()
    with get_ledger().engine.connect() as conn:
        scope = caller.ledger_scope(conn)
    ttl = current_app.config.get("SCREEN_CACHE_SECONDS", 60)
    data = cached(("screen", scope.root), ttl, lambda: screen_data(scope))
    figures = cached(("screen-figures", scope.root, current_language()), ttl,
                     lambda: [to_html(f) for f in screen_figures(data)])
    return render_template("screen.html", totals=data["compute"]["totals"], figures=figures,
                           data=data, refresh=REFRESH_SECONDS, scope=scope.root,
                           money=money, storage=storage_shown(
                               data["compute"]["totals"], data["declared_storage_tib"]))


def screen_figures(data: dict) -> list:
    """The six figures of the screen from :func:`screen_data`."""
    compute = data["compute"]
    return [
        fs.distribution(translate("screen_distribution"), compute["groups"], data["regions"],
                        "cores", translate("screen_all"), data["names"]),
        fs.trend(translate("screen_trend"), data["trend"],
                 {"cpu": translate("cpu_p95"), "memory": translate("memory_p95")}),
        fs.composition(translate("screen_composition"), compute["composition"],
                       compute["domestic_share"], translate("screen_domestic")),
        fs.kpi_bars(translate("screen_kpis"), data["kpis"],
                    {key: translate(f"kpi_{key}") for key in KPIS}),
        fs.idle_bars(translate("screen_idle"), data["idle"], money),
        fs.migration(translate("screen_migration"), data["systems"],
                     {key: translate(f"system_{key}") for key in SYSTEM_STATES}),
    ]


def money(amount_yuan: float) -> str:
    """An amount as leaders read it: 万元 in Chinese, CNY in English."""
    if translate("yuan_unit") == "万元":
        return f"{amount_yuan / 10000:,.1f} 万元"
    return f"CNY {amount_yuan:,.0f}"
