"""Time-series stores behind one protocol, picked by one factory switch."""

from __future__ import annotations

from monitor.store.base import (AGGREGATES, RejectedBatch, Series, SeriesKey, StoreError,
                                TimeSeriesStore, tags_match)

__all__ = ["AGGREGATES", "RejectedBatch", "Series", "SeriesKey", "StoreError", "TimeSeriesStore", "open_configured_store", "open_store",
           "tags_match"]


def open_store(backend: str, *, path, retention: dict[str, float] | None = None,
               **options) -> TimeSeriesStore:
    """Open the store named by ``backend``: ``embedded``, an InfluxDB or a VictoriaMetrics URL.

    ``options`` go to the InfluxDB and VictoriaMetrics backends (credentials' variable names, timeout,
    gzip, schema management); unknown backends are rejected.
    """
    if backend == "embedded":
        from monitor.store.embedded import EmbeddedStore
        return EmbeddedStore(path, retention)
    if backend.startswith(("influxdb://", "influxdb2://")):
        from monitor.store.influx import InfluxStore
        return InfluxStore(backend, retention=retention, **options)
    if backend.startswith("victoriametrics://"):
        from monitor.store.victoria import VictoriaMetricsStore
        return VictoriaMetricsStore(backend, retention=retention, **options)
    raise ValueError(f"unknown time-series store backend {backend!r}; "
                     "use embedded, influxdb://..., influxdb2://... or victoriametrics://...")


def open_configured_store(settings, *, writer: bool = True) -> TimeSeriesStore:
    """Open the store the settings name.

    Only the writer (the scheduler) manages an InfluxDB schema; readers such as
    web workers never issue CREATE statements.
    """
    options = dict(settings.store_options)
    if not writer:
        options["manage_schema"] = False
    return open_store(settings.store_backend, path=settings.store_path,
                      retention=settings.retention, **options)
