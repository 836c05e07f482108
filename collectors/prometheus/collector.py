"""Prometheus collector: scrape a /metrics page (text exposition format).

node_exporter pages are mapped onto the host measurements (see ``node_exporter.py``) with a
``host`` fact; for any exporter, the families named in ``metrics`` are also kept as they
are: measurement = family name, tags = labels, field ``value`` (and ``per_second`` for
counters after two scrapes). Parsing is prometheus-client's.

Measurements: those of ``collectors/host`` for node_exporter; ``<family>`` for the listed
families; ``scrape`` with ``families``, ``samples`` and ``size_bytes`` of the page.

Example output::

    {"type": "sample", "measurement": "mem", "tags": {}, "fields": {"total_bytes": 2.5e10,
     "used_percent": 2.1, ...}}
"""

from __future__ import annotations

import math
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict

from collectors.base import STATUS_ERROR, Collector, Observation, Option, url_option
from collectors.prometheus import node_exporter
from collectors.rates import RateTracker
from collectors.registry import register_collector
from collectors.secrets import resolve_option

MAX_BYTES = 64 * 1024 * 1024


@register_collector
class PrometheusCollector(Collector):
    """Scrapes one exporter."""

    kind = "prometheus"
    description = "A Prometheus /metrics page; node_exporter mapped onto host measurements"
    options = (
        url_option("url", required=True, help="the exporter's metrics URL"),
        Option("mapping", str, "auto", help="auto, node_exporter or none",
               choices=("auto", "node_exporter", "none")),
        Option("metrics", list, [], help="families (or name prefixes ending in *) kept as-is"),
        Option("bearer_token", str, "", secret=True, help="env:NAME or file:PATH"),
    )

    @classmethod
    def validate(cls, options) -> None:
        """A token reference that resolves, when one is given."""
        if options["bearer_token"]:
            resolve_option(options, "bearer_token")

    def setup(self) -> None:
        """The token and the counters' previous readings."""
        self._token = self.secret("bearer_token") if self.config["bearer_token"] else ""
        self._rates = RateTracker()

    def _fetch(self) -> str:
        request = urllib.request.Request(self.config["url"], headers={
            "Accept": "text/plain;version=0.0.4"})
        if self._token:
            request.add_header("Authorization", f"Bearer {self._token}")
        with urllib.request.urlopen(request, timeout=self.timeout) as response:
            body = response.read(MAX_BYTES + 1)
        if len(body) > MAX_BYTES:
            raise ValueError(f"page larger than {MAX_BYTES} bytes")
        return body.decode("utf-8")

    def collect(self) -> Observation:
        """Scrape once."""
        from prometheus_client.parser import text_string_to_metric_families

        now, stamp = time.time(), time.time_ns()
        try:
            text = self._fetch()
        except urllib.error.HTTPError as exc:
            return Observation(status=STATUS_ERROR, error=f"HTTP {exc.code} from "
                                                          f"{self.config['url']}")
        except (urllib.error.URLError, OSError, ValueError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "reason", exc)
            return Observation(status=STATUS_ERROR, error=f"cannot scrape "
                                                          f"{self.config['url']}: {reason}")
        families: dict[str, list] = defaultdict(list)
        kinds: dict[str, str] = {}
        try:
            for family in text_string_to_metric_families(text):
                kinds[family.name] = family.type
                for sample in family.samples:
                    if math.isfinite(sample.value):
                        families[sample.name].append((sample.labels, sample.value))
        except ValueError as exc:
            return Observation(status=STATUS_ERROR, error=f"not a metrics page: {exc}")
        obs = Observation()
        mapping = self.config["mapping"]
        if mapping == "node_exporter" or (mapping == "auto" and
                                          node_exporter.is_node_exporter(families)):
            node_exporter.map_samples(obs, families, self._rates, now, stamp)
            host = urllib.parse.urlsplit(self.config["url"]).hostname
            obs.facts.append(node_exporter.host_fact(families, host))
        self._passthrough(obs, families, kinds, now, stamp)
        obs.add("scrape", {}, {"families": len(kinds), "samples": sum(map(len,
                                                                         families.values())),
                               "size_bytes": len(text)}, stamp)
        self._rates.forget_untouched()
        return obs

    def _passthrough(self, obs, families, kinds, now, stamp) -> None:
        wanted = self.config["metrics"]
        if not wanted:
            return
        for name, samples in families.items():
            if not any(name == w or (w.endswith("*") and name.startswith(w[:-1]))
                       for w in wanted):
                continue
            counter = kinds.get(name.removesuffix("_total")) == "counter" or \
                kinds.get(name) == "counter"
            for labels, value in samples:
                fields = {"value": value}
                if counter:
                    rate = self._rates.rate((name, tuple(sorted(labels.items()))), value, now)
                    if rate is not None:
                        fields["per_second"] = rate
                obs.add(name, dict(labels), fields, stamp)
