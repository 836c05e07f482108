"""The VictoriaMetrics backend: line protocol writes, MetricsQL and export reads.

URL (``store.backend`` or ``--store``): ``victoriametrics://host:port[?separator=.&tls=true]``
(``tls=true``: HTTPS, the certificate checked against the system or ``store.ca_file``),
single-node VictoriaMetrics or, for a cluster, a vminsert/vmselect pair behind one
address that routes ``/api/v2/write`` and ``/api/v1/*`` (see the README's deployment
section). The server must run with

- ``-influxMeasurementFieldSeparator=.`` (or the ``separator`` the URL names), so a
  stored metric ``cpu.usage_percent`` splits back into measurement and field;
- ``-dedup.minScrapeInterval=1ms``, so a replayed batch (the spool delivers at least
  once) replaces the samples it repeats instead of doubling them.

Writes go through the InfluxDB 2.x write path of :class:`~monitor.store.influx.InfluxStore`
(``POST /api/v2/write``, the spool's bytes as they are). The body is sent plain: the 2.x
write handler of VictoriaMetrics 1.79 (Debian 12) ignores ``Content-Encoding: gzip``, reads
the compressed bytes as lines, drops them all and still answers 204 (found by this
backend's tests). VictoriaMetrics drops a malformed line and answers 204 for the rest, so a
bad batch is never refused whole here.

Reads: raw points come from ``/api/v1/export`` (every stored sample, milliseconds);
aggregates from ``/api/v1/query_range`` with ``<agg>_over_time(m[interval])`` evaluated
1 ms before each bucket's end, so the window ``(end - interval, end - 1 ms]`` is exactly
the bucket ``[start, start + interval)`` at the store's millisecond resolution.
"""

from __future__ import annotations

import json
import re
import time
import urllib.parse

from monitor.store.base import (Series, SeriesKey, StoreBase, StoreError, TagFilter,
                                check_query)
from monitor.store.influx import InfluxStore

SCHEME = "victoriametrics"
#: The store's aggregates as MetricsQL rollup functions.
ROLLUP_FUNCTIONS = {"mean": "avg_over_time", "max": "max_over_time", "min": "min_over_time",
                    "sum": "sum_over_time", "count": "count_over_time",
                    "last": "last_over_time"}
NAME_LABEL = "__name__"


