"""Host collector package (psutil). See ``collector.py`` for its measurements."""

from collectors.host.collector import HostCollector

__all__ = ["HostCollector"]
