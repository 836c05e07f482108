"""The normalisers of :mod:`ledger.reconcile.normalize` inside SQL, exactly.

:class:`Norm` gives, for a kind (``serial``, ``uuid``, ``mac``, ``ip``, ``host``,
``vendor``, ``model``, ``tail``) and a SQL expression, the SQL of its normalised value:

- SQLite: the Python functions themselves, registered on the connection (SQLite has no
  regular expressions of its own; the embedded ledger is small);
- PostgreSQL: values already in the ledger's plain form (nearly all of them: collectors
  and the census write keys normalised) pass one inlined test (:data:`FAST`); any other
  value is looked up in ``rc_norm``, which :meth:`Norm.prepare` fills with the distinct
  such values of the columns about to be read, normalised by the Python rules. So the rules
  exist once, in Python, and Unicode spaces, case mappings, full-width digits or IPv6
  spellings cannot make the database disagree with them; Python sees each odd value once,
  never the estate.

``tests/ledger/reconcile/test_sql_norm.py`` holds both to the Python rules value by value.
"""

from __future__ import annotations

from typing import Sequence

from sqlalchemy import Connection, text

from core.identity import PLACEHOLDER_SERIALS, PLACEHOLDER_UUIDS
from ledger.reconcile import normalize

KINDS = ("serial", "uuid", "mac", "ip", "host", "vendor", "model", "tail")
TABLE = "rc_norm"


def tail(value: str | None) -> str | None:
    """What follows a natural key's last colon (a volume's own UUID in ``res:volume:…``)."""
    return None if value is None else str(value).rsplit(":", 1)[-1]


RULES = {**{kind: getattr(normalize, kind) for kind in KINDS if kind != "tail"},
         "tail": tail}


def _array(values) -> str:
    return "ARRAY[" + ", ".join("'" + v.replace("'", "''") + "'" for v in sorted(values)) + \
        "]::text[]"


_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
#: Plain forms whose normalised value SQL can give exactly: (test, value) over ``{v}``.
#: Printable ASCII only, so no Unicode rule (spaces, case, digits) is involved.
FAST = {
    # Printable ASCII without spaces: upper case, unless a placeholder or one character
    # repeated once separators are dropped (normalize.serial, core.identity).
    "serial": (f"{{v}} ~ '^[!-~]+$' AND NOT lower({{v}}) = ANY({_array(PLACEHOLDER_SERIALS)}) "
               "AND regexp_replace(lower({v}), '[-_.:]', '', 'g') !~ '^(.)\\1*$' "
               "AND regexp_replace({v}, '[-_.:]', '', 'g') <> ''", "upper({v})"),
    "uuid": ("{v} ~ '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$' "
             f"AND NOT {{v}} = ANY({_array(PLACEHOLDER_UUIDS)}) "
             "AND replace({v}, '-', '') <> repeat(left({v}, 1), 32)", "{v}"),
    "mac": ("{v} ~ '^[0-9a-f]{{2}}(:[0-9a-f]{{2}}){{5}}$' "
            "AND substr({v}, 2, 1) NOT IN ('1','3','5','7','9','b','d','f') "
            "AND replace({v}, ':', '') <> repeat(left({v}, 1), 12)", "{v}"),
    "ip": (f"{{v}} ~ '^{_OCTET}(\\.{_OCTET}){{{{3}}}}$' "
           "AND {v} !~ '^(0|127|22[4-9]|23[0-9])\\.'", "{v}"),
    "host": ("{v} ~ '^[a-z0-9_-]+$' AND {v} <> 'localhost' AND {v} !~ '^[0-9]+$'", "{v}"),
    "tail": ("{v} IS NOT NULL", "regexp_replace({v}, '^.*:', '')"),
}


class Norm:
    """Normalised values in SQL on one connection (inside
    :func:`ledger.entity_sql.temporary`, which must drop :data:`TABLE`)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn
        self.dialect = conn.dialect.name
        if self.dialect == "sqlite":
            raw = conn.connection.driver_connection
            for kind, rule in RULES.items():
                raw.create_function(f"norm_{kind}", 1, rule, deterministic=True)
        elif self.dialect == "postgresql":
            conn.execute(text(f"CREATE TEMPORARY TABLE {TABLE} (kind TEXT NOT NULL, "
                              "raw TEXT NOT NULL, norm TEXT, PRIMARY KEY (kind, raw))"))
        else:
            raise NotImplementedError(f"set-based reconciliation on {self.dialect}")

    def __call__(self, kind: str, expression: str) -> str:
        """The SQL of ``expression`` normalised as ``kind``."""
        if self.dialect == "sqlite":
            return f"norm_{kind}({expression})"
        if kind not in FAST:   # vendors and models: always through the table
            return (f"(SELECT n.norm FROM {TABLE} n WHERE n.kind = '{kind}' "
                    f"AND n.raw = {expression})")
        test, value = FAST[kind]
        return (f"(CASE WHEN {test.format(v=expression)} THEN {value.format(v=expression)} "
                f"ELSE (SELECT n.norm FROM {TABLE} n WHERE n.kind = '{kind}' "
                f"AND n.raw = {expression}) END)")

    def prepare(self, kind: str, sources: Sequence[str]) -> int:
        """Normalise, by the Python rule, the distinct values of ``sources`` (queries of
        one column named ``raw``) that the plain test does not cover and that are not
        prepared yet; return how many. A no-op on SQLite."""
        if self.dialect == "sqlite":
            return 0
        # The plain values go first, in each source, so only odd ones are made distinct.
        def plain(alias: str) -> str:
            return FAST[kind][0].format(v=f"{alias}.raw") if kind in FAST else "FALSE"
        values = " UNION ".join(
            f"SELECT s{i}.raw FROM ({source}) s{i} "
            f"WHERE s{i}.raw IS NOT NULL AND NOT ({plain(f's{i}')})"
            for i, source in enumerate(sources))
        odd = [raw for (raw,) in self.conn.execute(text(f"""
            SELECT DISTINCT v.raw FROM ({values}) v
            WHERE NOT EXISTS (SELECT 1 FROM {TABLE} n WHERE n.kind = '{kind}'
                              AND n.raw = v.raw)"""))]
        rule = RULES[kind]
        if odd:
            self.conn.execute(text(f"INSERT INTO {TABLE} (kind, raw, norm) "
                                   "VALUES (:kind, :raw, :norm)"),
                              [{"kind": kind, "raw": raw, "norm": rule(raw)} for raw in odd])
        return len(odd)


def normalised(conn: Connection, kind: str, values: Sequence[str | None]) -> dict:
    """``values`` normalised as ``kind`` by the SQL of :class:`Norm` (what reconciliation
    computes for them), by value; for checking the SQL against the Python rules."""
    from ledger.entity_sql import temporary

    with temporary(conn, (TABLE, "rc_values")):
        norm = Norm(conn)
        conn.execute(text("CREATE TEMPORARY TABLE rc_values (i INTEGER PRIMARY KEY, v TEXT)"))
        conn.execute(text("INSERT INTO rc_values (i, v) VALUES (:i, :v)"),
                     [{"i": i, "v": v} for i, v in enumerate(values)])
        norm.prepare(kind, ["SELECT v AS raw FROM rc_values"])
        rows = dict(conn.execute(text(f"SELECT i, {norm(kind, 'v')} FROM rc_values")).all())
    return {v: rows[i] for i, v in enumerate(values)}
