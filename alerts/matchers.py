"""Label matchers as Alertmanager writes them: ``name="value"``, ``!=``, ``=~`` and ``!~``.

Routes, inhibition rules, silences and maintenance windows all select alerts with a list of
matchers that must all hold. A regular expression is anchored at both ends, as in
Alertmanager; a label an alert lacks matches as the empty string. A value is at most
``MAX_VALUE`` characters without control characters, and a regular expression may not nest
repetitions (``(x+x+)+y`` backtracks for ever on a label of 30 characters).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any, Iterable, Mapping

from core.text import shown

try:   # the parser behind re.compile (Python 3.11+; sre_parse before)
    from re import _parser as _sre
except ImportError:   # pragma: no cover
    import sre_parse as _sre  # type: ignore[no-redef]

OPERATORS = ("=~", "!~", "!=", "=")
_MATCHER = re.compile(r'^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(.*?)\s*$', re.S)
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
MAX_NAME = 128
MAX_VALUE = 1024
MAX_MATCHERS = 32
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REPEATS = {_sre.MAX_REPEAT, _sre.MIN_REPEAT, getattr(_sre, "POSSESSIVE_REPEAT", None)}


def _nested_repeat(items, inside: bool = False) -> bool:
    """Whether a parsed pattern repeats something that itself repeats."""
    for op, arg in items:
        if op in _REPEATS:
            low, high, sub = arg
            if high > 1 and (inside or _nested_repeat(sub, True)):
                return True
            if _nested_repeat(sub, inside):
                return True
        elif op is _sre.SUBPATTERN:
            if _nested_repeat(arg[-1], inside):
                return True
        elif op is _sre.BRANCH:
            if any(_nested_repeat(branch, inside) for branch in arg[1]):
                return True
        elif op in (_sre.ASSERT, _sre.ASSERT_NOT):
            if _nested_repeat(arg[1], inside):
                return True
    return False


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
        if not isinstance(self.name, str) or not _NAME.match(self.name) \
                or len(self.name) > MAX_NAME:
            raise MatcherError(f"a label name is a letter or _ then letters, digits or _ "
                               f"(at most {MAX_NAME}), got {shown(self.name)}")
        if len(self.value) > MAX_VALUE:
            raise MatcherError(f"a matcher value has at most {MAX_VALUE} characters, got "
                               f"{shown(self.value, 40)}")
        if _CONTROL.search(self.value):
            raise MatcherError(f"a matcher value cannot hold control characters: "
                               f"{shown(self.value, 40)}")
        if self.op in ("=~", "!~"):
            try:
                if _nested_repeat(_sre.parse(self.value)):
                    raise MatcherError(f"nested repetition (such as (a+)+) can take for ever "
                                       f"to match: {shown(self.value, 40)}")
                object.__setattr__(self, "_regex", re.compile(f"(?:{self.value})\\Z", re.S))
            except (re.error, RecursionError, OverflowError) as exc:
                raise MatcherError(f"bad regular expression {shown(self.value, 40)}: "
                                   f"{shown(str(exc), 100)}", "regex") from None

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
        raise MatcherError(f"expected name=\"value\" (or !=, =~, !~), got {shown(text)}")
    name, op, value = match.groups()
    if len(value) >= 2 and value[0] == value[-1] == '"':
        value = re.sub(r'\\(.)', r'\1', value[1:-1])
    return Matcher(name, op, value)


def parse_matchers(data: Any) -> tuple[Matcher, ...]:
    """A list of matcher strings, or a mapping of label to exact value."""
    if data is None:
        return ()
    if isinstance(data, str):
        data = [data]
    if isinstance(data, (Mapping, list)) and len(data) > MAX_MATCHERS:
        raise MatcherError(f"at most {MAX_MATCHERS} matchers")
    if isinstance(data, Mapping):
        return tuple(Matcher(str(k), "=", str(v)) if isinstance(v, (str, int, float))
                     else _bad(v) for k, v in data.items())
    if not isinstance(data, list):
        raise MatcherError('expected a list of matchers such as severity="critical"')
    return tuple(parse_matcher(item) if isinstance(item, str) else _bad(item) for item in data)


def _bad(item: Any) -> Matcher:
    raise MatcherError(f"expected a matcher string, got {shown(item)}")


def match_all(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """Whether every matcher holds for ``labels``."""
    return all(m.matches(labels) for m in matchers)
