"""Prometheus exporters: scrape any /metrics page; node_exporter mapped onto host measurements."""
