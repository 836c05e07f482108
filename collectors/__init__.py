"""Collectors: each turns one target into an Observation (samples and facts).

Collectors see only their target and options. They never import ``monitor``,
``ledger`` or ``dashboards``; ``tests/test_layering.py`` checks it.
"""

from collectors.base import Collector, Fact, Observation, Option, Sample
from collectors.registry import get_collector, kinds, register_collector

__all__ = ["Collector", "Fact", "Observation", "Option", "Sample", "get_collector", "kinds",
           "register_collector"]
