"""Label matchers as Alertmanager writes them: ``name="value"``, ``!=``, ``=~`` and ``!~``.

Routes, inhibition rules, silences and maintenance windows all select alerts with a list of
matchers that must all hold. A regular expression is anchored at both ends, as in
Alertmanager; a label an alert lacks matches as the empty string.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable, Mapping

OPERATORS = ("=~", "!~", "!=", "=")
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.S)


class MatcherError(ValueError):
    """A matcher that cannot be read; the message says why, ``code`` what kind of problem
    (``syntax`` or ``regex``) for pages that word it in their own language."""

    def __init__(self, message: str, code: str = "syntax") -> None:
        super().__init__(message)
        self.code = code


@dataclasses.dataclass(frozen=True)
class Matcher:
    """One label condition."""

    name: str
    op: str
    value: str

    def __post_init__(self) -> None:
        if self.op in ("=~", "!~"):
            try:
                object.__setattr__(self, "_regex", re.compile(f"(?:{self.value})\\Z", re.S))
            except re.error as exc:
                raise MatcherError(f"bad regular expression {self.value!r}: {exc}",
                                  "regex") from None

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether ``labels`` satisfies this matcher."""
        value = labels.get(self.name, "")
        if self.op == "=":
            return value == self.value
        if self.op == "!=":
            return value != self.value
        found = self._regex.match(value) is not None   # type: ignore[attr-defined]
        return found if self.op == "=~" else not found

    def __str__(self) -> str:
        escaped = self.value.replace("\\", "\\\\").replace('"', '\\"')
        return f'{self.name}{self.op}"{escaped}"'


def parse_matcher(text: str) -> Matcher:
    """``severity="critical"`` (quotes optional) as a :class:`Matcher`."""
    match = _MATCHER.match(text or "")
    if not match:
        raise MatcherError(f"expected name=\"value\" (or !=, =~, !~), got {text!r}")
    name, op, value = match.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r'\\(.)', r'\1', value[1:-1])
    return Matcher(name, op, value)


def parse_matchers(data: Any) -> tuple[Matcher, ...]:
    """A list of matcher strings, or a mapping of label to exact value."""
    if data is None:
        return ()
    if isinstance(data, Mapping):
        return tuple(Matcher(str(k), "=", str(v)) for k, v in data.items())
    if isinstance(data, str):
        data = [data]
    if not isinstance(data, list):
        raise MatcherError('expected a list of matchers such as severity="critical"')
    return tuple(parse_matcher(item) if isinstance(item, str) else _bad(item) for item in data)


def _bad(item: Any) -> Matcher:
    raise MatcherError(f"expected a matcher string, got {item!r}")


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher holds for ``labels``."""
    return all(m.matches(labels) for m in matchers)
