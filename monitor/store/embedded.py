"""The embedded time-series store: one SQLite file, no server to run.

Layout (why: reads of recent data touch small tables, retention drops whole
tables instead of deleting rows, and long ranges read rollups, not raw points):

- ``series``: one row per (measurement, tags, field) with an integer id.
- Raw points in day partitions ``raw_<day>`` keyed by (series id, ms timestamp).
- Rollup tiers ``m1_<week>`` (1 minute) and ``h1_<4 weeks>`` (1 hour) holding
  count, sum, min, max and last per bucket. :meth:`EmbeddedStore.maintain`
  fills a tier up to its watermark; writes that land behind a watermark (a
  spool replay after an outage) mark the tier dirty from there, so rollups stay
  exact. Reads use the coarsest tier the interval allows up to its watermark
  and finer tiers after it (see ``embedded_query.py``).
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
import time
from pathlib import Path
from typing import Iterable

from core.observation import Sample
from monitor.lineprotocol import LineProtocolError, parse
from monitor.store.base import (RejectedBatch, SeriesKey, StoreBase, StoreError, TagFilter,
                                check_query, tags_match)
from monitor.store.embedded_query import QueryPlanner, Tier

_LOGGER = logging.getLogger(__name__)

DAY_MS = 86_400_000
TIERS = (Tier("raw", 0, DAY_MS), Tier("m1", 60_000, 7 * DAY_MS), Tier("h1", 3_600_000, 28 * DAY_MS))
RETENTION_KEYS = {"raw": "raw", "m1": "1m", "h1": "1h"}
ROLLUP_COLUMNS = ("series_id INTEGER NOT NULL, ts INTEGER NOT NULL, count INTEGER NOT NULL, "
                  "sum REAL NOT NULL, min REAL NOT NULL, max REAL NOT NULL, last REAL NOT NULL, "
                  "last_ts INTEGER NOT NULL, PRIMARY KEY (series_id, ts)")
RAW_COLUMNS = "series_id INTEGER NOT NULL, ts INTEGER NOT NULL, value REAL NOT NULL, " \
              "PRIMARY KEY (series_id, ts)"
#: Late points arrive within this much of "now" without marking a tier dirty.
ROLLUP_GRACE_MS = 60_000


class EmbeddedStore(StoreBase):
    """A :class:`~monitor.store.base.TimeSeriesStore` in one SQLite file."""

    def __init__(self, folder: str | Path, retention: dict[str, float] | None = None) -> None:
        super().__init__()
        self.path = Path(folder) / "tsdb.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.retention_ms = {t.name: int((retention or {}).get(RETENTION_KEYS[t.name], 0) * 1000)
                             for t in TIERS}
        self._lock = threading.Lock()
        self._local = threading.local()
        self._writer = self._connect()
        self._writer.executescript(
            "CREATE TABLE IF NOT EXISTS series (id INTEGER PRIMARY KEY, measurement TEXT NOT NULL,"
            " field TEXT NOT NULL, tags TEXT NOT NULL, UNIQUE (measurement, tags, field));"
            "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER);")
        self._ids: dict[tuple[str, str, str], int] = {}
        # Series catalog, indexed by measurement so a query scans only its measurement.
        self._by_measurement: dict[str, dict[int, SeriesKey]] = {}
        self._max_id = 0
        self._series_count = 0
        self._catalog_lock = threading.Lock()
        self._tables: set[str] = set()
        self._planner = QueryPlanner(TIERS, self._reader)

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None,
                               check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA cache_size=-65536")
        return conn

    def _reader(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._connect()
        return conn

    # -- writing ---------------------------------------------------------------------------

    def _write(self, samples: Iterable[Sample]) -> int:
        partitions: dict[str, list[tuple[int, int, float]]] = {}
        oldest, written = None, 0
        with self._lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                for sample in samples:
                    written += 1
                    ts = sample.time // 1_000_000
                    oldest = ts if oldest is None or ts < oldest else oldest
                    rows = partitions.setdefault(self._partition(conn, TIERS[0], ts), [])
                    tags = _tag_text(sample.tags)
                    for field, value in sample.fields.items():
                        rows.append((self._series_id(conn, sample.measurement, tags, field),
                                     ts, float(value)))
                for table, rows in partitions.items():
                    conn.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?)", rows)
                if oldest is not None:
                    self._mark_dirty(conn, "m1", oldest)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                _rollback(conn)
                # Series ids and tables created in the failed transaction are void.
                self._ids.clear()
                self._tables.clear()
                raise StoreError(f"embedded store write failed: {exc}") from exc
        return written

    def write_lines(self, data: bytes) -> int:
        """Store a batch of line protocol; a line that does not parse rejects the batch.

        The same series and timestamp again replaces the value; names are kept as line
        protocol carries them, so a sample reads back as it would through InfluxDB."""
        try:
            samples = list(parse(data))
        except LineProtocolError as exc:
            raise RejectedBatch(str(exc)) from None
        return self._write(samples)

    def _series_id(self, conn: sqlite3.Connection, measurement: str, tags: str, field: str) -> int:
        key = (measurement, tags, field)
        sid = self._ids.get(key)
        if sid is None:
            conn.execute("INSERT OR IGNORE INTO series (measurement, field, tags) VALUES (?, ?, ?)",
                         (measurement, field, tags))
            sid = conn.execute("SELECT id FROM series WHERE measurement=? AND tags=? AND field=?",
                               (measurement, tags, field)).fetchone()[0]
            self._ids[key] = sid
        return sid

    def _partition(self, conn: sqlite3.Connection, tier: Tier, ts: int) -> str:
        table = tier.table_for(ts)
        if table not in self._tables:
            columns = RAW_COLUMNS if tier.step == 0 else ROLLUP_COLUMNS
            conn.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns}) WITHOUT ROWID")
            self._tables.add(table)
        return table

    def _mark_dirty(self, conn: sqlite3.Connection, tier: str, oldest_ms: int) -> None:
        watermark = _meta(conn, f"wm_{tier}")
        if watermark is not None and oldest_ms < watermark:
            dirty = _meta(conn, f"dirty_{tier}")
            if dirty is None or oldest_ms < dirty:
                _set_meta(conn, f"dirty_{tier}", oldest_ms)

    # -- housekeeping ------------------------------------------------------------------------

    def maintain(self, now: float | None = None) -> None:
        """Roll raw points up into 1 m and 1 h buckets and drop expired partitions."""
        now_ms = int((time.time() if now is None else now) * 1000)
        with self._lock:
            conn = self._writer
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._roll_up(conn, TIERS[0], TIERS[1], now_ms - ROLLUP_GRACE_MS)
                self._roll_up(conn, TIERS[1], TIERS[2], _meta(conn, "wm_m1") or 0)
                conn.execute("COMMIT")
                self._expire(conn, now_ms)
            except sqlite3.Error as exc:
                _rollback(conn)
                raise StoreError(f"embedded store maintenance failed: {exc}") from exc

    def _roll_up(self, conn: sqlite3.Connection, source: Tier, target: Tier, upto_ms: int) -> None:
        until = upto_ms - upto_ms % target.step
        starts = [v for v in (_meta(conn, f"wm_{target.name}"),
                              _meta(conn, f"dirty_{target.name}")) if v is not None]
        begin = min(starts) if starts else self._oldest(conn, source)
        if begin is None or begin >= until:
            if begin is None and until > 0:
                _set_meta(conn, f"wm_{target.name}", until)
            return
        begin -= begin % target.step
        for table in self._tables_between(conn, source, begin, until):
            into = self._partition(conn, target, source.start_of(table))
            conn.execute(f"INSERT OR REPLACE INTO {into} "
                         + _rollup_select(source, table, target.step), (begin, until))
        _set_meta(conn, f"wm_{target.name}", until)
        conn.execute("DELETE FROM meta WHERE key=?", (f"dirty_{target.name}",))
        if target is not TIERS[-1]:
            self._mark_dirty(conn, TIERS[TIERS.index(target) + 1].name, begin)

    def _oldest(self, conn: sqlite3.Connection, tier: Tier) -> int | None:
        tables = self._tables_between(conn, tier, 0, 2 ** 62)
        if not tables:
            return None
        return conn.execute(f"SELECT min(ts) FROM {tables[0]}").fetchone()[0]

    def _tables_between(self, conn: sqlite3.Connection, tier: Tier, begin: int,
                        end: int) -> list[str]:
        names = [row[0] for row in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
                 if row[0].startswith(f"{tier.name}_")]
        return sorted((n for n in names if tier.overlaps(n, begin, end)), key=tier.start_of)

    def _expire(self, conn: sqlite3.Connection, now_ms: int) -> None:
        for tier in TIERS:
            keep = self.retention_ms[tier.name]
            if keep <= 0:
                continue
            for table in self._tables_between(conn, tier, 0, now_ms - keep):
                if tier.start_of(table) + tier.span <= now_ms - keep:
                    conn.execute(f"DROP TABLE {table}")
                    self._tables.discard(table)
                    _LOGGER.info("Dropped expired partition %s", table)

    # -- reading -------------------------------------------------------------------------------

    def series(self, measurement: str | None = None,
               tags: TagFilter | None = None) -> list[SeriesKey]:
        """List stored series matching the measurement and tag filter."""
        return sorted((key for key in self._catalog(measurement).values()
                       if tags_match(key.tag_dict, tags)),
                      key=lambda k: (k.measurement, k.tags, k.field))

    def query(self, measurement, field, start, end, *, interval=None, agg="mean", tags=None):
        """Read series over ``[start, end)``; see :class:`TimeSeriesStore`."""
        check_query(start, end, interval, agg)
        ids = {sid: key for sid, key in self._catalog(measurement).items()
               if key.field == field and tags_match(key.tag_dict, tags)}
        if not ids:
            return []
        conn = self._reader()
        try:
            watermarks = {t.name: _meta(conn, f"wm_{t.name}") for t in TIERS[1:]}
            return self._planner.run(ids, int(start * 1000), int(end * 1000),
                                     None if interval is None else int(interval * 1000),
                                     agg, watermarks)
        except sqlite3.Error as exc:
            raise StoreError(f"embedded store query failed: {exc}") from exc

    def _catalog(self, measurement: str | None) -> dict[int, SeriesKey]:
        """Series ids and keys of one measurement (or all), including series new on disk."""
        with self._catalog_lock:
            self._refresh_catalog()
            if measurement is not None:
                return dict(self._by_measurement.get(measurement, {}))
            return {sid: key for keys in self._by_measurement.values()
                    for sid, key in keys.items()}

    def _refresh_catalog(self) -> None:
        # Another process (the scheduler) may have added series since the last look.
        rows = self._reader().execute(
            "SELECT id, measurement, field, tags FROM series WHERE id > ?", (self._max_id,))
        for sid, name, field, tags in rows:
            pairs = tuple(tuple(pair) for pair in json.loads(tags))
            self._by_measurement.setdefault(name, {})[sid] = SeriesKey(name, pairs, field)
            self._max_id = max(self._max_id, sid)
            self._series_count += 1

    def stats(self) -> dict[str, float]:
        """Return the file size and series count, for /metrics."""
        size = sum(p.stat().st_size for p in self.path.parent.glob(self.path.name + "*"))
        with self._catalog_lock:
            self._refresh_catalog()
            count = self._series_count
        return {"bytes": float(size), "series": float(count)}

    def close(self) -> None:
        """Close the writer connection (reader connections close with their threads)."""
        with self._lock:
            self._writer.close()


def _tag_text(tags) -> str:
    return json.dumps(sorted((str(k), str(v)) for k, v in tags.items()), ensure_ascii=False,
                      separators=(",", ":"))


def _rollup_select(source: Tier, table: str, step: int) -> str:
    # The inner query groups; the outer one fetches the value at the last timestamp
    # by primary key, which SQLite cannot do in the same GROUP BY.
    if source.step == 0:
        inner = (f"SELECT series_id AS sid, ts / {step} * {step} AS b, count(*) AS c,"
                 f" sum(value) AS s, min(value) AS mn, max(value) AS mx, max(ts) AS lt"
                 f" FROM {table} WHERE ts >= ? AND ts < ? GROUP BY sid, b")
        last = f"(SELECT value FROM {table} r WHERE r.series_id = g.sid AND r.ts = g.lt)"
    else:
        inner = (f"SELECT series_id AS sid, ts / {step} * {step} AS b, sum(count) AS c,"
                 f" sum(sum) AS s, min(min) AS mn, max(max) AS mx, max(last_ts) AS lt"
                 f" FROM {table} WHERE ts >= ? AND ts < ? GROUP BY sid, b")
        last = (f"(SELECT last FROM {table} r WHERE r.series_id = g.sid AND r.last_ts = g.lt"
                f" AND r.ts >= g.b AND r.ts < g.b + {step} LIMIT 1)")
    return f"SELECT sid, b, c, s, mn, mx, {last}, lt FROM ({inner}) g"


def _meta(conn: sqlite3.Connection, key: str) -> int | None:
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return row[0] if row else None


def _set_meta(conn: sqlite3.Connection, key: str, value: int) -> None:
    conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))


def _rollback(conn: sqlite3.Connection) -> None:
    try:
        conn.execute("ROLLBACK")
    except sqlite3.Error:
        pass
