"""Migration evidence as set-based SQL: what was observed, counted per declared system,
dedicated network and data center by the database (:class:`ledger.migration.Evidence`).

An entity (see :mod:`ledger.entity_sql`) is *gone* when not seen for the reconciliation's
``missing_after``, *silent* while reconciliation holds it suspect (its sources stopped
reporting it), *idle* while an idle finding about it is active, else *active*; a
declared asset takes the state of the entity reconciliation paired it with, *unseen*
without one. Network and data center tags are resolved through the census code books once
per distinct tag. Traffic is an entity's highest daily p95 in plus out since ``since``.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from sqlalchemy import Connection, bindparam, text

from ledger import entity_sql
from ledger.census.tables import TABLES
from ledger.migration import Evidence
from ledger.models import ObservedAsset

TEMP = ("tmp_mg_code", "tmp_mg_entity", "tmp_mg_link", "tmp_mg_traffic", "tmp_mg_idle",
        "tmp_mg_silent")
ANSWERING = "e.state IN ('active', 'idle')"


def evidence(conn: Connection, *, now: dt.datetime, gone_after: dt.timedelta,
             since: dt.date) -> Evidence:
    """Count the evidence of every declared system, network and data center."""
    with entity_sql.temporary(conn, TEMP):
        _fill(conn, now - gone_after, since)
        return Evidence(_systems(conn), _networks(conn), _centers(conn), _dc_devices(conn))


def _fill(conn: Connection, cutoff: dt.datetime, since: dt.date) -> None:
    oa = ObservedAsset.__table__
    entity_sql.code_table(conn, "tmp_mg_code", {"dedicated_network": "network",
                                                "data_center": "data_center"})
    entities = entity_sql.query(("network", "data_center"), latest=("last_seen",))
    traffic = """
        SELECT COALESCE(oa.entity_id, oa.id) AS eid,
               MAX(COALESCE(ud.net_in_p95, 0) + COALESCE(ud.net_out_p95, 0)) AS traffic
        FROM utilization_day ud JOIN observed_asset oa ON oa.id = ud.asset_id
        WHERE ud.day >= :since AND ud.low_coverage = :no
        GROUP BY COALESCE(oa.entity_id, oa.id)"""
    params = {"since": since, "no": False, "yes": True}
    entity_sql.temp_table(conn, "tmp_mg_traffic", "eid INTEGER NOT NULL, traffic FLOAT",
                          "eid", traffic, params)
    entity_sql.temp_table(conn, "tmp_mg_idle", "eid INTEGER NOT NULL", "eid", """
        SELECT DISTINCT observed_asset_id FROM finding
        WHERE kind = 'idle' AND active = :yes AND observed_asset_id IS NOT NULL""", params)
    entity_sql.temp_table(conn, "tmp_mg_silent", "eid INTEGER NOT NULL", "eid", """
        SELECT DISTINCT observed_asset_id FROM reconcile_pair
        WHERE outcome = 'suspect' AND observed_asset_id IS NOT NULL""")
    select_ = f"""
        SELECT e.eid, CASE WHEN e.last_seen < :cutoff THEN 'gone'
                           WHEN s.eid IS NOT NULL THEN 'silent'
                           WHEN f.eid IS NOT NULL THEN 'idle'
                           ELSE 'active' END,
               net.id, dc.id, t.traffic
        FROM ({entities}) e
        LEFT JOIN tmp_mg_silent s ON s.eid = e.eid
        LEFT JOIN tmp_mg_idle f ON f.eid = e.eid
        LEFT JOIN tmp_mg_code net ON net.category = 'dedicated_network' AND net.tag = e.network
        LEFT JOIN tmp_mg_code dc ON dc.category = 'data_center' AND dc.tag = e.data_center
        LEFT JOIN tmp_mg_traffic t ON t.eid = e.eid"""
    conn.execute(text("CREATE TEMPORARY TABLE tmp_mg_entity (eid INTEGER NOT NULL, "
                      "state TEXT NOT NULL, network_id INTEGER, data_center_id INTEGER, "
                      "traffic FLOAT)"))
    insert = text(f"INSERT INTO tmp_mg_entity {select_}").bindparams(
        bindparam("cutoff", type_=oa.c.last_seen.type))
    conn.execute(insert, {"cutoff": cutoff, **params})
    conn.execute(text("CREATE INDEX tmp_mg_entity_key ON tmp_mg_entity (eid)"))
    entity_sql.link_table(conn, "tmp_mg_link", key="declared_id")


def _state(category: str, alias: str) -> str:
    """Join a declared table ``alias`` of ``category`` to its entity's state ``e.state``."""
    return (f"LEFT JOIN tmp_mg_link l ON l.declared_category = '{category}' "
            f"AND l.declared_id = {alias}.id "
            f"LEFT JOIN tmp_mg_entity e ON e.eid = l.observed_asset_id")


