"""The normalisers of :mod:`ledger.reconcile.normalize` as SQL functions, for set-based
reconciliation.

:func:`install` makes ``norm_serial``, ``norm_uuid``, ``norm_mac``, ``norm_ip``,
``norm_host``, ``norm_vendor``, ``norm_model`` and ``norm_tail`` callable on one connection and returns
the prefix to call them with:

- SQLite: the Python functions themselves, registered on the connection (SQLite has no
  regular expressions of its own; the embedded ledger is small);
- PostgreSQL: the same rules in SQL and PL/pgSQL, created in the session's temporary
  schema (so nothing outlives the connection and no migration has to keep them in step);
  a million rows go through them inside the server.

``tests/ledger/reconcile/test_sql_norm.py`` holds them to the Python rules value by value.
"""

from __future__ import annotations

import re

from sqlalchemy import Connection

from core.identity import PLACEHOLDER_SERIALS, PLACEHOLDER_UUIDS
from ledger.reconcile import normalize

NAMES = ("serial", "uuid", "mac", "ip", "host", "vendor", "model", "tail")


def tail(value: str | None) -> str | None:
    """What follows a natural key's last colon (a volume's own UUID in ``res:volume:…``)."""
    return None if value is None else str(value).rsplit(":", 1)[-1]


def install(conn: Connection) -> str:
    """Make the normalisers callable on ``conn``; return the prefix of their names."""
    if conn.dialect.name == "sqlite":
        raw = conn.connection.driver_connection
        for name in NAMES:
            raw.create_function(f"norm_{name}", 1,
                                tail if name == "tail" else getattr(normalize, name),
                                deterministic=True)
        return ""
    if conn.dialect.name != "postgresql":
        raise NotImplementedError(f"set-based reconciliation on {conn.dialect.name}")
    for statement in _postgresql():
        conn.exec_driver_sql(statement.replace("%", "%%"))   # no placeholders here
    return "pg_temp."


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _array(values) -> str:
    return "ARRAY[" + ", ".join(_literal(v) for v in sorted(values)) + "]::text[]"


def _regex(pattern: str) -> str:
    """A Python pattern of :mod:`normalize` in PostgreSQL's dialect (``\\b`` is ``\\y``)."""
    return pattern.replace(r"\b", r"\y")


def _vendor_case(column: str) -> str:
    """CASE over the alias table, longest alias first, as :func:`normalize._vendor`."""
    pairs = sorted(((a, c) for c, aliases in normalize.VENDOR_ALIASES.items()
                    for a in aliases), key=lambda pair: -len(pair[0]))
    whens = []
    for alias, canonical in pairs:
        if alias.isascii():
            test = f"{column} ~ {_literal('(?<![a-z0-9])' + re.escape(alias) + '(?![a-z0-9])')}"
        else:
            test = f"strpos({column}, {_literal(alias)}) > 0"
        whens.append(f"WHEN {test} THEN {_literal(canonical)}")
    return "CASE " + " ".join(whens) + " END"


_WS = r"E' \t\n\r\f\x0b'"


_OCTET = "(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9][0-9]|[0-9])"
#: Values already in the ledger's form (nearly all of them: collectors and the census
#: normalise keys when they record them) pass through one inlined test; the rest go
#: through the full rule (``*_slow``, PL/pgSQL).
_FAST = {
    "serial": ("v ~ '^[A-Za-z0-9]+$' AND v <> repeat(left(v, 1), length(v)) "
               "AND NOT lower(v) = ANY({serials})", "upper(v)"),
    "uuid": ("v ~ '^[0-9a-f]{{8}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{4}}-[0-9a-f]{{12}}$' "
             "AND NOT v = ANY({uuids}) AND replace(v, '-', '') <> repeat(left(v, 1), 32)", "v"),
    "mac": ("v ~ '^[0-9a-f]{{2}}(:[0-9a-f]{{2}}){{5}}$' AND substr(v, 2, 1) NOT IN {odd} "
            "AND replace(v, ':', '') <> repeat(left(v, 1), 12)", "v"),
    "ip": (f"v ~ '^{_OCTET}(\\.{_OCTET}){{{{3}}}}$' AND v !~ '^(0|127|22[4-9]|23[0-9])\\.'",
           "v"),
    "host": ("v ~ '^[a-z0-9_-]+$' AND v <> 'localhost'", "v"),
}


