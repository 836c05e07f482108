"""Secret options of collectors: ``env:NAME``, ``file:PATH`` or a literal.

The rule itself is :func:`core.secrets.resolve_secret` (alert transports and report mail use
it too); here it is applied to a collector's options, with errors naming the option. Options
marked ``secret`` are never printed by the command line or logged.
:func:`redact` (from :mod:`core.secrets`) hides credentials written inside URLs
(``http://user:pass@host``) in any text that is shown.
"""

from __future__ import annotations

from collectors.base import OptionError
from core.secrets import redact, resolve_secret

__all__ = ["redact", "resolve_option", "resolve_secret"]


def resolve_option(options, key: str) -> str:
    """The secret option ``key`` of resolved ``options``; OptionError naming it if unreadable."""
    try:
        return resolve_secret(options[key])
    except ValueError as exc:
        raise OptionError(key, str(exc)) from None