def _systems(conn: Connection) -> dict[int, dict]:
    resources, devices = TABLES["cloud_resource"].name, TABLES["device"].name
    systems = TABLES["information_system"].name
    out: dict[int, dict] = {}

    def item(id_: int) -> dict:
        return out.setdefault(id_, {"cloud_declared": 0, "cloud_seen": 0,
                                    "cloud_seen_on_target": 0, "legacy": Counter()})
    for sid, declared, seen, on_target in conn.execute(text(f"""
            SELECT r.information_system_id, COUNT(*),
                   SUM(CASE WHEN {ANSWERING} THEN 1 ELSE 0 END),
                   SUM(CASE WHEN {ANSWERING} AND (s.migration_target_id IS NULL
                                 OR r.platform_id = s.migration_target_id) THEN 1 ELSE 0 END)
            FROM {resources} r {_state("cloud_resource", "r")}
            LEFT JOIN {systems} s ON s.id = r.information_system_id
            WHERE r.information_system_id IS NOT NULL
            GROUP BY r.information_system_id""")):
        item(sid).update(cloud_declared=int(declared), cloud_seen=int(seen),
                         cloud_seen_on_target=int(on_target))
    state = "CASE WHEN d.status = 'retired' THEN 'retired' ELSE COALESCE(e.state, 'unseen') END"
    for sid, name, count in conn.execute(text(f"""
            SELECT d.information_system_id, {state}, COUNT(*)
            FROM {devices} d {_state("device", "d")}
            WHERE d.information_system_id IS NOT NULL
            GROUP BY d.information_system_id, {state}""")):
        item(sid)["legacy"][name] = int(count)
    return out


def _networks(conn: Connection) -> dict[str, tuple[int, int, float]]:
    networks = TABLES["dedicated_network"].name
    return {code: (int(devices), int(answering), float(traffic or 0))
            for code, devices, answering, traffic in conn.execute(text(f"""
                SELECT n.code, COUNT(*), SUM(CASE WHEN {ANSWERING} THEN 1 ELSE 0 END),
                       SUM(CASE WHEN {ANSWERING} THEN COALESCE(e.traffic, 0) ELSE 0 END)
                FROM tmp_mg_entity e JOIN {networks} n ON n.id = e.network_id
                GROUP BY n.code"""))}


def _centers(conn: Connection) -> dict[int, tuple[int, int]]:
    devices = TABLES["device"].name
    return {dc: (int(declared), int(answering)) for dc, declared, answering in conn.execute(
        text(f"""
            SELECT d.data_center_id, COUNT(*), SUM(CASE WHEN {ANSWERING} THEN 1 ELSE 0 END)
            FROM {devices} d {_state("device", "d")}
            WHERE d.data_center_id IS NOT NULL AND (d.status IS NULL OR d.status <> 'retired')
            GROUP BY d.data_center_id"""))}


def _dc_devices(conn: Connection) -> dict[str, int]:
    centers = TABLES["data_center"].name
    return {code: int(count) for code, count in conn.execute(text(f"""
        SELECT c.code, COUNT(*) FROM tmp_mg_entity e JOIN {centers} c ON c.id = e.data_center_id
        WHERE {ANSWERING} GROUP BY c.code"""))}