def _postgresql() -> list[str]:
    noise = _literal(_regex(normalize._NOISE.pattern))
    punct = _literal(normalize._PUNCT.pattern)
    serials, uuids = _array(PLACEHOLDER_SERIALS), _array(PLACEHOLDER_UUIDS)
    odd = "('1','3','5','7','9','b','d','f')"
    return [
        # normalize.serial: the fast path for plain alphanumerics, else clean_serial's rule.
        f"""CREATE OR REPLACE FUNCTION pg_temp.norm_serial_slow(v text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE t text; bare text;
        BEGIN
          IF v IS NULL THEN RETURN NULL; END IF;
          IF v ~ '^[[:alnum:]]+$' AND v !~ '^(.)\\1*$' AND NOT lower(v) = ANY({serials}) THEN
            RETURN upper(v);
          END IF;
          t := regexp_replace(btrim(v, {_WS}), '\\s+', ' ', 'g');
          IF lower(t) = ANY({serials}) THEN RETURN NULL; END IF;
          bare := regexp_replace(lower(t), '[\\s:\\-_.]', '', 'g');
          IF bare = '' OR bare ~ '^(.)\\1*$' THEN RETURN NULL; END IF;
          RETURN upper(replace(t, ' ', ''));
        END $$""",
        f"""CREATE OR REPLACE FUNCTION pg_temp.norm_uuid_slow(v text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE t text; bare text;
        BEGIN
          IF v IS NULL THEN RETURN NULL; END IF;
          t := lower(btrim(btrim(v, '{{}} '), {_WS}));
          IF t = ANY({uuids}) THEN RETURN NULL; END IF;
          bare := regexp_replace(t, '[\\s:\\-_.]', '', 'g');
          IF bare = '' OR bare ~ '^(.)\\1*$' THEN RETURN NULL; END IF;
          RETURN t;
        END $$""",
        f"""CREATE OR REPLACE FUNCTION pg_temp.norm_mac_slow(v text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE bare text;
        BEGIN
          IF v IS NULL THEN RETURN NULL; END IF;
          bare := regexp_replace(lower(btrim(v, {_WS})), '[\\s:\\-_.]', '', 'g');
          IF bare !~ '^[0-9a-f]{{12}}$' OR bare ~ '^(.)\\1*$' OR substr(bare, 2, 1) IN {odd}
          THEN RETURN NULL; END IF;
          RETURN substr(bare, 1, 2) || ':' || substr(bare, 3, 2) || ':' || substr(bare, 5, 2)
            || ':' || substr(bare, 7, 2) || ':' || substr(bare, 9, 2) || ':'
            || substr(bare, 11, 2);
        END $$""",
        # normalize.ip: dotted IPv4 by its octets (leading zeros allowed), IPv6 through inet.
        f"""CREATE OR REPLACE FUNCTION pg_temp.norm_ip_slow(v text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE t text; o int[]; a inet;
        BEGIN
          IF v IS NULL OR v = '' THEN RETURN NULL; END IF;
          t := split_part(btrim(v, {_WS}), '/', 1);
          IF t ~ '^[0-9]{{1,3}}\\.[0-9]{{1,3}}\\.[0-9]{{1,3}}\\.[0-9]{{1,3}}$' THEN
            o := string_to_array(t, '.')::int[];
            IF greatest(o[1], o[2], o[3], o[4]) > 255 OR o[1] IN (0, 127)
               OR o[1] BETWEEN 224 AND 239 THEN RETURN NULL; END IF;
            RETURN array_to_string(o, '.');
          END IF;
          IF strpos(t, ':') = 0 OR strpos(t, '.') > 0 THEN RETURN NULL; END IF;
          BEGIN
            a := t::inet;
          EXCEPTION WHEN others THEN
            RETURN NULL;
          END;
          IF family(a) <> 6 OR a = '::'::inet OR a = '::1'::inet OR a << 'ff00::/8'::inet
          THEN RETURN NULL; END IF;
          RETURN host(a);
        END $$""",
        f"""CREATE OR REPLACE FUNCTION pg_temp.norm_host_slow(v text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE t text;
        BEGIN
          IF v IS NULL OR v = '' THEN RETURN NULL; END IF;
          t := rtrim(lower(btrim(v, {_WS})), '.');
          IF t = '' OR t IN ('localhost', 'localhost.localdomain') THEN RETURN NULL; END IF;
          IF strpos(t, ':') > 0 OR replace(t, '.', '') ~ '^[0-9]+$' THEN
            RETURN coalesce(pg_temp.norm_ip_slow(t), t);
          END IF;
          RETURN split_part(t, '.', 1);
        END $$""",
        *(f"""CREATE OR REPLACE FUNCTION pg_temp.norm_{name}(v text) RETURNS text
        LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN {test.format(serials=serials, uuids=uuids, odd=odd)}
                      THEN {value} ELSE pg_temp.norm_{name}_slow(v) END
        $$""" for name, (test, value) in _FAST.items()),
        f"""CREATE OR REPLACE FUNCTION pg_temp.norm_vendor(v text) RETURNS text
        LANGUAGE plpgsql IMMUTABLE AS $$
        DECLARE t text;
        BEGIN
          IF v IS NULL OR v = '' THEN RETURN NULL; END IF;
          t := regexp_replace(lower(v), {noise}, ' ', 'g');
          RETURN coalesce({_vendor_case('t')},
                          nullif(regexp_replace(t, {punct}, '', 'g'), ''));
        END $$""",
        """CREATE OR REPLACE FUNCTION pg_temp.norm_tail(v text) RETURNS text
        LANGUAGE sql IMMUTABLE AS $$ SELECT regexp_replace(v, '^.*:', '') $$""",
        f"""CREATE OR REPLACE FUNCTION pg_temp.norm_model(v text) RETURNS text
        LANGUAGE sql IMMUTABLE AS $$
          SELECT CASE WHEN v IS NULL OR v = '' THEN NULL ELSE
            nullif(regexp_replace(regexp_replace(lower(v), {noise}, ' ', 'g'), {punct}, '',
                                  'g'), '') END
        $$""",
    ]
