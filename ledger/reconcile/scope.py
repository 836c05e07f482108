"""What a reconciliation run must recompute: only the rows a change since the last run can
reach (incremental reconciliation).

A pair is decided by the rows its keys connect: observed rows group into an entity by the
identity values they share, an entity meets declared assets by its keys, conflicts and
values set aside as shared arise among rows carrying the same value. So the estate falls
into parts that share no normalised value, and a part none of whose rows changed keeps its
pairs. The last run keeps (``reconcile_key``, ``reconcile_row``, ``reconcile_state``):

- every row's normalised identity values (observed serial, machine and instance UUID, MACs,
  address, host name; declared keys), the first 200 characters of each (a cut value can
  only join more rows, never fewer);
- a digest of everything reconciliation reads of each row (:data:`OBSERVED`; a declared
  row whole but for its timestamps) and the row's time class: seen within
  ``missing_after`` or not, reported by a source that can judge "suspect", overdue there or
  its source silent. ``last_seen`` itself is not in the digest: every poll moves it, and
  it changes an outcome only when the row changes class;
- a digest of the policy, the pairs' format and the code books (departments, data centers,
  platforms): when it changes, or nothing was kept yet, the run is whole.

A run (:func:`plan`) digests every row in the database, takes the rows whose digest or
class changed, that are new or gone, and the observed rows of pairs that stopped being
seen that a source reported since (their findings name when they were last seen), then adds every row sharing a value
with one in the set, old values or new, until nothing is added: the union of the parts
those rows are in. Reconciliation then reads only those rows (:meth:`sql.Matcher.scope`)
and replaces only their pairs and findings; every other pair keeps its row, and the times
it was seen are moved for all of them in one statement (:func:`move_times`). When the
rows to recompute are more than :data:`WHOLE_FROM` of the estate the run is whole (as fast
and simpler). A difference of a mismatch names the time its observed value was read by the
run that judged the pair; the pair's ``last_seen`` moves with every poll.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import marshal

from sqlalchemy import Connection, bindparam, select, text

from ledger.census.tables import TABLES as TABLES_OF
from ledger.entity_sql import KINDS, analyze, temp_table
from ledger.models import ObservedAsset, ReconcilePair
from ledger.reconcile.sql import Matcher, _part, before

#: Observed columns reconciliation reads (identity, figures, grouping, places).
OBSERVED = ("source", "collector", "kind", "natural_key", "serial_number", "vendor", "model",
            "instance_uuid", "machine_uuid", "mac", "macs", "mgmt_ip", "hostname",
            "department", "department_id", "data_center", "platform", "cpu_model",
            "cpu_cores", "vcpus", "memory_bytes", "disk_bytes", "power_state")
#: The share of the estate above which a run recomputes everything.
WHOLE_FROM = 0.25
#: Characters of a value kept as a key (an index entry must stay small).
KEY_CHARS = 200
#: Scratch tables of this module (dropped with the run's others).
TABLES = ("rc_rdig", "rc_scope", "rc_front", "rc_done", "rc_new", "rc_vals", "rc_times")
#: What the first pass over the changed rows leaves, dropped before the real pass.
_FIRST_PASS = ("rc_skip", "rc_vendor", "rc_row", "rc_val", "rc_shared", "rc_valx", "rc_dkey",
               "rc_oa", "rc_dv", "rc_cr")
_BOOKS = ("department", "data_center", "cloud_platform")
_DECLARED = ("device", "cloud_resource")


def inputs(conn: Connection, policy, salt: str) -> str:
    """The digest of what every pair depends on beside its rows: the policy, the pairs'
    format (``salt``) and the code books."""
    digest = hashlib.sha256(f"scope/1|{salt}".encode())
    digest.update(json.dumps({
        "keys": {k: list(v) for k, v in sorted(policy.keys.items())},
        "missing_after": policy.missing_after, "suspect": policy.suspect_after_polls,
        "placeholders": sorted(policy.placeholders),
        "tolerance": policy.tolerance_percent}, sort_keys=True).encode())
    for book in _BOOKS:
        table = TABLES_OF[book]
        columns = [c for c in table.c if c.name not in ("created_at", "updated_at")]
        for row in conn.execute(select(*columns).order_by(table.c.id)):
            digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def stored_inputs(conn: Connection) -> str | None:
    return conn.execute(text("SELECT value FROM reconcile_state WHERE name = 'inputs'")) \
        .scalar_one_or_none()


def digests(matcher: Matcher, policy, now: dt.datetime) -> None:
    """``rc_rdig``: every reconcilable row's digest and time class, as of now, with the
    entity the ledger says it is in (which a run writes, and anything else may change:
    a row deleted and inserted again, a restore); ``rc_times``: each entity's first and
    last seen times in this snapshot (what :func:`move_times` writes, so a poll after
    the snapshot is still news to the next run)."""
    conn = matcher.conn
    pg = conn.dialect.name == "postgresql"
    if not pg:
        conn.connection.driver_connection.create_function("rc_row_md5", -1, _row_md5,
                                                          deterministic=True)

    def digest(alias: str, columns) -> str:
        if not pg:     # one call with the values: cheaper than building the text in SQLite
            return f"rc_row_md5({', '.join(f'{alias}.{c}' for c in columns)})"
        return "md5(" + " || ".join(_part(f"{alias}.{c}", pg=True) for c in columns) + ")"

    kinds = ", ".join(f"'{k}'" for k in KINDS)
    parts = [f"""SELECT 'o', '', oa.id, oa.entity_id, {digest('oa', OBSERVED)},
                        CASE WHEN oa.last_seen < :gone THEN 1 ELSE 0 END
                        + CASE WHEN s.source IS NULL THEN 0
                               WHEN s.silent = 1 OR oa.last_seen <= s.cutoff THEN 6
                               ELSE 2 END
                 FROM observed_asset oa LEFT JOIN rc_src s ON s.source = oa.source
                 WHERE oa.kind IN ({kinds})"""]
    for cat in _DECLARED:
        table = TABLES_OF[cat]
        columns = [c.name for c in table.c if c.name not in ("created_at", "updated_at")]
        parts.append(f"SELECT 'd', '{cat}', d.id, NULL, {digest('d', columns)}, 0 "
                     f"FROM {table.name} d")
    conn.execute(text("CREATE TEMPORARY TABLE rc_rdig (side TEXT NOT NULL, cat TEXT NOT NULL, "
                      "row_id INTEGER NOT NULL, entity INTEGER, digest TEXT NOT NULL, "
                      "tclass INTEGER NOT NULL)"))
    stamp = ObservedAsset.__table__.c.last_seen.type
    conn.execute(text(f"INSERT INTO rc_rdig {' UNION ALL '.join(parts)}")
                 .bindparams(bindparam("gone", type_=stamp)),
                 {"gone": before(now, policy.missing_after)})
    conn.execute(text("CREATE INDEX rc_rdig_key ON rc_rdig (side, cat, row_id)"))
    analyze(conn, "rc_rdig")
    ts = "TIMESTAMP WITH TIME ZONE" if pg else "TIMESTAMP"
    temp_table(conn, "rc_times", f"eid INTEGER PRIMARY KEY, first_seen {ts}, last_seen {ts}",
               None, f"""
        SELECT COALESCE(oa.entity_id, oa.id), MIN(oa.first_seen), MAX(oa.last_seen)
        FROM observed_asset oa WHERE oa.kind IN ({kinds})
        GROUP BY COALESCE(oa.entity_id, oa.id)""")


def _row_md5(*values) -> str:
    """SQLite: the md5 of a row's values, types told apart (1, 1.0 and '1' differ);
    marshal format 2 has no back-references, so equal values give equal bytes."""
    return hashlib.md5(marshal.dumps(values, 2), usedforsecurity=False).hexdigest()


def plan(matcher: Matcher) -> bool:
    """Decide what this run recomputes, within the run's snapshot: the rows of ``rc_scope``
    (True; the matcher then reads only those) or everything (False). Needs ``rc_rdig``
    (:func:`digests`) and the kept state of the last run with the same inputs."""
    conn = matcher.conn
    _dirty(conn)
    total = conn.execute(text("SELECT COUNT(*) FROM rc_rdig")).scalar_one()
    limit = max(WHOLE_FROM * total, 1)
    if _count(conn, "rc_scope") > limit:
        return False
    # The values the changed rows carry now: the first steps of matching over those rows.
    matcher.load_scope()
    matcher._skip_table()
    matcher.observed()
    matcher.declared()
    _front(conn, f"""
        SELECT tag, substr(value, 1, {KEY_CHARS}) AS value FROM rc_val
        UNION SELECT tag, substr(value, 1, {KEY_CHARS}) FROM rc_valx
        UNION SELECT 'ip', substr(ip, 1, {KEY_CHARS}) FROM rc_row WHERE ip IS NOT NULL
        UNION SELECT 'h', substr(host, 1, {KEY_CHARS}) FROM rc_row WHERE host IS NOT NULL
        UNION SELECT tag, substr(value, 1, {KEY_CHARS}) FROM rc_dkey""", create=True)
    for name in _FIRST_PASS:
        conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
    matcher.scope(False)
    # ... and the values they carried at the last run.
    _front(conn, """SELECT k.tag, k.value FROM rc_scope s CROSS JOIN reconcile_key k
                    WHERE k.side = s.side AND k.cat = s.cat AND k.row_id = s.row_id""")
    temp_table(conn, "rc_done", "tag TEXT NOT NULL, value TEXT NOT NULL", "tag, value",
               "SELECT tag, value FROM rc_front")
    while True:
        temp_table(conn, "rc_new", "side TEXT NOT NULL, cat TEXT NOT NULL, "
                   "row_id INTEGER NOT NULL", "side, cat, row_id", """
            SELECT DISTINCT k.side, k.cat, k.row_id FROM rc_front f
            CROSS JOIN reconcile_key k WHERE k.tag = f.tag AND k.value = f.value
            AND NOT EXISTS (SELECT 1 FROM rc_scope s WHERE s.side = k.side
                              AND s.cat = k.cat AND s.row_id = k.row_id)""")
        if not _count(conn, "rc_new"):
            break
        conn.execute(text("INSERT INTO rc_scope SELECT side, cat, row_id FROM rc_new"))
        if _count(conn, "rc_scope") > limit:
            return False
        conn.execute(text("DROP TABLE rc_front"))
        _front(conn, """SELECT k.tag, k.value FROM rc_new n CROSS JOIN reconcile_key k
                        WHERE k.side = n.side AND k.cat = n.cat AND k.row_id = n.row_id
                        AND NOT EXISTS (SELECT 1 FROM rc_done d
                                          WHERE d.tag = k.tag AND d.value = k.value)""",
               create=True)
        conn.execute(text("INSERT INTO rc_done SELECT tag, value FROM rc_front"))
        conn.execute(text("DROP TABLE rc_new"))
    conn.execute(text("DROP TABLE rc_new"))
    analyze(conn, "rc_scope")
    matcher.load_scope()
    return True


def _dirty(conn: Connection) -> None:
    """``rc_scope``: rows whose digest or time class changed, new and gone rows, and the
    observed rows of pairs that stopped being seen whose times moved since (what those
    pairs' findings say of when they were last seen), forwards or back."""
    conn.execute(text("CREATE TEMPORARY TABLE rc_scope (side TEXT NOT NULL, cat TEXT NOT NULL, "
                      "row_id INTEGER NOT NULL, PRIMARY KEY (side, cat, row_id))"))
    conn.execute(text("""
        INSERT INTO rc_scope
        SELECT r.side, r.cat, r.row_id FROM rc_rdig r
        LEFT JOIN reconcile_row s ON s.side = r.side AND s.cat = r.cat AND s.row_id = r.row_id
        WHERE s.row_id IS NULL OR s.digest <> r.digest OR s.tclass <> r.tclass
        OR s.entity IS DISTINCT FROM r.entity
        UNION
        SELECT s.side, s.cat, s.row_id FROM reconcile_row s WHERE NOT EXISTS (
            SELECT 1 FROM rc_rdig r WHERE r.side = s.side AND r.cat = s.cat
            AND r.row_id = s.row_id)
        UNION
        SELECT 'o', '', oa.id FROM reconcile_pair p JOIN rc_times t
        ON t.eid = p.observed_asset_id JOIN observed_asset oa
        ON oa.id = p.observed_asset_id OR oa.entity_id = p.observed_asset_id
        WHERE p.outcome IN ('missing', 'suspect')
        AND (t.last_seen IS DISTINCT FROM p.last_seen
             OR t.first_seen IS DISTINCT FROM p.first_seen)"""))
    analyze(conn, "rc_scope")


def _front(conn: Connection, select_: str, *, create: bool = False) -> None:
    """Add the values ``select_`` gives (tag, value) to ``rc_front``, an instance UUID also
    as a machine UUID and back (the one key meets the other)."""
    if create:
        conn.execute(text("CREATE TEMPORARY TABLE rc_front (tag TEXT NOT NULL, "
                          "value TEXT NOT NULL)"))
        conn.execute(text("CREATE INDEX rc_front_key ON rc_front (tag, value)"))
    temp_table(conn, "rc_vals", "tag TEXT, value TEXT", None, select_)
    conn.execute(text("""
        INSERT INTO rc_front SELECT DISTINCT t.tag, t.value FROM (
            SELECT CASE WHEN x.tag = 'u' THEN 'i' ELSE x.tag END AS tag, x.value
            FROM rc_vals x
            UNION SELECT 'u', x.value FROM rc_vals x WHERE x.tag IN ('i', 'u')) t
        WHERE t.value IS NOT NULL AND NOT EXISTS (
            SELECT 1 FROM rc_front f WHERE f.tag = t.tag AND f.value = t.value)"""))
    conn.execute(text("DROP TABLE rc_vals"))
    analyze(conn, "rc_front")


def _count(conn: Connection, table: str) -> int:
    return conn.execute(text(f"SELECT COUNT(*) FROM {table}")).scalar_one()


#: The ids of the stored pairs of the rows in ``rc_scope``.
OLD_PAIR_IDS = """
    SELECT p.id FROM rc_scope s CROSS JOIN reconcile_pair p
    WHERE s.side = 'o' AND s.cat = '' AND p.observed_asset_id = s.row_id
    UNION
    SELECT p.id FROM rc_scope s CROSS JOIN reconcile_pair p
    WHERE s.side = 'd' AND p.declared_category = s.cat AND p.declared_id = s.row_id"""


def old_pairs(conn: Connection):
    """The stored pairs of the rows in ``rc_scope`` (what the run may replace)."""
    table = ReconcilePair.__table__
    return conn.execute(text(f"SELECT * FROM reconcile_pair WHERE id IN ({OLD_PAIR_IDS})")
                        .columns(*table.c)).all()


def generation(conn: Connection) -> str:
    """How many runs kept their state (read in a run's snapshot, checked when it keeps)."""
    return conn.execute(text("SELECT value FROM reconcile_state WHERE name = 'generation'")) \
        .scalar_one_or_none() or "0"


def keep(conn: Connection, inputs_digest: str, *, scoped: bool,
         seen_generation: str) -> None:
    """Keep what this run judged, for the next: the keys, digests, classes and entities of
    the rows it read (all, or those of ``rc_scope``), and the digest of its inputs, unless
    another run kept its own since this one's snapshot (``seen_generation``): then what
    both kept is a mix of two snapshots, and the next run is whole."""
    if scoped:
        for table in ("reconcile_key", "reconcile_row"):
            conn.execute(text(f"""DELETE FROM {table} WHERE (side, cat, row_id) IN (
                                  SELECT side, cat, row_id FROM rc_scope)"""))
    else:
        for table in ("reconcile_key", "reconcile_row"):
            conn.execute(text(f"TRUNCATE {table}" if conn.dialect.name == "postgresql"
                              else f"DELETE FROM {table}"))
    cut = f"substr(value, 1, {KEY_CHARS})"
    conn.execute(text(f"""
        INSERT INTO reconcile_key (side, cat, row_id, tag, value)
        SELECT 'o', '', row_id, tag, {cut} FROM rc_val
        UNION ALL SELECT 'o', '', row_id, tag, {cut} FROM rc_valx
        UNION ALL SELECT 'o', '', id, 'ip', substr(ip, 1, {KEY_CHARS}) FROM rc_row
                  WHERE ip IS NOT NULL
        UNION ALL SELECT 'o', '', id, 'h', substr(host, 1, {KEY_CHARS}) FROM rc_row
                  WHERE host IS NOT NULL
        UNION ALL SELECT 'd', cat, did, tag, {cut} FROM rc_dkey"""))
    rows = "(SELECT r.* FROM rc_scope s CROSS JOIN rc_rdig r WHERE r.side = s.side " \
        "AND r.cat = s.cat AND r.row_id = s.row_id)" if scoped else "rc_rdig"
    # With the entity this run gave each row (an entity several rows make: rc_ent.rows).
    conn.execute(text(f"""INSERT INTO reconcile_row (side, cat, row_id, digest, tclass, entity)
        SELECT r.side, r.cat, r.row_id, r.digest, r.tclass,
               CASE WHEN e.eid IS NOT NULL THEN m.eid END
        FROM {rows} r
        LEFT JOIN rc_member m ON r.side = 'o' AND m.row_id = r.row_id
        LEFT JOIN rc_ent e ON e.eid = m.eid AND e.rows > 1"""))
    # Another run kept its state since this one's snapshot: what both kept is a mix, so
    # the next run is whole.
    current = generation(conn)
    conn.execute(text("DELETE FROM reconcile_state WHERE name IN ('inputs', 'generation')"))
    conn.execute(text("INSERT INTO reconcile_state (name, value) VALUES ('inputs', :v), "
                      "('generation', :g)"),
                 {"v": inputs_digest if current == seen_generation else "",
                  "g": str(int(current) + 1)})


def move_times(conn: Connection) -> int:
    """Bring the first and last seen times of every stored pair the run did not rebuild to
    its entity's rows in the run's snapshot (``rc_times``; an entity is named by its
    smallest row id, which ``observed_asset.entity_id`` holds for the rows of an entity
    several rows make); return how many pairs moved. The rebuilt ones have theirs from
    the run (:meth:`sql.Matcher.seen`)."""
    return conn.execute(text("""
        UPDATE reconcile_pair SET first_seen = x.first_seen, last_seen = x.last_seen
        FROM rc_times x
        WHERE x.eid = reconcile_pair.observed_asset_id
        AND (reconcile_pair.first_seen IS DISTINCT FROM x.first_seen
             OR reconcile_pair.last_seen IS DISTINCT FROM x.last_seen)
        AND NOT EXISTS (SELECT 1 FROM rc_out o WHERE o.fp = reconcile_pair.fingerprint)""")
    ).rowcount
