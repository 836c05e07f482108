"""The InfluxDB backend: line protocol writes over HTTP, InfluxQL reads on /query.

URLs (``store.backend`` in the configuration, or ``--store``):

- ``influxdb://[user@]host:port/db[?rp=NAME]``: the 1.x API (``/write``), password
  from the environment variable named by ``store.password_env``.
- ``...?tls=true`` on either: HTTPS, the server's certificate checked against the system's
  trust store or ``store.ca_file``.
- ``influxdb2://host:port?org=O&bucket=B``: the 2.x/3.x write API (``/api/v2/write``),
  token from ``store.token_env``; reads go to ``/query`` with ``db=<bucket>``
  (a DBRP mapping on 2.x, the database name on 3.x).

Why not influxdb-client: its writes go to ``/api/v2/write``, which InfluxDB 1.6
does not serve, and its ``Point`` costs about 14 µs per point; the spool already
holds line protocol, so a write is one POST of those bytes.

Status handling: 2xx is success; 400, 413 and 422 mean the batch itself is bad
(:class:`RejectedBatch`, set aside by the writer); 401, 403 and 404 (bad
credentials, missing database) and 5xx, timeouts and refused connections are
retried, since fixing the server makes the same batch succeed. So is vmauth's 400 for
an unknown token (VictoriaMetrics' auth proxy answers a rotated token that way): it says
nothing about the batch.
"""

from __future__ import annotations

import base64
import dataclasses
import gzip
import http.client
import json
import logging
import os
import re
import ssl
import threading
import time
import urllib.parse

from monitor.lineprotocol import parse_series_key
from monitor.store.base import (RejectedBatch, Series, SeriesKey, StoreBase, StoreError,
                                TagFilter, check_query)

_LOGGER = logging.getLogger(__name__)
REJECT_STATUSES = {400, 413, 422}
#: A 400 that refuses the credentials, not the batch: vmauth's whole answer, perhaps after
#: its ``remoteAddr: "..."`` prefix (never a server's error that quotes a refused line).
AUTH_REFUSAL = re.compile(rb'^(?:remoteAddr: "[^"\n]*"(?:, X-Forwarded-For: "[^"\n]*")?; )?'
                          rb'cannot find the provided auth token "[^"\n]*" in config\s*$')
ROLLUP_RECHECK_SECONDS = 300
ROLLUPS = (("rollup_1h", 3600, "1h"), ("rollup_1m", 60, "1m"))
# InfluxQL over rollup fields for each aggregate (fields are <agg>_<field> from the CQs).
# Each {part} is the quoted identifier of the rollup field "<part>_<field>".
ROLLUP_SELECT = {"mean": "sum({sum}) / sum({count})", "count": "sum({count})",
                 "sum": "sum({sum})", "min": "min({min})", "max": "max({max})",
                 "last": "last({last})"}


@dataclasses.dataclass(frozen=True)
class InfluxTarget:
    """Where and how to reach InfluxDB, parsed from a store URL."""

    version: int
    host: str
    port: int
    database: str
    rp: str | None = None
    user: str | None = None
    org: str | None = None
    tls: bool = False


