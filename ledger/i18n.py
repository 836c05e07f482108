"""The one message catalogue of the product: pages, API messages and the command line.

Simplified Chinese (``zh``, zh-CN) is the default; English (``en``) on request. Every area
registers its words once, under a domain (``web`` for pages and the command line,
``census``, ``findings``...), as ``{key: (zh, en)}`` or ``{"zh": {...}, "en": {...}}``;
:func:`dgettext` looks a key of a domain up in the current language (:func:`gettext` in the
``web`` domain), falls back to English and then to the key itself, and fills ``{name}`` or
``%d``-style parameters.

Who sets the language:

- pages and API calls: :func:`negotiate` over ``?lang=``, the ``lang`` cookie,
  ``Accept-Language`` and the configured default (``dashboards.i18n`` calls it per request);
- the command line: ``--lang`` or the configured ``language`` (``monitor.cli``);
- anything else: :func:`use` in a ``with`` block, or an explicit ``lang=`` argument.

The current language is a context variable, so threads and requests never see each other's.
The older helpers (``dashboards.i18n.translate``, ``ledger.census.messages.message``,
``ledger.findings.message``) are thin adapters over this catalogue.
"""

from __future__ import annotations

import contextlib
import contextvars
from typing import Any, Iterator, Mapping

LANGUAGES = ("zh", "en")
DEFAULT = "zh"
WEB = "web"
#: domain -> key -> {language: text}.
_CATALOGUE: dict[str, dict[str, dict[str, str]]] = {}
_current: contextvars.ContextVar[str | None] = contextvars.ContextVar("language", default=None)


def register(domain: str, messages: Mapping[str, Any]) -> None:
    """Add ``messages`` of ``domain``: ``{key: (zh, en)}`` or ``{lang: {key: text}}``.

    Registering a domain again replaces its keys (modules may be reloaded in tests)."""
    if set(messages) <= set(LANGUAGES):
        pairs = {}
        for lang, words in messages.items():
            for key, text in words.items():
                pairs.setdefault(key, {})[lang] = text
    else:
        pairs = {key: dict(zip(LANGUAGES, texts)) for key, texts in messages.items()}
    words = _CATALOGUE.setdefault(domain, {})
    for key, texts in pairs.items():
        words.setdefault(key, {}).update(texts)


def normalise(value: str | None) -> str | None:
    """``zh``, ``zh-CN``, ``zh_Hans``, ``en-GB``... as one of :data:`LANGUAGES`, else None."""
    if not value:
        return None
    base = value.strip().replace("_", "-").split("-")[0].lower()
    return base if base in LANGUAGES else None


def negotiate(query: str | None, cookie: str | None, accept: str | None,
              default: str | None = None) -> str:
    """The language of a request: ``?lang=``, then the cookie, then the best
    ``Accept-Language`` entry we speak, then ``default`` (zh)."""
    for value in (query, cookie):
        if normalise(value):
            return normalise(value)
    ranked = []
    for position, part in enumerate((accept or "").split(",")):
        tag, _, params = part.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        if normalise(tag) and quality > 0:
            ranked.append((-quality, position, normalise(tag)))
    if ranked:
        return min(ranked)[2]
    return normalise(default) or DEFAULT


def current() -> str:
    """The language in force here (the default when nobody set one)."""
    return _current.get() or DEFAULT


def push(lang: str | None) -> contextvars.Token:
    """Set the language until :func:`pop` with the returned token (one web request)."""
    return _current.set(normalise(lang) or DEFAULT)


def pop(token: contextvars.Token) -> None:
    """Restore the language :func:`push` replaced."""
    _current.reset(token)


@contextlib.contextmanager
def use(lang: str | None) -> Iterator[str]:
    """Run a block in ``lang``."""
    token = _current.set(normalise(lang) or DEFAULT)
    try:
        yield current()
    finally:
        _current.reset(token)


def gettext(key: str, lang: str | None = None, /, *args: Any, **params: Any) -> str:
    """The ``web`` message ``key`` (see :func:`dgettext`)."""
    return dgettext(WEB, key, lang, *args, **params)


def dgettext(domain: str, key: str, lang: str | None = None, /, *args: Any,
             **params: Any) -> str:
    """The message ``key`` of ``domain`` in ``lang`` (default: :func:`current`), with
    ``{name}`` parameters from ``params`` or ``%`` parameters from ``args`` filled in."""
    texts = _CATALOGUE.get(domain, {}).get(key)
    if texts is None:
        return key
    text = texts.get(normalise(lang) or current()) or texts.get("en") or key
    if params:
        text = text.format(**params)
    if args:
        text = text % args
    return text


def has(key: str, domain: str = WEB) -> bool:
    """Whether the catalogue knows ``key`` in ``domain``."""
    return key in _CATALOGUE.get(domain, {})


def table(lang: str | None = None, domain: str = WEB) -> dict[str, str]:
    """Every message of ``domain`` in ``lang``."""
    return {key: dgettext(domain, key, lang) for key in sorted(_CATALOGUE.get(domain, {}))}


def missing() -> list[tuple[str, str, str]]:
    """(domain, key, language) triples that have no text: a test keeps this empty."""
    return sorted((domain, key, lang) for domain, words in _CATALOGUE.items()
                  for key, texts in words.items() for lang in LANGUAGES if not texts.get(lang))
