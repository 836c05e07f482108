"""The monitor: configuration, scheduler, store writer and the command line."""

__version__ = "0.1.0"
