"""Reconciliation as set-based SQL (SQLite and PostgreSQL), step by step into temporary
tables, with the rules of :mod:`ledger.reconcile.entities`, :mod:`~ledger.reconcile.match`,
:mod:`~ledger.reconcile.compare` and :mod:`~ledger.reconcile.engine`, which stay as the
definition the tests hold this to (plain-row cases, drawn estates, the real collectors'
estate; pairs and findings must be equal).

1. ``rc_row``: reconcilable observed rows with their normalised vendor, address and host;
   ``rc_val``: their identity values (serial ``s``, machine UUID ``u``, instance or volume
   UUID ``i``, MAC ``m``), without placeholders and without values two rows of one collector
   share (set aside in ``rc_shared``). Normalising is :mod:`ledger.reconcile.sql_norm`;
   vendors and models are normalised once per distinct value (``rc_vendor``, ``rc_model``).
2. ``rc_member``: every row's entity, the smallest row id of the rows its values connect
   (connected components by label propagation over the values several rows carry: a few
   passes of two joins, however large the estate); ``rc_ent``: entities, their class.
3. ``rc_dkey``: declared devices' and cloud resources' normalised keys.
4. ``rc_hit``: which declared assets each configured key of an entity points at, with the
   key's rank in the policy (strongest first); ``rc_rank``: how many per key.
5. ``rc_clean``: entities whose keys agree on one declared asset (with the strongest key
   that found it); ``rc_contested``: declared assets several clean entities claim;
   ``rc_conflict``: the declared assets of entities whose keys disagree.
6. ``rc_fig``: per entity its best row, when it was seen and the first non-empty value of
   each compared column (best source first); ``rc_ekey``: the keys it is reported by.
7. ``rc_match``: clean, uncontested entities, ``missing`` or ``suspect`` when they stopped
   being seen (``rc_src``: per source, a handful of targets, the time before which an asset
   it still reports about is overdue, and whether it went silent).
8. ``rc_diff``: the fields that differ, with the row the observed value came from.
9. ``rc_pair``: every pair in the engine's order.
10. ``rc_out``: each pair's fingerprint and a digest of everything its stored columns are
    made of but the times it was seen, so the store (:func:`ledger.reconcile.store.run`)
    diffs pairs in the database: it inserts new pairs (:meth:`Matcher.insert_new`), selects
    the changed ones and those findings are made of (``rc_sel``, :meth:`Matcher.changed`),
    has Python build only those (:meth:`Matcher.outcome` with ``selected``) and moves the
    first and last seen times a poll changed in one statement (:meth:`Matcher.seen`).

A matcher reads the whole estate, or (:meth:`Matcher.scope`) only the rows
:mod:`ledger.reconcile.scope` found a change could reach: the first steps then read copies
of those rows, every later one joins by row id.

:func:`reconcile` runs steps 1-9 in one snapshot (:func:`ledger.entity_sql.temporary`) and
turns every result row into the :class:`~ledger.reconcile.engine.Outcome` (what the tests
hold to the definition).
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
from collections import defaultdict
from typing import Mapping, Sequence

from sqlalchemy import Connection, bindparam, text

from ledger.census.tables import TABLES as TABLES_OF
from ledger.entity_sql import KINDS, analyze, code_table, temp_table, temporary
from ledger.estate import target_states
from ledger.findings import Found
from ledger.reconcile import sql_norm
from ledger.reconcile.compare import _DEVICE, _RESOURCE, GIB
from ledger.models import ObservedAsset, UTCDateTime
from ledger.reconcile.engine import OUTCOMES, Outcome, source_silent
from ledger.reconcile.entities import PRIORITY, RESOURCE_KINDS

#: Observed columns an entity's figures are read from (first non-empty, best source first).
FIGURES = ("serial_number", "vendor", "model", "cpu_model", "cpu_cores", "vcpus",
           "memory_bytes", "disk_bytes", "hostname", "mgmt_ip", "data_center", "platform",
           "department_id", "department", "power_state")
_TEXT = frozenset({"serial_number", "vendor", "model", "cpu_model", "hostname", "mgmt_ip",
                   "data_center", "platform", "department", "power_state"})
_TS = {"postgresql": "TIMESTAMP WITH TIME ZONE", "sqlite": "TIMESTAMP"}
TABLES = (sql_norm.TABLE, "rc_skip", "rc_vendor", "rc_model", "rc_oa", "rc_dv", "rc_cr",
          "rc_row", "rc_val", "rc_valx", "rc_shared",
          "rc_link", "rc_member", "rc_label", "rc_vmin", "rc_step",
          "rc_dkey", "rc_hit", "rc_rank", "rc_cand", "rc_clean", "rc_contested",
          "rc_conflict", "rc_ent", "rc_fig", "rc_ekey", "rc_src", "rc_match", "rc_code",
          "rc_diff", "rc_dep", "rc_pair", "rc_ssum", "rc_dsum", "rc_out", "rc_sel")
#: Which observed identity value each key reads, and which declared key it looks up.
_VALUE_KEYS = {"serial_number": ("s", "s"), "instance_uuid": ("i", "i"),
               "machine_uuid": ("u", "i"), "mac": ("m", "m")}


def before(now: dt.datetime, seconds: float) -> dt.datetime:
    """``now`` less ``seconds``, or the earliest time there is when that is earlier."""
    try:
        return now - dt.timedelta(seconds=seconds)
    except OverflowError:
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)


class Matcher:
    """The steps of matching on one connection (see the module docstring)."""

    def __init__(self, conn: Connection, placeholders: Sequence[str] = ()) -> None:
        self.conn = conn
        self.norm = sql_norm.Norm(conn)
        self.skip = sorted({str(v).strip().lower() for v in placeholders})
        self.contains = "strpos" if conn.dialect.name == "postgresql" else "instr"
        self.sourced = False
        if conn.dialect.name == "sqlite":
            raw = conn.connection.driver_connection
            raw.create_function("rc_md5", 1, _md5, deterministic=True)
            raw.create_aggregate("rc_md5_ordered", 2, _OrderedDigest)
        else:
            # Compiling these many-expression statements (JIT) costs more than it saves,
            # and seconds on a run over a few rows whose joins the planner costs high.
            conn.exec_driver_sql("SET jit = off")
        self.scope(False)

    def scope(self, scoped: bool) -> None:
        """Read the whole estate, or (``scoped``) only the rows of ``rc_scope``, copied by
        :meth:`load_scope` into ``rc_oa``, ``rc_dv`` and ``rc_cr``: the first steps read
        observed and declared rows from these names, every later step joins by row id."""
        self.scoped = scoped
        self.oa = "rc_oa" if scoped else "observed_asset"
        self.dv = "rc_dv" if scoped else TABLES_OF["device"].name
        self.cr = "rc_cr" if scoped else TABLES_OF["cloud_resource"].name

    def load_scope(self) -> None:
        """Copy the rows ``rc_scope`` names (side ``o`` observed, ``d`` declared) into
        ``rc_oa``, ``rc_dv`` and ``rc_cr``, and read from those (:meth:`scope`)."""
        copies = (("rc_oa", "observed_asset", "o", ""),
                  ("rc_dv", TABLES_OF["device"].name, "d", "device"),
                  ("rc_cr", TABLES_OF["cloud_resource"].name, "d", "cloud_resource"))
        for name, table, side, cat in copies:
            # From the few scope rows to the table by its key (CROSS JOIN keeps SQLite
            # from scanning the table instead).
            self._run(f"""CREATE TEMPORARY TABLE {name} AS SELECT t.* FROM rc_scope s
                          CROSS JOIN {table} t WHERE t.id = s.row_id
                          AND s.side = '{side}' AND s.cat = '{cat}'""")
            self._run(f"CREATE INDEX {name}_id ON {name} (id)")
            analyze(self.conn, name)
        self.scope(True)

    def _run(self, sql: str) -> int:
        return self.conn.execute(text(sql)).rowcount

    def _kept(self, column: str) -> str:
        """SQL true when ``column`` is a value and not a configured placeholder (held in
        ``rc_skip``, filled through bound parameters: configured text never becomes SQL)."""
        if not self.skip:
            return f"{column} IS NOT NULL"
        return (f"{column} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM rc_skip k "
                f"WHERE k.skipped = lower({column}))")

    def _skip_table(self) -> None:
        self._run("CREATE TEMPORARY TABLE rc_skip (skipped TEXT PRIMARY KEY)")
        if self.skip:
            self.conn.execute(text("INSERT INTO rc_skip (skipped) VALUES (:value)"),
                              [{"value": v} for v in self.skip])

    # 1. Observed rows and their identity values.
    def observed(self) -> None:
        norm = self.norm
        kinds = ", ".join(f"'{k}'" for k in KINDS)
        prio = "CASE oa.kind " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in PRIORITY.items()) + \
            " ELSE 9 END"
        resource = ", ".join(f"'{k}'" for k in sorted(RESOURCE_KINDS))
        if self.conn.dialect.name == "postgresql":
            macs = ("json_array_elements_text(CASE WHEN json_typeof(oa.macs) = 'array' "
                    "THEN oa.macs ELSE '[]'::json END) AS m(value)")
        else:
            macs = "json_each(CASE WHEN json_valid(oa.macs) AND json_type(oa.macs) = 'array' " \
                   "THEN oa.macs ELSE '[]' END) AS m"
        self._prepare(macs, kinds)
        volume = norm("uuid", norm("tail", "natural_key"))
        self._names("rc_vendor", (f"{self.oa}.vendor", f"{self.dv}.vendor"), "vendor")
        temp_table(self.conn, "rc_row",
                   "id INTEGER PRIMARY KEY, collector TEXT, kind TEXT, prio INTEGER, "
                   "res INTEGER, vendor TEXT, ip TEXT, host TEXT", None, f"""
            SELECT oa.id, oa.collector, oa.kind, {prio},
                   CASE WHEN oa.kind IN ({resource}) THEN 1 ELSE 0 END, vn.norm,
                   {norm('ip', 'oa.mgmt_ip')}, {norm('host', 'oa.hostname')}
            FROM {self.oa} oa LEFT JOIN rc_vendor vn ON vn.raw = oa.vendor
            WHERE oa.kind IN ({kinds})""")
        oa = self.oa
        values = f"""
            SELECT id, collector, 's' AS tag, {norm('serial', 'serial_number')} AS value
            FROM {oa} WHERE kind IN ({kinds})
            UNION ALL
            SELECT id, collector, 'u', {norm('uuid', 'machine_uuid')}
            FROM {oa} WHERE kind IN ({kinds})
            UNION ALL
            SELECT id, collector, 'i', COALESCE({norm('uuid', 'instance_uuid')},
                CASE WHEN kind = 'volume' AND substr(natural_key, 1, 11) = 'res:volume:'
                     THEN {volume} END)
            FROM {oa} WHERE kind IN ({kinds})
            UNION ALL
            SELECT DISTINCT oa.id, oa.collector, 'm', {norm('mac', 'm.value')}
            FROM {oa} oa, {macs} WHERE oa.kind IN ({kinds})"""
        # One value per row and tag (MACs made distinct above).
        temp_table(self.conn, "rc_val", "row_id INTEGER NOT NULL, collector TEXT, "
                   "tag TEXT NOT NULL, value TEXT NOT NULL", None,
                   f"SELECT * FROM ({values}) v WHERE {self._kept('value')}")
        # A value two rows of one collector carry is no identity (a placeholder in disguise).
        temp_table(self.conn, "rc_shared", "tag TEXT NOT NULL, value TEXT NOT NULL",
                   "tag, value", """
            SELECT DISTINCT tag, value FROM rc_val
            GROUP BY tag, value, collector HAVING COUNT(*) > 1""")
        # What is set aside stays a key of its row for the scope of the next run.
        temp_table(self.conn, "rc_valx", "row_id INTEGER NOT NULL, tag TEXT NOT NULL, "
                   "value TEXT NOT NULL", None, """
            SELECT row_id, tag, value FROM rc_val WHERE EXISTS (SELECT 1 FROM rc_shared s
                WHERE s.tag = rc_val.tag AND s.value = rc_val.value)""")
        self._run("""DELETE FROM rc_val WHERE EXISTS (SELECT 1 FROM rc_shared s
                     WHERE s.tag = rc_val.tag AND s.value = rc_val.value)""")
        self._index("rc_val", "tag, value", large=True)
        self._index("rc_val", "row_id", large=True)
        analyze(self.conn, "rc_val")

    def _index(self, table: str, columns: str, *, large: bool = False) -> None:
        """An index to join ``table`` by; a ``large`` table's only on SQLite (which joins
        by nested loops): PostgreSQL, with the tables analysed, hashes those joins, and
        building the index over millions of rows would cost more than it saves."""
        if large and self.conn.dialect.name != "sqlite":
            return
        name = f"{table}_{columns.replace(', ', '_')}"
        self._run(f"CREATE INDEX {name} ON {table} ({columns})")

    def _names(self, name: str, columns: Sequence[str], rule: str) -> None:
        """``name`` (raw, norm): each distinct value of ``columns`` (``table.column``)
        normalised once (vendors and models repeat across the whole estate)."""
        sources = [f"SELECT {c.split('.')[1]} AS raw FROM {c.split('.')[0]}" for c in columns]
        if self.conn.dialect.name == "postgresql":
            self.norm.prepare(rule, sources)
            temp_table(self.conn, name, "raw TEXT PRIMARY KEY, norm TEXT", None,
                       f"SELECT raw, norm FROM {sql_norm.TABLE} WHERE kind = '{rule}'")
            return
        values = " UNION ".join(f"{source} WHERE raw IS NOT NULL" for source in sources)
        temp_table(self.conn, name, "raw TEXT PRIMARY KEY, norm TEXT", None,
                   f"SELECT raw, {self.norm(rule, 'raw')} FROM ({values}) v")

    def _prepare(self, macs: str, kinds: str) -> None:
        """Odd identity values of both sides, normalised once by the Python rules."""
        device, resource, oa = self.dv, self.cr, self.oa
        tail = self.norm("tail", "natural_key")
        sources = {
            "serial": [f"SELECT serial_number AS raw FROM {oa}",
                       f"SELECT serial_number AS raw FROM {device}"],
            "uuid": [f"SELECT machine_uuid AS raw FROM {oa}",
                     f"SELECT instance_uuid AS raw FROM {oa}",
                     f"SELECT {tail} AS raw FROM {oa} WHERE kind = 'volume'",
                     f"SELECT instance_id AS raw FROM {resource}"],
            "mac": [f"SELECT m.value AS raw FROM {oa} oa, {macs} WHERE oa.kind IN ({kinds})",
                    f"SELECT mac AS raw FROM {device}"],
            "ip": [f"SELECT mgmt_ip AS raw FROM {oa}",
                   f"SELECT management_ip AS raw FROM {device}",
                   f"SELECT ip_address AS raw FROM {resource}"],
            "host": [f"SELECT hostname AS raw FROM {oa}", f"SELECT hostname AS raw FROM {device}",
                     f"SELECT hostname AS raw FROM {resource}"],
        }
        for kind, queries in sources.items():
            self.norm.prepare(kind, queries)

    # 2. Entities.
    def entities(self) -> int:
        """Fill ``rc_member`` (row -> entity); return the passes it took."""
        # Only values several rows carry connect rows (most values are one row's own).
        temp_table(self.conn, "rc_link", "row_id INTEGER NOT NULL, tag TEXT NOT NULL, "
                   "value TEXT NOT NULL", "row_id", """
            SELECT v.row_id, v.tag, v.value FROM rc_val v JOIN (
                SELECT tag, value FROM rc_val GROUP BY tag, value HAVING COUNT(*) > 1) l
            ON l.tag = v.tag AND l.value = v.value""")
        temp_table(self.conn, "rc_label", "row_id INTEGER PRIMARY KEY, eid INTEGER NOT NULL",
                   None, "SELECT DISTINCT row_id, row_id FROM rc_link")
        passes = 0
        while True:
            passes += 1
            temp_table(self.conn, "rc_vmin", "tag TEXT NOT NULL, value TEXT NOT NULL, "
                       "eid INTEGER NOT NULL", "tag, value", """
                SELECT v.tag, v.value, MIN(l.eid) FROM rc_link v
                JOIN rc_label l ON l.row_id = v.row_id GROUP BY v.tag, v.value""")
            temp_table(self.conn, "rc_step", "row_id INTEGER PRIMARY KEY, eid INTEGER NOT NULL",
                       None, """
                SELECT v.row_id, MIN(m.eid) FROM rc_link v
                JOIN rc_vmin m ON m.tag = v.tag AND m.value = v.value GROUP BY v.row_id""")
            changed = self._run("""
                UPDATE rc_label SET eid = s.eid FROM rc_step s
                WHERE s.row_id = rc_label.row_id AND s.eid < rc_label.eid""")
            self._run("DROP TABLE rc_vmin")
            self._run("DROP TABLE rc_step")
            if not changed:
                break
            # Pointer jumping: a row takes its label's label, halving every chain each
            # time, so a chain of k rows settles in about log2(k) passes, not k.
            while self._jump():
                pass
        temp_table(self.conn, "rc_member", "row_id INTEGER PRIMARY KEY, eid INTEGER NOT NULL",
                   None, """
            SELECT r.id, COALESCE(l.eid, r.id) FROM rc_row r
            LEFT JOIN rc_label l ON l.row_id = r.id""")
        self._index("rc_member", "eid")
        # Rows without a linking value are entities on their own (most of them).
        temp_table(self.conn, "rc_ent", "eid INTEGER PRIMARY KEY, res INTEGER NOT NULL, "
                   "rows INTEGER NOT NULL", None, """
            SELECT r.id, r.res, 1 FROM rc_row r
            WHERE NOT EXISTS (SELECT 1 FROM rc_label l WHERE l.row_id = r.id)
            UNION ALL
            SELECT l.eid, MAX(r.res), COUNT(*) FROM rc_label l JOIN rc_row r ON r.id = l.row_id
            GROUP BY l.eid""")
        return passes

    def _jump(self) -> int:
        temp_table(self.conn, "rc_step", "row_id INTEGER PRIMARY KEY, eid INTEGER NOT NULL",
                   None, """
            SELECT l.row_id, p.eid FROM rc_label l JOIN rc_label p ON p.row_id = l.eid
            WHERE p.eid < l.eid""")
        changed = self._run("""
            UPDATE rc_label SET eid = s.eid FROM rc_step s WHERE s.row_id = rc_label.row_id""")
        self._run("DROP TABLE rc_step")
        return changed

    # 3. Declared keys.
    def declared(self) -> None:
        norm = self.norm
        device, resource = self.dv, self.cr
        per_row = {
            "device": (f"FROM {device} d LEFT JOIN rc_vendor vn ON vn.raw = d.vendor", (
                ("s", f"{norm('serial', 'd.serial_number')}", "vn.norm"),
                ("m", f"{norm('mac', 'd.mac')}", "NULL"),
                ("ip", f"{norm('ip', 'd.management_ip')}", f"{norm('host', 'd.hostname')}"),
                ("h", f"{norm('host', 'd.hostname')}", "NULL"))),
            "cloud_resource": (f"FROM {resource} d", (
                ("i", f"{norm('uuid', 'd.instance_id')}", "NULL"),
                ("ip", f"{norm('ip', 'd.ip_address')}", f"{norm('host', 'd.hostname')}"),
                ("h", f"{norm('host', 'd.hostname')}", "NULL")))}
        if self.conn.dialect.name == "postgresql":
            # Each declared row read once, its keys side by side.
            keys = " UNION ALL ".join(
                f"SELECT '{cat}' AS cat, d.id AS did, k.tag, k.value, k.aux {source} "
                f"CROSS JOIN LATERAL (VALUES "
                + ", ".join(f"('{tag}', {value}, {aux})" for tag, value, aux in items)
                + ") AS k(tag, value, aux)"
                for cat, (source, items) in per_row.items())
        else:
            keys = " UNION ALL ".join(
                f"SELECT '{cat}' AS cat, d.id AS did, '{tag}' AS tag, {value} AS value, "
                f"{aux} AS aux {source}"
                for cat, (source, items) in per_row.items() for tag, value, aux in items)
        temp_table(self.conn, "rc_dkey", "cat TEXT NOT NULL, did INTEGER NOT NULL, "
                   "tag TEXT NOT NULL, value TEXT NOT NULL, aux TEXT", None,
                   f"SELECT * FROM ({keys}) k WHERE {self._kept('value')}")
        self._index("rc_dkey", "tag, value", large=True)
        analyze(self.conn, "rc_dkey")

    # 4. What each key points at.
    def hits(self, keys: Mapping[str, Sequence[str]]) -> None:
        temp_table(self.conn, "rc_hit", "eid INTEGER NOT NULL, rank INTEGER NOT NULL, "
                   "cat TEXT NOT NULL, did INTEGER NOT NULL", None,
                   "SELECT 0, 0, '', 0 WHERE 0 = 1")
        klasses = {"device": 0, "cloud_resource": 1}
        names = {name for klass in klasses for name in keys.get(klass, ())}
        for name in sorted(names):
            ranks = {res: list(keys.get(klass, ())).index(name)
                     for klass, res in klasses.items() if name in keys.get(klass, ())}
            rank = "CASE e.res " + " ".join(f"WHEN {res} THEN {r}" for res, r in
                                            ranks.items()) + " END"
            which = ", ".join(str(res) for res in ranks)
            self._run(f"""INSERT INTO rc_hit SELECT DISTINCT e.eid, {rank}, d.cat, d.did
                          {self._hit_source(name)} AND e.res IN ({which})""")
        self._index("rc_hit", "eid, rank")
        temp_table(self.conn, "rc_rank", "eid INTEGER NOT NULL, rank INTEGER NOT NULL, "
                   "n INTEGER NOT NULL", None,
                   "SELECT eid, rank, COUNT(*) FROM rc_hit GROUP BY eid, rank")
        self._index("rc_rank", "eid, rank")

    def _hit_source(self, name: str) -> str:
        """FROM ... WHERE of the hits of key ``name`` (``e`` the entity, ``d`` the key)."""
        joined = "JOIN rc_member m ON m.row_id = {row} JOIN rc_ent e ON e.eid = m.eid"
        if name in _VALUE_KEYS:
            observed, declared = _VALUE_KEYS[name]
            where = f"v.tag = '{observed}'"
            if name == "serial_number":
                c = self.contains
                return f"""FROM rc_val v {joined.format(row='v.row_id')}
                    JOIN rc_row r ON r.id = v.row_id
                    JOIN rc_dkey d ON d.tag = 's' AND d.value = v.value
                    WHERE {where} AND (r.vendor IS NULL OR d.aux IS NULL OR r.vendor = d.aux
                          OR {c}(r.vendor, d.aux) > 0 OR {c}(d.aux, r.vendor) > 0)"""
            return f"""FROM rc_val v {joined.format(row='v.row_id')}
                JOIN rc_dkey d ON d.tag = '{declared}' AND d.value = v.value WHERE {where}"""
        if name == "mgmt_ip":
            return f"""FROM rc_row r {joined.format(row='r.id')}
                JOIN rc_dkey d ON d.tag = 'ip' AND d.value = r.ip
                WHERE (r.host IS NULL OR d.aux IS NULL OR r.host = d.aux)"""
        if name == "hostname":
            return f"""FROM rc_row r {joined.format(row='r.id')}
                JOIN rc_dkey d ON d.tag = 'h' AND d.value = r.host WHERE 1 = 1"""
        raise ValueError(f"unknown identity key {name!r}")

    # 5. Decisions.
    def decide(self) -> None:
        temp_table(self.conn, "rc_cand", "eid INTEGER NOT NULL, cat TEXT NOT NULL, "
                   "did INTEGER NOT NULL, rank INTEGER NOT NULL", None, """
            SELECT h.eid, h.cat, h.did, MIN(h.rank) FROM rc_hit h
            JOIN rc_rank k ON k.eid = h.eid AND k.rank = h.rank AND k.n = 1
            GROUP BY h.eid, h.cat, h.did""")
        self._index("rc_cand", "eid")
        # One candidate, which every key naming several assets names too.
        temp_table(self.conn, "rc_clean", "eid INTEGER PRIMARY KEY, cat TEXT NOT NULL, "
                   "did INTEGER NOT NULL, rank INTEGER NOT NULL", None, """
            SELECT c.eid, MIN(c.cat), MIN(c.did), MIN(c.rank) FROM rc_cand c
            GROUP BY c.eid HAVING COUNT(*) = 1""")
        self._run("""
            DELETE FROM rc_clean WHERE EXISTS (
                SELECT 1 FROM rc_rank k WHERE k.eid = rc_clean.eid AND k.n > 1
                AND NOT EXISTS (SELECT 1 FROM rc_hit h WHERE h.eid = k.eid
                                AND h.rank = k.rank AND h.cat = rc_clean.cat
                                AND h.did = rc_clean.did))""")
        self._index("rc_clean", "cat, did")
        temp_table(self.conn, "rc_contested", "cat TEXT NOT NULL, did INTEGER NOT NULL",
                   "cat, did", """
            SELECT cat, did FROM rc_clean GROUP BY cat, did HAVING COUNT(*) > 1""")
        temp_table(self.conn, "rc_conflict", "eid INTEGER NOT NULL, cat TEXT NOT NULL, "
                   "did INTEGER NOT NULL", "eid", """
            SELECT DISTINCT h.eid, h.cat, h.did FROM rc_hit h
            WHERE NOT EXISTS (SELECT 1 FROM rc_clean c WHERE c.eid = h.eid)""")

    def match(self, keys: Mapping[str, Sequence[str]]) -> None:
        """Every step, in order."""
        self._skip_table()
        self.observed()
        self.entities()
        self.declared()
        self.hits(keys)
        self.decide()

    # 6. What each entity is: its best row, when seen, its keys, its figures.
    def figures(self) -> None:
        """``rc_fig``: per entity its best row (``pid``), first and last seen and, for each
        of :data:`FIGURES`, the first non-empty value over its rows (best source first)
        with the row it came from; ``rc_ekey``: the keys it is reported by."""
        ts = _TS[self.conn.dialect.name]
        columns = ["eid INTEGER PRIMARY KEY", "pid INTEGER NOT NULL",
                   f"first_seen {ts}", f"last_seen {ts}"]
        for name in FIGURES:
            columns += [f"{name} {'TEXT' if name in _TEXT else 'BIGINT'}", f"{name}_src INTEGER"]
        value = {name: f"NULLIF(oa.{name}, '')" if name in _TEXT else f"oa.{name}"
                 for name in FIGURES}
        single = ", ".join(f"{value[n]}, oa.id" for n in FIGURES)
        windows = []
        for name in FIGURES:
            order = (f"OVER (PARTITION BY m.eid ORDER BY CASE WHEN {value[name]} IS NULL "
                     f"THEN 1 ELSE 0 END, r.prio, oa.id)")
            windows += [f"FIRST_VALUE({value[name]}) {order} AS {name}",
                        f"FIRST_VALUE(oa.id) {order} AS {name}_src"]
        plain = [c for n in FIGURES for c in (n, f"{n}_src")]
        temp_table(self.conn, "rc_fig", ", ".join(columns), None, f"""
            SELECT e.eid, oa.id, oa.first_seen, oa.last_seen, {single}
            FROM rc_ent e JOIN observed_asset oa ON oa.id = e.eid WHERE e.rows = 1
            UNION ALL
            SELECT eid, MAX(pid), MIN(first_seen), MAX(last_seen),
                   {", ".join(f"MAX({c})" for c in plain)}
            FROM (SELECT m.eid,
                         FIRST_VALUE(oa.id) OVER (PARTITION BY m.eid ORDER BY r.prio, oa.id)
                             AS pid,
                         oa.first_seen, oa.last_seen, {", ".join(windows)}
                  FROM rc_ent e JOIN rc_member m ON m.eid = e.eid
                  JOIN rc_row r ON r.id = m.row_id JOIN observed_asset oa ON oa.id = m.row_id
                  WHERE e.rows > 1) w
            GROUP BY eid""")
        # The first row's serial and address (best source first), the smallest UUIDs and
        # host name, every MAC: as Entity.keys() reports them.
        order = ("lpad(r.prio::text, 3, '0') || lpad(r.id::text, 12, '0')"
                 if self.conn.dialect.name == "postgresql" else "printf('%03d%012d', r.prio, r.id)")
        macs = ("string_agg(DISTINCT CASE WHEN v.tag = 'm' THEN v.value END, ',')"
                if self.conn.dialect.name == "postgresql" else
                "group_concat(DISTINCT CASE WHEN v.tag = 'm' THEN v.value END)")
        # Smallest by code point (as Python sorts), whatever the database's collation.
        binary = ' COLLATE "C"' if self.conn.dialect.name == "postgresql" else ""
        temp_table(self.conn, "rc_ekey", "eid INTEGER PRIMARY KEY, serial TEXT, instance TEXT, "
                   "machine TEXT, macs TEXT, ip TEXT, host TEXT", None, f"""
            SELECT k.eid, MAX(k.serial), MAX(k.instance), MAX(k.machine), MAX(k.macs),
                   MAX(k.ip), MAX(k.host)
            FROM (SELECT m.eid, substr(MIN(CASE WHEN v.tag = 's' THEN {order} || v.value END),
                                       16) AS serial,
                         MIN(CASE WHEN v.tag = 'i' THEN v.value END{binary}) AS instance,
                         MIN(CASE WHEN v.tag = 'u' THEN v.value END{binary}) AS machine,
                         {macs} AS macs, NULL AS ip, NULL AS host
                  FROM rc_val v JOIN rc_member m ON m.row_id = v.row_id
                  JOIN rc_row r ON r.id = v.row_id GROUP BY m.eid
                  UNION ALL
                  SELECT m.eid, NULL, NULL, NULL, NULL,
                         substr(MIN(CASE WHEN r.ip IS NOT NULL THEN {order} || r.ip END), 16),
                         MIN(r.host{binary})
                  FROM rc_row r JOIN rc_member m ON m.row_id = r.id
                  WHERE r.ip IS NOT NULL OR r.host IS NOT NULL GROUP BY m.eid) k
            GROUP BY k.eid""")

    # 7. Outcomes.
    def sources(self, policy, states: Mapping[str, object]) -> None:
        """``rc_src``: the sources that can judge "suspect" (a target with an interval):
        per source (a handful of targets, not the estate) whether it went silent and the
        time before which an asset it still reports about is overdue. Made once a run, from
        every observed row whatever the scope."""
        if self.sourced:
            return
        self.sourced = True
        stamp = ObservedAsset.__table__.c.last_seen.type
        ts = _TS[self.conn.dialect.name]
        latest = dict(self.conn.execute(text(
            "SELECT source, MAX(last_seen) AS latest FROM observed_asset GROUP BY source")
            .columns(latest=stamp)).all())
        self._run(f"CREATE TEMPORARY TABLE rc_src (source TEXT PRIMARY KEY, silent INTEGER "
                  f"NOT NULL, cutoff {ts})")
        rows = []
        for source, state in states.items():
            interval = getattr(state, "interval_seconds", None)
            if not interval or source not in latest:
                continue
            window = dt.timedelta(seconds=interval * policy.suspect_after_polls)
            silent = source_silent(state, window)
            rows.append({"source": source, "silent": int(silent),
                         "cutoff": before(latest[source], window.total_seconds())})
        if rows:
            self.conn.execute(text("INSERT INTO rc_src VALUES (:source, :silent, :cutoff)")
                              .bindparams(bindparam("cutoff", type_=stamp)), rows)

    def outcomes(self, policy, now: dt.datetime, states: Mapping[str, object]) -> None:
        """``rc_match``: clean, uncontested entities with their declared asset, ``missing``
        or ``suspect`` when they stopped being seen (else decided by :meth:`differences`)."""
        stamp = ObservedAsset.__table__.c.last_seen.type
        temp_table(self.conn, "rc_match", "eid INTEGER PRIMARY KEY, cat TEXT NOT NULL, "
                   "did INTEGER NOT NULL, rank INTEGER NOT NULL, outcome TEXT", None, """
            SELECT c.eid, c.cat, c.did, c.rank, NULL FROM rc_clean c
            WHERE NOT EXISTS (SELECT 1 FROM rc_contested t
                              WHERE t.cat = c.cat AND t.did = c.did)""")
        gone = before(now, policy.missing_after)
        self.conn.execute(text("""
            UPDATE rc_match SET outcome = 'missing' WHERE EXISTS (
                SELECT 1 FROM rc_fig f WHERE f.eid = rc_match.eid AND f.last_seen < :gone)""")
            .bindparams(bindparam("gone", type_=stamp)), {"gone": gone})
        self.sources(policy, states)
        judged = """SELECT 1 FROM rc_member m JOIN observed_asset oa ON oa.id = m.row_id
                    JOIN rc_src s ON s.source = oa.source WHERE m.eid = rc_match.eid"""
        self._run(f"""
            UPDATE rc_match SET outcome = 'suspect' WHERE outcome IS NULL
            AND EXISTS ({judged})
            AND NOT EXISTS ({judged} AND s.silent = 0 AND oa.last_seen > s.cutoff)""")

    # 8. Field by field.
    def differences(self, tolerance_percent: float) -> None:
        """``rc_diff``: per matched entity the fields that differ (declared and observed
        value as text, how to read them, the row the observed value came from); then
        ``rc_match.outcome`` is ``mismatch`` or ``matched``."""
        norm, c = self.norm, self.contains
        dist = "IS DISTINCT FROM" if self.conn.dialect.name == "postgresql" else "IS NOT"
        code_table(self.conn, "rc_code", {"data_center": "data_center",
                                          "cloud_platform": "platform"})
        self._run("CREATE INDEX rc_code_tag ON rc_code (category, tag)")
        analyze(self.conn, "rc_code")
        self._names("rc_model", (f"{self.oa}.model", f"{self.oa}.cpu_model",
                                 f"{self.dv}.model", f"{self.dv}.cpu_model"), "model")
        temp_table(self.conn, "rc_diff", "eid INTEGER NOT NULL, ord INTEGER NOT NULL, "
                   "field TEXT NOT NULL, how TEXT NOT NULL, declared TEXT, observed TEXT, "
                   "src INTEGER, size DOUBLE PRECISION", None,
                   "SELECT 0, 0, '', '', NULL, NULL, NULL, NULL WHERE 1 = 0")
        # Which department is which one's ancestor (or itself), from the parent links.
        departments = TABLES_OF["department"].name
        temp_table(self.conn, "rc_dep", "node INTEGER NOT NULL, anc INTEGER NOT NULL",
                   "node, anc", f"""
            SELECT DISTINCT node, anc FROM (
                WITH RECURSIVE up(node, anc, depth) AS (
                    SELECT id, id, 0 FROM {departments}
                    UNION ALL
                    SELECT up.node, d.parent_id, up.depth + 1 FROM up
                    JOIN {departments} d ON d.id = up.anc
                    WHERE d.parent_id IS NOT NULL AND up.depth < 256)
                SELECT node, anc FROM up) t""")

        def agree(a: str, b: str) -> str:
            return f"({a} IS NULL OR {b} IS NULL OR {c}({a}, {b}) > 0 OR {c}({b}, {a}) > 0)"

        tol = float(tolerance_percent)
        for category, fields in (("device", _DEVICE), ("cloud_resource", _RESOURCE)):
            table = TABLES_OF[category].name
            joins = f"""FROM rc_match x JOIN {table} d ON d.id = x.did
                        JOIN rc_fig f ON f.eid = x.eid
                        WHERE x.cat = '{category}' AND x.outcome IS NULL"""
            for ord_, (field, dcol, ocol, how) in enumerate(fields):
                d, o = f"d.{dcol}", f"f.{ocol}"
                shown_d, shown_o, kind, extra = f"CAST({d} AS TEXT)", f"CAST({o} AS TEXT)", \
                    "s", ""
                present = f"{d} IS NOT NULL AND {o} IS NOT NULL"
                size = "NULL"
                if how in ("serial", "vendor", "model", "host", "ip"):
                    present += f" AND {d} <> '' AND {d} <> {o}"
                if how == "serial":
                    test = f"{norm('serial', d)} {dist} {norm('serial', o)}"
                elif how in ("vendor", "model"):
                    names = "rc_vendor" if how == "vendor" else "rc_model"
                    extra = (f"LEFT JOIN {names} nd ON nd.raw = {d} "
                             f"LEFT JOIN {names} no ON no.raw = {o}")
                    test = "NOT " + agree("nd.norm", "no.norm")
                elif how == "host":
                    test = f"{norm('host', d)} {dist} {norm('host', o)}"
                elif how == "ip":
                    test = f"{norm('ip', d)} {dist} {norm('ip', o)}"
                elif how == "equal":
                    test, kind = f"{d} <> {o}", "i"
                elif how == "within":
                    gib = f"({o} * 1.0 / {GIB})"
                    # GiB against bytes: no shortcut on equal numbers.
                    test = (f"CASE WHEN {d} <= 0 THEN {gib} >= 0.05 ELSE "
                            f"abs({gib} - {d}) / {d} * 100 > {tol!r} END")
                    kind, size = "g", d
                elif how == "department":
                    extra = f"LEFT JOIN {departments} dd ON dd.id = {d}"
                    test = (f"{d} <> {o} AND NOT EXISTS (SELECT 1 FROM rc_dep a WHERE "
                            f"(a.node = {d} AND a.anc = {o}) OR (a.node = {o} AND a.anc = {d}))")
                    shown_d, shown_o = "dd.code", "f.department"
                else:   # data_center, platform: the observed tag resolved by code or name
                    book = "data_center" if how == "data_center" else "cloud_platform"
                    extra = (f"JOIN rc_code k ON k.category = '{book}' AND k.tag = {o} "
                             f"LEFT JOIN {TABLES_OF[book].name} dc ON dc.id = {d}")
                    test = f"k.id <> {d}"
                    shown_d = "dc.code"
                select = (f"SELECT x.eid, {ord_}, '{field}', '{kind}', {shown_d}, {shown_o}, "
                          f"f.{ocol}_src, {size}")
                body = joins.replace("WHERE", f"{extra} WHERE", 1) if extra else joins
                self._run(f"INSERT INTO rc_diff {select} {body} AND {present} AND {test}")
            # Declared retired yet observed; a cloud resource in use yet powered off.
            self._run(f"""INSERT INTO rc_diff SELECT x.eid, 99, 'status', 's', 'retired',
                              COALESCE(f.power_state, 'seen'), f.pid, NULL {joins}
                          AND d.status = 'retired'""")
            if category == "cloud_resource":
                self._run(f"""INSERT INTO rc_diff SELECT x.eid, 99, 'status', 's', 'in_use',
                                  'stopped', f.power_state_src, NULL {joins}
                              AND d.status = 'in_use' AND f.power_state = 'stopped'""")
        self._index("rc_diff", "eid")
        self._run("""UPDATE rc_match SET outcome = CASE WHEN EXISTS (
                         SELECT 1 FROM rc_diff d WHERE d.eid = rc_match.eid)
                     THEN 'mismatch' ELSE 'matched' END WHERE outcome IS NULL""")

    # 9. Every pair, in the engine's order.
    def pairs(self, now: dt.datetime, missing_after: float) -> None:
        """``rc_pair``: entities in id order (their matches, conflicts and undeclared ones),
        then declared assets nothing accounts for (devices, then cloud resources)."""
        stamp = ObservedAsset.__table__.c.last_seen.type
        device, resource = self.dv, self.cr
        temp_table(self.conn, "rc_pair", "grp INTEGER NOT NULL, eid INTEGER, cat TEXT, "
                   "did INTEGER, outcome TEXT NOT NULL, rank INTEGER, why TEXT", None, """
            SELECT 0, eid, cat, did, outcome, rank, NULL FROM rc_match
            UNION ALL
            SELECT 0, c.eid, c.cat, c.did, 'conflict', NULL, 'claimed' FROM rc_clean c
            JOIN rc_contested t ON t.cat = c.cat AND t.did = c.did
            UNION ALL
            SELECT 0, eid, cat, did, 'conflict', NULL, 'keys' FROM rc_conflict""")
        self.conn.execute(text("""
            INSERT INTO rc_pair SELECT 0, f.eid, NULL, NULL, 'undeclared', NULL, NULL
            FROM rc_fig f WHERE f.last_seen >= :since
            AND NOT EXISTS (SELECT 1 FROM rc_clean c WHERE c.eid = f.eid)
            AND NOT EXISTS (SELECT 1 FROM rc_conflict c WHERE c.eid = f.eid)""")
            .bindparams(bindparam("since", type_=stamp)),
            {"since": before(now, missing_after)})
        for grp, category, table in ((1, "device", device), (2, "cloud_resource", resource)):
            self._run(f"""
                INSERT INTO rc_pair SELECT {grp}, NULL, '{category}', d.id, 'missing', NULL,
                       NULL FROM {table} d
                WHERE (d.status IS NULL OR d.status <> 'retired')
                AND NOT EXISTS (SELECT 1 FROM rc_clean c WHERE c.cat = '{category}'
                                AND c.did = d.id)
                AND NOT EXISTS (SELECT 1 FROM rc_conflict c WHERE c.cat = '{category}'
                                AND c.did = d.id)""")

    def run(self, policy, now: dt.datetime, states: Mapping[str, object]) -> None:
        """Every step: matching, outcomes, differences, pairs."""
        self.match(policy.keys)
        self.figures()
        self.outcomes(policy, now, states)
        self.differences(policy.tolerance_percent)
        self.pairs(now, policy.missing_after)

    # 10. What the store keeps of each pair.
    def stored(self, salt: str) -> None:
        """``rc_out``: every pair of ``rc_pair`` with the fingerprint the store keeps it by
        and a digest of everything its stored columns are made of but ``first_seen`` and
        ``last_seen`` (:meth:`seen` writes those; ``salt``: what else they
        depend on, such as the names of the keys by rank), so the store finds the pairs that
        changed in the database and Python builds only those."""
        pg = self.conn.dialect.name == "postgresql"
        part = functools.partial(_part, pg=pg)
        if pg:
            def ordered(order: str, value: str) -> str:
                return f"md5(string_agg({value}, ',' ORDER BY {order}))"
            digest = "md5"
            by_source = "r.prio, m.row_id"
        else:
            def ordered(order: str, value: str) -> str:
                return f"rc_md5_ordered({order}, {value})"
            digest = "rc_md5"
            by_source = "printf('%03d%012d', r.prio, m.row_id)"
        # The sources of entities several rows make (also_seen_by), and each mismatch's
        # differences with the row and time each observed value came from.
        temp_table(self.conn, "rc_ssum", "eid INTEGER PRIMARY KEY, dig TEXT", None, f"""
            SELECT m.eid, {ordered(by_source, part("oa.source") + " || " + part("oa.kind"))}
            FROM rc_ent e JOIN rc_member m ON m.eid = e.eid JOIN rc_row r ON r.id = m.row_id
            JOIN observed_asset oa ON oa.id = m.row_id WHERE e.rows > 1 GROUP BY m.eid""")
        diff = " || ".join(part(c) for c in ("d.field", "d.how", "d.declared", "d.observed",
                                             "d.size", "oa.source")) + \
            " || " + part("oa.last_seen", time=True)
        temp_table(self.conn, "rc_dsum", "eid INTEGER PRIMARY KEY, dig TEXT", None, f"""
            SELECT d.eid, {ordered("d.ord", diff)}
            FROM rc_diff d LEFT JOIN observed_asset oa ON oa.id = d.src GROUP BY d.eid""")
        columns = " || ".join(
            [part(c) for c in ("p.outcome", "p.rank", "p.why", "COALESCE(dv.code, cr.code)",
                               "COALESCE(dv.department_id, cr.department_id)", "e.res",
                               "oa.source", "oa.kind", "oa.department_id", "k.serial",
                               "k.instance", "k.machine", "k.macs", "k.ip", "k.host",
                               "ss.dig",
                               "CASE WHEN p.outcome = 'mismatch' THEN ds.dig END")])
        fingerprint = ("COALESCE('d:' || p.cat || ':' || CAST(p.did AS TEXT), '') || "
                       "CASE WHEN p.did IS NOT NULL AND p.eid IS NOT NULL THEN '|' ELSE '' "
                       "END || COALESCE('o:' || CAST(p.eid AS TEXT), '')")
        temp_table(self.conn, "rc_out", "grp INTEGER NOT NULL, eid INTEGER, cat TEXT, "
                   "did INTEGER, outcome TEXT NOT NULL, rank INTEGER, why TEXT, "
                   "fp TEXT NOT NULL, digest TEXT NOT NULL", None, f"""
            SELECT p.grp, p.eid, p.cat, p.did, p.outcome, p.rank, p.why, {fingerprint},
                   {digest}(:salt || {columns})
            FROM rc_pair p
            {_pair_joins('p')}
            LEFT JOIN rc_ssum ss ON ss.eid = p.eid LEFT JOIN rc_dsum ds ON ds.eid = p.eid""",
                   {"salt": salt})
        self._index("rc_out", "fp")

    def seen(self, table: str) -> int:
        """Bring the first and last seen times of the stored pairs (``table``) to the
        entities' in one statement; return how many rows moved. They are not part of the
        digest: every poll moves ``last_seen`` and would otherwise have Python rebuild
        every pair of the estate on every run."""
        return self._run(f"""
            UPDATE {table} SET first_seen = x.first_seen, last_seen = x.last_seen
            FROM (SELECT o.fp, f.first_seen, f.last_seen FROM rc_out o
                  LEFT JOIN rc_fig f ON f.eid = o.eid) x
            WHERE x.fp = {table}.fingerprint
            AND ({table}.first_seen IS DISTINCT FROM x.first_seen
                 OR {table}.last_seen IS DISTINCT FROM x.last_seen)""")

    def insert_new(self, table: str, keys: Mapping[str, Sequence[str]]) -> int:
        """Insert every pair of ``rc_out`` that ``table`` does not hold yet, in the engine's
        order; return how many. A clean match of an entity one row makes (nearly every new
        pair) is written whole here, JSON built by the database; any other gets the
        placeholder digest ``-``, so :meth:`changed` selects it and Python fills it in."""
        pg = self.conn.dialect.name == "postgresql"
        if pg:
            macs = ("(SELECT json_agg(m ORDER BY m COLLATE \"C\") "
                    "FROM unnest(string_to_array(k.macs, ',')) AS m)")
            observed_keys = (
                "json_strip_nulls(json_build_object('serial_number', k.serial, "
                "'instance_uuid', k.instance, 'machine_uuid', k.machine, "
                f"'mac', {macs}, 'mgmt_ip', k.ip, 'hostname', k.host))")
            empty = "CAST('[]' AS JSON)"
        else:
            self.conn.connection.driver_connection.create_function(
                "rc_json_list", 1, _json_list, deterministic=True)
            # json_patch drops the members whose value is null.
            observed_keys = (
                "json_patch('{}', json_object('serial_number', k.serial, "
                "'instance_uuid', k.instance, 'machine_uuid', k.machine, "
                "'mac', json(rc_json_list(k.macs)), 'mgmt_ip', k.ip, 'hostname', k.host))")
            empty = "'[]'"
        matched_by = "CASE " + " ".join(
            f"WHEN e.res = {res} AND o.rank = {rank} THEN '{name}'"
            for klass, res in (("device", 0), ("cloud_resource", 1))
            for rank, name in enumerate(keys.get(klass, ()))) + " END"
        whole = "o.outcome = 'matched' AND e.rows = 1"
        return self._run(f"""
            INSERT INTO {table} (fingerprint, digest, outcome, department_id,
                declared_category, declared_id, declared_code, observed_asset_id,
                observed_source, observed_kind, observed_keys, also_seen_by, matched_by,
                differences, note, first_seen, last_seen)
            SELECT o.fp, CASE WHEN {whole} THEN o.digest ELSE '-' END, o.outcome,
                   CASE WHEN o.did IS NOT NULL
                        THEN COALESCE(dv.department_id, cr.department_id)
                        ELSE oa.department_id END,
                   o.cat, o.did, COALESCE(dv.code, cr.code), o.eid,
                   oa.source, oa.kind,
                   CASE WHEN {whole} THEN {observed_keys} END,
                   CASE WHEN {whole} THEN {empty} END,
                   CASE WHEN {whole} THEN {matched_by} END,
                   {empty}, NULL, f.first_seen, f.last_seen
            FROM rc_out o
            {_pair_joins('o')}
            WHERE NOT EXISTS (SELECT 1 FROM {table} s WHERE s.fingerprint = o.fp)
            ORDER BY o.grp, o.eid, o.cat, o.did""")

    def changed(self, table: str) -> None:
        """``rc_sel``: the pairs of ``rc_out`` that ``table`` (the stored pairs) does not hold
        as they are (new or changed: with the stored row's id, if any), and every pair that
        is not a clean match (findings are made of those)."""
        temp_table(self.conn, "rc_sel", "grp INTEGER NOT NULL, eid INTEGER, cat TEXT, "
                   "did INTEGER, outcome TEXT NOT NULL, rank INTEGER, why TEXT, "
                   "fp TEXT NOT NULL, digest TEXT NOT NULL, pair_id INTEGER, "
                   "stored TEXT", None, f"""
            SELECT o.grp, o.eid, o.cat, o.did, o.outcome, o.rank, o.why, o.fp, o.digest,
                   s.id, s.digest
            FROM rc_out o LEFT JOIN {table} s ON s.fingerprint = o.fp
            WHERE o.outcome <> 'matched' OR s.id IS NULL OR s.digest <> o.digest""")
        self._index("rc_sel", "eid")

    def summary(self) -> dict[str, int]:
        """Pairs per outcome."""
        counts = dict(self.conn.execute(text(
            "SELECT outcome, COUNT(*) FROM rc_out GROUP BY outcome")).all())
        return {k: counts.get(k, 0) for k in OUTCOMES}

    def write_entities(self) -> int:
        """Make ``observed_asset.entity_id`` name the entity of every row of an entity
        several rows make and nothing for any other row; return how many rows changed."""
        multi = """SELECT m.row_id, m.eid FROM rc_member m JOIN rc_ent e ON e.eid = m.eid
                   WHERE e.rows > 1"""
        within = ("AND EXISTS (SELECT 1 FROM rc_scope s WHERE s.side = 'o' AND s.cat = '' "
                  "AND s.row_id = observed_asset.id)") if self.scoped else ""
        cleared = self._run(f"""
            UPDATE observed_asset SET entity_id = NULL WHERE entity_id IS NOT NULL {within}
            AND NOT EXISTS (SELECT 1 FROM ({multi}) s WHERE s.row_id = observed_asset.id)""")
        changed = self._run(f"""
            UPDATE observed_asset SET entity_id = s.eid FROM ({multi}) s
            WHERE s.row_id = observed_asset.id
            AND (observed_asset.entity_id IS NULL OR observed_asset.entity_id <> s.eid)""")
        return cleared + changed

    # 11. Pairs and findings as the ledger keeps them.
    def outcome(self, keys: Mapping[str, Sequence[str]], *, selected: bool = False) -> Outcome:
        """The pairs, findings and shared entities, as :func:`engine.reconcile` returns
        them (one pass over the result rows; the deciding was done above). ``selected``:
        only the pairs of ``rc_sel`` (:meth:`changed`), each with its ``digest`` and the id
        of the stored row it replaces (``pair_id``), and no entities (the store writes
        those with :meth:`write_entities`)."""
        stamp = UTCDateTime()
        pairs = "rc_sel" if selected else "rc_pair"
        within = " AND m.eid IN (SELECT eid FROM rc_sel)" if selected else ""
        sources: dict[int, list[str]] = defaultdict(list)
        members: dict[int, int] = {}
        for eid, row_id, source, kind in self.conn.execute(text(f"""
                SELECT m.eid, m.row_id, oa.source, oa.kind FROM rc_ent e
                JOIN rc_member m ON m.eid = e.eid JOIN rc_row r ON r.id = m.row_id
                JOIN observed_asset oa ON oa.id = m.row_id
                WHERE e.rows > 1{within} ORDER BY m.eid, r.prio, m.row_id""")):
            sources[eid].append(f"{source}/{kind}")
            if not selected:
                members[row_id] = eid
        diffs: dict[int, list[dict]] = defaultdict(list)
        for eid, field, how, declared, observed, size, source, seen in self.conn.execute(text(f"""
                SELECT d.eid, d.field, d.how, d.declared, d.observed, d.size, oa.source,
                       oa.last_seen
                FROM rc_diff d LEFT JOIN observed_asset oa ON oa.id = d.src
                {within.replace("AND m.", "WHERE d.")}
                ORDER BY d.eid, d.ord""").columns(last_seen=stamp)):
            diffs[eid].append(_difference(field, how, size if how == "g" else declared,
                                          observed, source, seen))
        device, resource = TABLES_OF["device"].name, TABLES_OF["cloud_resource"].name
        stored = ", p.digest, p.pair_id, p.stored" if selected else ""
        rows = self.conn.execute(text(f"""
            SELECT p.eid, p.cat, p.did, p.outcome, p.rank, p.why,
                   COALESCE(dv.code, cr.code) AS code, COALESCE(dv.name, cr.name) AS name,
                   COALESCE(dv.department_id, cr.department_id) AS department_id,
                   e.res, f.first_seen, f.last_seen, oa.source, oa.kind,
                   oa.department_id AS observed_department, f.model, f.vendor,
                   k.serial, k.instance, k.machine, k.macs, k.ip, k.host{stored}
            FROM {pairs} p
            {_pair_joins('p')}
            ORDER BY p.grp, p.eid, p.cat, p.did""").columns(first_seen=stamp,
                                                              last_seen=stamp)).all()
        candidates: dict[int, list[str]] = defaultdict(list)
        for eid, cat, code in self.conn.execute(text(f"""
                SELECT c.eid, c.cat, COALESCE(dv.code, cr.code) FROM rc_conflict c
                LEFT JOIN {device} dv ON c.cat = 'device' AND dv.id = c.did
                LEFT JOIN {resource} cr ON c.cat = 'cloud_resource' AND cr.id = c.did
                ORDER BY c.eid, c.cat, c.did""")):
            candidates[eid].append(f"{cat}:{code}")
        build = _Assembly(keys, sources, diffs, candidates)
        for row in rows:
            build.pair(row)
        build.unknown_departments(self.conn)
        return Outcome(build.pairs, build.found, members)


def _pair_joins(alias: str) -> str:
    """What a pair row (``alias``: cat, did, eid) is read with: its declared asset (``dv``
    or ``cr``), entity (``e``), figures (``f``), best observed row (``oa``), keys (``k``)."""
    device, resource = TABLES_OF["device"].name, TABLES_OF["cloud_resource"].name
    a = alias
    return f"""LEFT JOIN {device} dv ON {a}.cat = 'device' AND dv.id = {a}.did
            LEFT JOIN {resource} cr ON {a}.cat = 'cloud_resource' AND cr.id = {a}.did
            LEFT JOIN rc_ent e ON e.eid = {a}.eid LEFT JOIN rc_fig f ON f.eid = {a}.eid
            LEFT JOIN observed_asset oa ON oa.id = f.pid LEFT JOIN rc_ekey k ON k.eid = {a}.eid"""


def _part(expression: str, *, pg: bool, time: bool = False) -> str:
    """A value as unambiguous text for a digest: its length, a colon and the value, or
    ``-`` for NULL (PostgreSQL times as epoch seconds, whatever the session's time zone;
    SQLite keeps times as text already)."""
    if time and pg:
        expression = f"extract(epoch FROM {expression})"
    value = f"CAST({expression} AS TEXT)"
    return f"COALESCE(length({value}) || ':' || {value}, '-')"


def _md5(value: str | None) -> str | None:
    return None if value is None else hashlib.md5(value.encode(),
                                                  usedforsecurity=False).hexdigest()


def _json_list(values: str | None) -> str | None:
    """SQLite: comma-separated values as a JSON array, distinct and in code point order."""
    return None if values is None else json.dumps(sorted(set(values.split(","))))


class _OrderedDigest:
    """SQLite aggregate: the md5 of the values joined with commas in the order of their
    keys (SQLite 3.40 has no ORDER BY inside an aggregate), as PostgreSQL's
    ``md5(string_agg(value, ',' ORDER BY key))``."""

    def __init__(self) -> None:
        self.items: list = []

    def step(self, key, value) -> None:
        if value is not None:
            self.items.append((key, value))

    def finalize(self) -> str | None:
        if not self.items:
            return None
        self.items.sort(key=lambda item: item[0])
        return _md5(",".join(value for _key, value in self.items))


def _difference(field: str, how: str, declared, observed, source, seen) -> dict:
    """One difference as :func:`ledger.reconcile.compare.differences` reports it."""
    if how == "i":
        declared, observed = int(declared), int(observed)
    elif how == "g":
        declared, observed = float(declared), round(int(observed) / GIB, 1)
    return {"field": field, "declared": declared, "observed": observed, "source": source,
            "time": seen.isoformat() if seen is not None else None}


class _Assembly:
    """Pairs and findings from the result rows, as :class:`engine._Run` writes them."""

    NOTES = {"claimed": "claimed by several observed assets",
             "keys": "its keys point at several declared assets"}

    def __init__(self, keys, sources, diffs, candidates) -> None:
        self.keys, self.sources, self.diffs = keys, sources, diffs
        self.candidates = candidates
        self.pairs: list[dict] = []
        self.found: list[Found] = []

    def pair(self, row) -> None:
        entity = row.eid is not None
        observed_keys = _keys(row) if entity else None
        sources = (self.sources.get(row.eid) or [f"{row.source}/{row.kind}"]) if entity \
            else []
        key = None if row.rank is None else \
            self.keys["cloud_resource" if row.res else "device"][row.rank]
        outcome = row.outcome
        differences = self.diffs.get(row.eid, []) if outcome == "mismatch" else []
        note = self.NOTES.get(row.why) if outcome == "conflict" else None
        parts = []
        pair = {"fingerprint": "", "outcome": outcome, "department_id": None,
                "declared_category": None, "declared_id": None, "declared_code": None,
                "observed_asset_id": None, "observed_source": None, "observed_kind": None,
                "observed_keys": None, "also_seen_by": None, "matched_by": key,
                "differences": differences, "note": note, "first_seen": None,
                "last_seen": None}
        if row.did is not None:
            parts.append(f"d:{row.cat}:{row.did}")
            pair.update(department_id=row.department_id, declared_category=row.cat,
                        declared_id=row.did, declared_code=row.code)
        if entity:
            parts.append(f"o:{row.eid}")
            pair.update(observed_asset_id=row.eid, observed_source=row.source,
                        observed_kind=row.kind, observed_keys=observed_keys,
                        also_seen_by=sources[1:], first_seen=row.first_seen,
                        last_seen=row.last_seen)
            if row.did is None:
                pair["department_id"] = row.observed_department
        pair["fingerprint"] = "|".join(parts)
        if hasattr(row, "digest"):
            # Only what the store must write (new or changed); every row for findings.
            if row.pair_id is None or row.stored != row.digest:
                self.pairs.append({**pair, "digest": row.digest, "pair_id": row.pair_id,
                                   "placeholder": row.stored == "-"})
        else:
            self.pairs.append(pair)
        if outcome == "mismatch":
            for diff in differences:
                self._declared(row, "mismatch", {**diff, "matched_by": key}, diff["field"])
        elif outcome in ("missing", "suspect"):
            self._declared(row, outcome, {
                "last_seen": row.last_seen.isoformat() if entity else None,
                "matched_by": key, "sources": sources})
        elif outcome == "conflict":
            codes = self.candidates[row.eid] if row.why == "keys" else \
                [f"{row.cat}:{row.code}"]
            self._declared(row, "conflict", {"reason": row.why, "candidates": codes,
                                             "observed_keys": observed_keys})
        elif outcome == "undeclared":
            self.found.append(Found(
                f"undeclared|o:{row.eid}", "undeclared", row.observed_department,
                {"keys": observed_keys, "kind": row.kind, "sources": sources,
                 "model": row.model, "vendor": row.vendor},
                observed_asset_id=row.eid, observed_source=row.source))

    def _declared(self, row, kind: str, details: dict, field: str | None = None) -> None:
        parts = [kind, f"d:{row.cat}:{row.did}"]
        if kind == "conflict":
            parts.append(f"o:{row.eid}")
        if field:
            parts.append(field)
        entity = row.eid is not None
        self.found.append(Found(
            "|".join(parts), kind, row.department_id, {"name": row.name, **details},
            declared_category=row.cat, declared_code=row.code, field=field,
            observed_asset_id=row.eid if entity else None,
            observed_source=row.source if entity else None))

    def unknown_departments(self, conn: Connection) -> None:
        counts = conn.execute(text("""
            SELECT source, department, COUNT(*) FROM observed_asset
            WHERE department IS NOT NULL AND department <> '' AND department_id IS NULL
            GROUP BY source, department""")).all()
        for source, code, count in sorted(counts):
            self.found.append(Found(f"unknown_department|{source}|{code}",
                                    "unknown_department", None,
                                    {"code": code, "source": source, "assets": count},
                                    observed_source=source))


def _keys(row) -> dict:
    """An entity's identity values, as :meth:`Entity.keys` reports them."""
    out: dict = {}
    if row.serial:
        out["serial_number"] = row.serial
    if row.instance:
        out["instance_uuid"] = row.instance
    if row.machine:
        out["machine_uuid"] = row.machine
    if row.macs:
        out["mac"] = sorted(set(row.macs.split(",")))
    if row.ip:
        out["mgmt_ip"] = row.ip
    if row.host:
        out["hostname"] = row.host
    return out


def reconcile(conn: Connection, policy, now: dt.datetime) -> Outcome:
    """Reconcile the ledger on ``conn`` in set-based SQL; the same :class:`Outcome` as
    :func:`ledger.reconcile.engine.reconcile` over :func:`store.load_inputs`."""
    with temporary(conn, TABLES):
        matcher = Matcher(conn, policy.placeholders)
        matcher.run(policy, now, target_states(conn))
        return matcher.outcome(policy.keys)