def parse_store_url(url: str) -> InfluxTarget:
    """Parse an ``influxdb://`` or ``influxdb2://`` URL; ValueError says what is wrong."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    if parts.scheme not in ("influxdb", "influxdb2") or not parts.hostname:
        raise ValueError("expected embedded, influxdb://[user@]host:port/db[?rp=NAME], "
                         "influxdb2://host:port?org=O&bucket=B or victoriametrics://host:port, "
                         f"got {url!r}")
    if parts.password:
        raise ValueError("put no password in the URL; set it in the environment "
                         "(store.password_env)")
    port = parts.port or 8086
    tls = _tls_option(query.get("tls", "false"), url)
    if parts.scheme == "influxdb":
        database = parts.path.strip("/")
        if not database:
            raise ValueError(f"the URL names no database: {url!r}")
        return InfluxTarget(1, parts.hostname, port, database, query.get("rp"),
                            parts.username, tls=tls)
    if not query.get("org") or not query.get("bucket"):
        raise ValueError(f"influxdb2:// needs ?org=...&bucket=..., got {url!r}")
    return InfluxTarget(2, parts.hostname, port, query["bucket"], None, None, query["org"], tls)


def _tls_option(value: str, url: str) -> bool:
    """``?tls=true`` (HTTPS, the server's certificate checked) or ``false``."""
    if value not in ("true", "false"):
        raise ValueError(f"tls must be true or false, got {value!r} in {url!r}")
    return value == "true"


class InfluxStore(StoreBase):
    """A :class:`~monitor.store.base.TimeSeriesStore` on InfluxDB 1.x, 2.x or 3.x."""

    def __init__(self, url: str, *, retention: dict[str, float] | None = None,
                 password_env: str = "INFLUXDB_PASSWORD", token_env: str = "INFLUXDB_TOKEN",
                 timeout: float = 10.0, use_gzip: bool = True, manage_schema: bool = True,
                 ca_file: str | None = None, clock=time.time) -> None:
        super().__init__()
        self.target = parse_store_url(url)
        self.retention = retention or {}
        self.timeout = timeout
        self.use_gzip = use_gzip
        self._clock = clock
        self._tls = ssl.create_default_context(cafile=ca_file) if self.target.tls else None
        self._auth = self._auth_header(password_env, token_env)
        self._local = threading.local()
        self._connections: list[http.client.HTTPConnection] = []
        self._connections_lock = threading.Lock()
        self._requests = self._request_errors = 0
        self._rollups_ready = False
        self._rollups_checked_at: float | None = None
        #: The server's name in error messages (the VictoriaMetrics backend writes through here).
        self.label = "InfluxDB"
        if manage_schema and self.target.version == 1:
            self._ensure_schema()

    def _auth_header(self, password_env: str, token_env: str) -> dict[str, str]:
        if self.target.version == 2:
            token = os.environ.get(token_env)
            return {"Authorization": f"Token {token}"} if token else {}
        if self.target.user:
            secret = f"{self.target.user}:{os.environ.get(password_env, '')}"
            return {"Authorization": "Basic " + base64.b64encode(secret.encode()).decode()}
        return {}

    # -- HTTP ------------------------------------------------------------------------------------

    def _request(self, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int, bytes]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            if self._tls is not None:
                conn = http.client.HTTPSConnection(self.target.host, self.target.port,
                                                   timeout=self.timeout, context=self._tls)
            else:
                conn = http.client.HTTPConnection(self.target.host, self.target.port,
                                                  timeout=self.timeout)
            self._local.conn = conn
            with self._connections_lock:
                self._connections.append(conn)
        try:
            conn.request(method, path, body=body, headers={**self._auth, **(headers or {})})
            response = conn.getresponse()
            answer = response.status, response.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._local.conn = None
            with self._connections_lock:
                self._connections.remove(conn)
                self._requests += 1
                self._request_errors += 1
            raise StoreError(f"{self.label} at {self.target.host}:{self.target.port} did not "
                             f"answer: {type(exc).__name__}: {exc}") from exc
        with self._connections_lock:
            self._requests += 1
            self._request_errors += answer[0] >= 300
        return answer

    def _influxql(self, statement: str, *, write: bool = False) -> list[dict]:
        params = {"db": self.target.database, "q": statement, "epoch": "ms"}
        if self.target.rp and not write:
            params["rp"] = self.target.rp
        status, body = self._request("POST", "/query", urllib.parse.urlencode(params).encode(),
                                     {"Content-Type": "application/x-www-form-urlencoded"})
        if status >= 300:
            raise StoreError(f"InfluxDB query failed (HTTP {status}): {body[:300]!r}")
        results = json.loads(body).get("results", [])
        for result in results:
            if "error" in result:
                raise StoreError(f"InfluxDB query failed: {result['error']}")
        return results

    # -- schema (1.x) ----------------------------------------------------------------------------

    def _ensure_schema(self) -> None:
        db = _ident(self.target.database)
        source_rp = _ident(self.target.rp or "autogen")
        try:
            self._influxql(f"CREATE DATABASE {db}", write=True)
            for name, step, key in ROLLUPS:
                days = max(int(self.retention.get(key, 0) // 86400), 1)
                self._influxql(f"CREATE RETENTION POLICY {_ident(name)} ON {db} "
                               f"DURATION {days}d REPLICATION 1", write=True)
                self._influxql(
                    f"CREATE CONTINUOUS QUERY {_ident('infraledger_' + name)} ON {db} "
                    f"RESAMPLE FOR {2 * step}s BEGIN SELECT sum(*), count(*), min(*), max(*), "
                    f"last(*) INTO {db}.{_ident(name)}.:MEASUREMENT FROM {db}.{source_rp}./.*/ "
                    f"GROUP BY time({step}s), * END", write=True)
            self._rollups_ready = True
        except StoreError as exc:
            # Without admin rights the database is managed by its owner; say so and go on.
            _LOGGER.warning("Could not create InfluxDB database, retention policies or "
                            "continuous queries (%s); assuming they are managed elsewhere", exc)

    # -- writing ---------------------------------------------------------------------------------

    def write_lines(self, data: bytes) -> int:
        """POST one batch of line protocol; return the number of samples (lines) written."""
        t = self.target
        if t.version == 1:
            query = {"db": t.database, "precision": "ns", **({"rp": t.rp} if t.rp else {})}
            path = "/write?" + urllib.parse.urlencode(query)
        else:
            path = "/api/v2/write?" + urllib.parse.urlencode(
                {"org": t.org, "bucket": t.database, "precision": "ns"})
        headers = {"Content-Type": "text/plain; charset=utf-8"}
        body = data
        if self.use_gzip:
            body = gzip.compress(data, compresslevel=1)
            headers["Content-Encoding"] = "gzip"
        status, answer = self._request("POST", path, body, headers)
        if 200 <= status < 300:
            return data.count(b"\n")
        reason = f"HTTP {status}: {answer[:500].decode(errors='replace').strip()}"
        if status in REJECT_STATUSES and not AUTH_REFUSAL.match(answer):
            raise RejectedBatch(reason)
        raise StoreError(f"{self.label} write failed, will retry: {reason}")

    # -- reading ---------------------------------------------------------------------------------

    def query(self, measurement, field, start, end, *, interval=None, agg="mean", tags=None):
        """Read series over ``[start, end)`` with InfluxQL; see :class:`TimeSeriesStore`."""
        check_query(start, end, interval, agg)
        if _matches_nothing(tags):
            return []
        where = f"time >= {int(start * 1e9)} AND time < {int(end * 1e9)}" + _tag_where(tags)
        rollup = self._rollup_for(start, interval)
        if interval is None:
            select = f"SELECT {_ident(field)} AS v FROM {self._source(measurement, None)}"
            statement = f"{select} WHERE {where} GROUP BY *"
        else:
            expr = (ROLLUP_SELECT[agg].format(**{part: _ident(f"{part}_{field}") for part in
                                                 ("sum", "count", "min", "max", "last")})
                    if rollup else f"{agg}({_ident(field)})")
            statement = (f"SELECT {expr} AS v FROM {self._source(measurement, rollup)} "
                         f"WHERE {where} GROUP BY time({int(interval * 1000)}ms), * fill(none)")
        out = []
        for result in self._influxql(statement):
            for series in result.get("series", []):
                key = SeriesKey(measurement, tuple(sorted((series.get("tags") or {}).items())),
                                field)
                points = [(ts / 1000.0, float(v)) for ts, v in series["values"] if v is not None]
                if points:
                    out.append(Series(key, points))
        return sorted(out, key=lambda s: s.key.tags)

    def _rollup_for(self, start: float, interval: float | None) -> str | None:
        raw_kept = self.retention.get("raw")
        if interval is None or raw_kept is None or start >= self._clock() - raw_kept \
                or not self._have_rollups():
            return None
        for name, step, _ in ROLLUPS:
            if interval >= step and interval % step == 0:
                return name
        return None

    def _have_rollups(self) -> bool:
        """Whether the rollup retention policies exist, whoever created them.

        Looked up on first need and, while missing, again every few minutes, so a
        reader that does not manage the schema (the web tier) still uses them.
        """
        now = self._clock()
        if self._rollups_ready or (self._rollups_checked_at is not None
                                   and now - self._rollups_checked_at < ROLLUP_RECHECK_SECONDS):
            return self._rollups_ready
        self._rollups_checked_at = now
        try:
            results = self._influxql(f"SHOW RETENTION POLICIES ON {_ident(self.target.database)}")
        except StoreError:
            return False
        names = {row[0] for result in results for series in result.get("series", [])
                 for row in series["values"]}
        self._rollups_ready = all(name in names for name, _, _ in ROLLUPS)
        return self._rollups_ready

    def _source(self, measurement: str, rp: str | None) -> str:
        rp = rp or self.target.rp
        prefix = f"{_ident(self.target.database)}.{_ident(rp)}." if rp else ""
        return prefix + _ident(measurement)

    def series(self, measurement: str | None = None,
               tags: TagFilter | None = None) -> list[SeriesKey]:
        """List series from SHOW SERIES and SHOW FIELD KEYS."""
        if _matches_nothing(tags):
            return []
        source = f" FROM {self._source(measurement, None)}" if measurement else ""
        where = _tag_where(tags).removeprefix(" AND ")
        statement = f"SHOW SERIES{source}" + (f" WHERE {where}" if where else "")
        fields_by_measurement: dict[str, list[str]] = {}
        for result in self._influxql(f"SHOW FIELD KEYS{source}"):
            for series in result.get("series", []):
                fields_by_measurement[series["name"]] = [row[0] for row in series["values"]]
        keys = []
        for result in self._influxql(statement):
            for series in result.get("series", []):
                for (raw_key,) in series["values"]:
                    name, tag_pairs = parse_series_key(raw_key)
                    keys.extend(SeriesKey(name, tag_pairs, f)
                                for f in fields_by_measurement.get(name, []))
        return sorted(keys, key=lambda k: (k.measurement, k.tags, k.field))

    def maintain(self, now: float | None = None) -> None:
        """Nothing to do: InfluxDB's retention policies and continuous queries do it."""

    def stats(self) -> dict[str, float]:
        """HTTP requests sent to InfluxDB, and those that failed or got an error status."""
        with self._connections_lock:
            return {"requests_total": float(self._requests),
                    "request_errors_total": float(self._request_errors)}

    def close(self) -> None:
        """Close the connections of every thread."""
        with self._connections_lock:
            for conn in self._connections:
                conn.close()
            self._connections.clear()


def _ident(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _literal(value: str) -> str:
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _matches_nothing(tags: TagFilter | None) -> bool:
    return any(not isinstance(v, str) and not v for v in (tags or {}).values())


def _tag_where(tags: TagFilter | None) -> str:
    clauses = []
    for name, accepted in (tags or {}).items():
        values = [accepted] if isinstance(accepted, str) else list(accepted)
        clauses.append("(" + " OR ".join(f"{_ident(name)} = {_literal(v)}" for v in values) + ")")
    return "".join(f" AND {c}" for c in clauses)
