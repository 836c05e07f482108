"""Registry of collectors by explicit name.

A collector class registers itself with :func:`register_collector`; the list of
collectors that ship with the product is the explicit import list in
``collectors/all.py`` (the way Telegraf's ``plugins/inputs/all`` does it), never
a scan of folders.
"""

from __future__ import annotations

from typing import TypeVar

from collectors.base import Collector

_REGISTRY: dict[str, type[Collector]] = {}

C = TypeVar("C", bound=type[Collector])


def register_collector(cls: C) -> C:
    """Class decorator: make ``cls`` available under ``cls.kind``."""
    if not cls.kind:
        raise ValueError(f"{cls.__name__} has no kind")
    existing = _REGISTRY.get(cls.kind)
    if existing is not None and existing is not cls:
        raise ValueError(f"collector kind {cls.kind!r} registered twice "
                         f"({existing.__name__}, {cls.__name__})")
    _REGISTRY[cls.kind] = cls
    return cls


def get_collector(kind: str) -> type[Collector]:
    """Return the collector class for ``kind``; KeyError names the known kinds."""
    _load_builtin()
    try:
        return _REGISTRY[kind]
    except KeyError:
        raise KeyError(f"unknown collector kind {kind!r}; known: {', '.join(kinds())}") from None


def kinds() -> list[str]:
    """Return the registered collector kinds, sorted."""
    _load_builtin()
    return sorted(_REGISTRY)


def _load_builtin() -> None:
    # Importing the explicit list registers every built-in collector once.
    import collectors.all  # noqa: F401
