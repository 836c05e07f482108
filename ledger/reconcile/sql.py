"""Reconciliation's matching as set-based SQL (SQLite and PostgreSQL), step by step into
temporary tables, with the rules of :mod:`ledger.reconcile.entities` and
:mod:`ledger.reconcile.match` (which stay as the definition the tests hold this to).

1. ``rc_row``: reconcilable observed rows with their normalised vendor, address and host;
   ``rc_val``: their identity values (serial ``s``, machine UUID ``u``, instance or volume
   UUID ``i``, MAC ``m``), without placeholders and without values two rows of one collector
   share (set aside in ``rc_shared``).
2. ``rc_member``: every row's entity, the smallest row id of the rows its values connect
   (connected components by label propagation: a few passes of two joins, however large
   the estate).
3. ``rc_dkey``: declared devices' and cloud resources' normalised keys.
4. ``rc_hit``: which declared assets each configured key of an entity points at, with the
   key's rank in the policy (strongest first); ``rc_rank``: how many per key.
5. ``rc_clean``: entities whose keys agree on one declared asset (with the strongest key
   that found it); ``rc_contested``: declared assets several clean entities claim;
   ``rc_conflict``: the declared assets of entities whose keys disagree.

:func:`match` runs them inside :func:`ledger.entity_sql.temporary`'s snapshot.
"""

from __future__ import annotations

from typing import Mapping, Sequence

from sqlalchemy import Connection, text

from ledger.census.tables import TABLES as TABLES_OF
from ledger.entity_sql import KINDS, temp_table
from ledger.reconcile import sql_norm
from ledger.reconcile.entities import PRIORITY, RESOURCE_KINDS

TABLES = ("rc_row", "rc_val", "rc_shared", "rc_member", "rc_label", "rc_vmin", "rc_step",
          "rc_dkey", "rc_hit", "rc_rank", "rc_cand", "rc_clean", "rc_contested",
          "rc_conflict", "rc_ent")
#: Which observed identity value each key reads, and which declared key it looks up.
_VALUE_KEYS = {"serial_number": ("s", "s"), "instance_uuid": ("i", "i"),
               "machine_uuid": ("u", "i"), "mac": ("m", "m")}