def parse_victoria_url(url: str) -> tuple[str, int, str, bool]:
    """Host, port, separator and TLS of a ``victoriametrics://`` URL; ValueError says why not."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query, keep_blank_values=True))
    if parts.scheme != SCHEME or not parts.hostname:
        raise ValueError(f"expected victoriametrics://host:port[?separator=.], got {url!r}")
    if parts.username or parts.password or parts.path.strip("/"):
        raise ValueError(f"victoriametrics:// takes host and port only, got {url!r}")
    unknown = set(query) - {"separator", "tls"}
    if unknown:
        raise ValueError(f"unknown option {', '.join(sorted(unknown))} in {url!r}; "
                         "allowed: separator, tls")
    if query.get("tls", "false") not in ("true", "false"):
        raise ValueError(f"tls must be true or false, got {query['tls']!r} in {url!r}")
    separator = query.get("separator", ".")
    if not separator:
        raise ValueError(f"the separator cannot be empty: {url!r}")
    return parts.hostname, parts.port or 8428, separator, query.get("tls") == "true"


class VictoriaMetricsStore(StoreBase):
    """A :class:`~monitor.store.base.TimeSeriesStore` on VictoriaMetrics."""

    def __init__(self, url: str, *, retention: dict[str, float] | None = None,
                 token_env: str = "INFLUXDB_TOKEN", timeout: float = 10.0,
                 ca_file: str | None = None, **_influx_only) -> None:
        super().__init__()
        host, port, self.separator, tls = parse_victoria_url(url)
        self.retention = retention or {}
        # The org and bucket are required by the 2.x API and ignored by VictoriaMetrics.
        self._http = InfluxStore(f"influxdb2://{host}:{port}?org=infra-ledger&bucket=infra-ledger"
                                 f"&tls={'true' if tls else 'false'}", token_env=token_env,
                                 timeout=timeout, use_gzip=False, manage_schema=False,
                                 ca_file=ca_file)
        self._http.label = "VictoriaMetrics"
        self.where = f"VictoriaMetrics at {host}:{port}"

    # -- writing ---------------------------------------------------------------------------------

    def write_lines(self, data: bytes) -> int:
        """POST one batch of line protocol to ``/api/v2/write``."""
        return self._http.write_lines(data)

    # -- reading ---------------------------------------------------------------------------------

    def _get(self, path: str, params: list[tuple[str, str]]) -> bytes:
        status, body = self._http._request(
            "POST", path, urllib.parse.urlencode(params).encode(),
            {"Content-Type": "application/x-www-form-urlencoded"})
        if status >= 300:
            raise StoreError(f"{self.where}: {path} failed (HTTP {status}): "
                             f"{body[:300].decode(errors='replace')}")
        return body

    def _metric(self, measurement: str, field: str) -> str:
        return f"{measurement}{self.separator}{field}"

    def query(self, measurement, field, start, end, *, interval=None, agg="mean", tags=None):
        """Read series over ``[start, end)``; see :class:`TimeSeriesStore`."""
        check_query(start, end, interval, agg)
        if _matches_nothing(tags):
            return []
        selector = _selector(self._metric(measurement, field), tags)
        if interval is None:
            found = self._export(selector, start, end)
        else:
            found = self._rollup(selector, start, end, interval, agg)
        out = [Series(SeriesKey(measurement, tuple(sorted(labels.items())), field), points)
               for labels, points in found if points]
        return sorted(out, key=lambda s: s.key.tags)

    def _export(self, selector: str, start: float, end: float):
        body = self._get("/api/v1/export", [("match[]", selector), ("start", _secs(start)),
                                            ("end", _secs(end - 0.001))])
        for line in body.splitlines():
            item = json.loads(line)
            labels = {k: v for k, v in item["metric"].items() if k != NAME_LABEL}
            points = sorted((ts / 1000.0, float(v)) for ts, v in
                            zip(item["timestamps"], item["values"]) if start <= ts / 1000.0 < end)
            yield labels, points

    def _rollup(self, selector: str, start: float, end: float, interval: float, agg: str):
        step_ms = int(round(interval * 1000))
        first = start // interval * interval      # epoch-aligned buckets, as every store
        query = f"{ROLLUP_FUNCTIONS[agg]}({selector}[{step_ms}ms])"
        params = [("query", query), ("start", _secs(first + interval - 0.001)),
                  ("end", _secs(end - 0.001 + interval)), ("step", f"{step_ms}ms"),
                  ("nocache", "1")]
        answer = json.loads(self._get("/api/v1/query_range", params))
        for item in answer["data"]["result"]:
            labels = {k: v for k, v in item["metric"].items() if k != NAME_LABEL}
            points = []
            for ts, value in item["values"]:
                bucket = round(float(ts) + 0.001 - interval, 3)
                if bucket < end:
                    points.append((float(bucket), float(value)))
            yield labels, points

    def series(self, measurement: str | None = None,
               tags: TagFilter | None = None) -> list[SeriesKey]:
        """List series from ``/api/v1/series`` over the raw retention."""
        if _matches_nothing(tags):
            return []
        name = (re.escape(measurement + self.separator) + ".*") if measurement else ".*"
        selector = _selector(None, tags, name_regex=name)
        params = [("match[]", selector)]
        if self.retention.get("raw"):
            params.append(("start", _secs(time.time() - self.retention["raw"])))
        answer = json.loads(self._get("/api/v1/series", params))
        keys = set()
        for labels in answer["data"]:
            name = labels.pop(NAME_LABEL, "")
            found, sep, field = name.partition(self.separator)
            if sep:
                keys.add(SeriesKey(found, tuple(sorted(labels.items())), field))
        return sorted(keys, key=lambda k: (k.measurement, k.tags, k.field))

    def maintain(self, now: float | None = None) -> None:
        """Nothing to do: VictoriaMetrics keeps its own retention (``-retentionPeriod``)."""

    def stats(self) -> dict[str, float]:
        """HTTP requests sent to VictoriaMetrics, and those that failed."""
        return self._http.stats()

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()


def _secs(epoch: float) -> str:
    return f"{epoch:.3f}"


def _quote(value: str) -> str:
    return json.dumps(value, ensure_ascii=False)


def _matches_nothing(tags: TagFilter | None) -> bool:
    return any(not isinstance(v, str) and not v for v in (tags or {}).values())


def _selector(metric: str | None, tags: TagFilter | None, *, name_regex: str = "") -> str:
    """A MetricsQL series selector: exact name, then one matcher per tag filter."""
    matchers = [f"{NAME_LABEL}={_quote(metric)}" if metric else
                f"{NAME_LABEL}=~{_quote(name_regex)}"]
    for key, accepted in (tags or {}).items():
        label = _label_name(key)
        if isinstance(accepted, str):
            matchers.append(f"{label}={_quote(accepted)}")
        else:
            matchers.append(f"{label}=~{_quote('|'.join(re.escape(v) for v in accepted))}")
    return "{" + ",".join(matchers) + "}"


def _label_name(key: str) -> str:
    """A label name as MetricsQL reads it: ASCII letters, digits and ``_`` as they are,
    every other character escaped with a backslash (``\\部\\门``)."""
    return "".join(c if (c.isascii() and c.isalnum() and not (i == 0 and c.isdigit()))
                   or c == "_" else "\\" + c for i, c in enumerate(key))