def _literals(values: Sequence[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


class Matcher:
    """The steps of matching on one connection (see the module docstring)."""

    def __init__(self, conn: Connection, placeholders: Sequence[str] = ()) -> None:
        self.conn = conn
        self.fn = sql_norm.install(conn)
        self.skip = sorted({str(v).strip().lower() for v in placeholders})
        self.contains = "strpos" if conn.dialect.name == "postgresql" else "instr"

    def _run(self, sql: str) -> int:
        return self.conn.execute(text(sql)).rowcount

    def _kept(self, column: str) -> str:
        """SQL true when ``column`` is a value and not a configured placeholder (the
        configured values are written out as literals: a handful, from the config)."""
        if not self.skip:
            return f"{column} IS NOT NULL"
        return f"{column} IS NOT NULL AND lower({column}) NOT IN ({_literals(self.skip)})"

    # 1. Observed rows and their identity values.
    def observed(self) -> None:
        fn = self.fn
        kinds = ", ".join(f"'{k}'" for k in KINDS)
        prio = "CASE kind " + " ".join(f"WHEN '{k}' THEN {v}" for k, v in PRIORITY.items()) + \
            " ELSE 9 END"
        resource = ", ".join(f"'{k}'" for k in sorted(RESOURCE_KINDS))
        temp_table(self.conn, "rc_row",
                   "id INTEGER PRIMARY KEY, collector TEXT, kind TEXT, prio INTEGER, "
                   "res INTEGER, vendor TEXT, ip TEXT, host TEXT", None, f"""
            SELECT id, collector, kind, {prio}, CASE WHEN kind IN ({resource}) THEN 1 ELSE 0 END,
                   {fn}norm_vendor(vendor), {fn}norm_ip(mgmt_ip), {fn}norm_host(hostname)
            FROM observed_asset WHERE kind IN ({kinds})""")
        if self.conn.dialect.name == "postgresql":
            macs = ("json_array_elements_text(CASE WHEN json_typeof(oa.macs) = 'array' "
                    "THEN oa.macs ELSE '[]'::json END) AS m(value)")
        else:
            macs = "json_each(CASE WHEN json_valid(oa.macs) AND json_type(oa.macs) = 'array' " \
                   "THEN oa.macs ELSE '[]' END) AS m"
        values = f"""
            SELECT id, collector, 's' AS tag, {fn}norm_serial(serial_number) AS value
            FROM observed_asset WHERE kind IN ({kinds})
            UNION ALL
            SELECT id, collector, 'u', {fn}norm_uuid(machine_uuid)
            FROM observed_asset WHERE kind IN ({kinds})
            UNION ALL
            SELECT id, collector, 'i', COALESCE({fn}norm_uuid(instance_uuid),
                CASE WHEN kind = 'volume' AND substr(natural_key, 1, 11) = 'res:volume:'
                     THEN {fn}norm_uuid({fn}norm_tail(natural_key)) END)
            FROM observed_asset WHERE kind IN ({kinds})
            UNION ALL
            SELECT oa.id, oa.collector, 'm', {fn}norm_mac(m.value)
            FROM observed_asset oa, {macs} WHERE oa.kind IN ({kinds})"""
        temp_table(self.conn, "rc_val", "row_id INTEGER NOT NULL, collector TEXT, "
                   "tag TEXT NOT NULL, value TEXT NOT NULL", None,
                   f"SELECT DISTINCT * FROM ({values}) v WHERE {self._kept('value')}")
        # A value two rows of one collector carry is no identity (a placeholder in disguise).
        temp_table(self.conn, "rc_shared", "tag TEXT NOT NULL, value TEXT NOT NULL",
                   "tag, value", """
            SELECT DISTINCT tag, value FROM rc_val
            GROUP BY tag, value, collector HAVING COUNT(*) > 1""")
        self._run("""DELETE FROM rc_val WHERE EXISTS (SELECT 1 FROM rc_shared s
                     WHERE s.tag = rc_val.tag AND s.value = rc_val.value)""")
        self._run("CREATE INDEX rc_val_value ON rc_val (tag, value)")
        self._run("CREATE INDEX rc_val_row ON rc_val (row_id)")

    # 2. Entities.
    def entities(self) -> int:
        """Fill ``rc_member`` (row -> entity); return the passes it took."""
        temp_table(self.conn, "rc_label", "row_id INTEGER PRIMARY KEY, eid INTEGER NOT NULL",
                   None, "SELECT DISTINCT row_id, row_id FROM rc_val")
        passes = 0
        while True:
            passes += 1
            temp_table(self.conn, "rc_vmin", "tag TEXT NOT NULL, value TEXT NOT NULL, "
                       "eid INTEGER NOT NULL", "tag, value", """
                SELECT v.tag, v.value, MIN(l.eid) FROM rc_val v
                JOIN rc_label l ON l.row_id = v.row_id GROUP BY v.tag, v.value""")
            temp_table(self.conn, "rc_step", "row_id INTEGER PRIMARY KEY, eid INTEGER NOT NULL",
                       None, """
                SELECT v.row_id, MIN(m.eid) FROM rc_val v
                JOIN rc_vmin m ON m.tag = v.tag AND m.value = v.value GROUP BY v.row_id""")
            changed = self._run("""
                UPDATE rc_label SET eid = s.eid FROM rc_step s
                WHERE s.row_id = rc_label.row_id AND s.eid < rc_label.eid""")
            self._run("DROP TABLE rc_vmin")
            self._run("DROP TABLE rc_step")
            if not changed:
                break
        temp_table(self.conn, "rc_member", "row_id INTEGER PRIMARY KEY, eid INTEGER NOT NULL",
                   None, """
            SELECT r.id, COALESCE(l.eid, r.id) FROM rc_row r
            LEFT JOIN rc_label l ON l.row_id = r.id""")
        self._run("CREATE INDEX rc_member_eid ON rc_member (eid)")
        temp_table(self.conn, "rc_ent", "eid INTEGER PRIMARY KEY, res INTEGER NOT NULL, "
                   "rows INTEGER NOT NULL", None, """
            SELECT m.eid, MAX(r.res), COUNT(*) FROM rc_member m JOIN rc_row r ON r.id = m.row_id
            GROUP BY m.eid""")
        return passes

    # 3. Declared keys.
    def declared(self) -> None:
        fn = self.fn
        device, resource = TABLES_OF["device"].name, TABLES_OF["cloud_resource"].name
        keys = f"""
            SELECT 'device' AS cat, id AS did, 's' AS tag,
                   {fn}norm_serial(serial_number) AS value, {fn}norm_vendor(vendor) AS aux
            FROM {device}
            UNION ALL SELECT 'device', id, 'm', {fn}norm_mac(mac), NULL FROM {device}
            UNION ALL SELECT 'device', id, 'ip', {fn}norm_ip(management_ip),
                             {fn}norm_host(hostname) FROM {device}
            UNION ALL SELECT 'device', id, 'h', {fn}norm_host(hostname), NULL FROM {device}
            UNION ALL SELECT 'cloud_resource', id, 'i', {fn}norm_uuid(instance_id), NULL
                      FROM {resource}
            UNION ALL SELECT 'cloud_resource', id, 'ip', {fn}norm_ip(ip_address),
                             {fn}norm_host(hostname) FROM {resource}
            UNION ALL SELECT 'cloud_resource', id, 'h', {fn}norm_host(hostname), NULL
                      FROM {resource}"""
        temp_table(self.conn, "rc_dkey", "cat TEXT NOT NULL, did INTEGER NOT NULL, "
                   "tag TEXT NOT NULL, value TEXT NOT NULL, aux TEXT", "tag, value",
                   f"SELECT * FROM ({keys}) k WHERE {self._kept('value')}")

    # 4. What each key points at.
    def hits(self, keys: Mapping[str, Sequence[str]]) -> None:
        temp_table(self.conn, "rc_hit", "eid INTEGER NOT NULL, rank INTEGER NOT NULL, "
                   "cat TEXT NOT NULL, did INTEGER NOT NULL", None, "SELECT 0, 0, '', 0 WHERE 0 = 1")
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
        self._run("CREATE INDEX rc_hit_eid ON rc_hit (eid, rank)")
        temp_table(self.conn, "rc_rank", "eid INTEGER NOT NULL, rank INTEGER NOT NULL, "
                   "n INTEGER NOT NULL", "eid, rank",
                   "SELECT eid, rank, COUNT(*) FROM rc_hit GROUP BY eid, rank")

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
                   "did INTEGER NOT NULL, rank INTEGER NOT NULL", "eid", """
            SELECT h.eid, h.cat, h.did, MIN(h.rank) FROM rc_hit h
            JOIN rc_rank k ON k.eid = h.eid AND k.rank = h.rank AND k.n = 1
            GROUP BY h.eid, h.cat, h.did""")
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
        self._run("CREATE INDEX rc_clean_ref ON rc_clean (cat, did)")
        temp_table(self.conn, "rc_contested", "cat TEXT NOT NULL, did INTEGER NOT NULL",
                   "cat, did", """
            SELECT cat, did FROM rc_clean GROUP BY cat, did HAVING COUNT(*) > 1""")
        temp_table(self.conn, "rc_conflict", "eid INTEGER NOT NULL, cat TEXT NOT NULL, "
                   "did INTEGER NOT NULL", "eid", """
            SELECT DISTINCT h.eid, h.cat, h.did FROM rc_hit h
            WHERE NOT EXISTS (SELECT 1 FROM rc_clean c WHERE c.eid = h.eid)""")

    def match(self, keys: Mapping[str, Sequence[str]]) -> None:
        """Every step, in order."""
        self.observed()
        self.entities()
        self.declared()
        self.hits(keys)
        self.decide()
