"""Arithmetic over a measurement's fields for threshold rules: ``used / total * 100``.

Only numbers, field names, ``+ - * /``, unary minus and parentheses are accepted; the
expression is checked when the configuration loads and evaluated on aggregated values.
A plain field name is the simplest expression.
"""

from __future__ import annotations

import ast
from typing import Mapping

_ALLOWED = (ast.Expression, ast.BinOp, ast.UnaryOp, ast.Constant, ast.Name, ast.Load,
            ast.Add, ast.Sub, ast.Mult, ast.Div, ast.USub, ast.UAdd)


class ExpressionError(ValueError):
    """An expression that is not plain arithmetic over field names."""


class Expression:
    """A checked expression; ``fields`` are the names it reads."""

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        try:
            tree = ast.parse(self.text, mode="eval")
        except SyntaxError as exc:
            raise ExpressionError(f"cannot read expression {text!r}: {exc.msg}") from None
        names = []
        for node in ast.walk(tree):
            if not isinstance(node, _ALLOWED) or (isinstance(node, ast.Constant) and
                                                  not isinstance(node.value, (int, float))):
                raise ExpressionError(f"only numbers, field names, + - * / and parentheses "
                                      f"are allowed in {text!r}")
            if isinstance(node, ast.Name):
                names.append(node.id)
        self.fields = tuple(dict.fromkeys(names))
        self._code = compile(tree, "<alert expression>", "eval")
        self.simple = isinstance(tree.body, ast.Name)

    def evaluate(self, values: Mapping[str, float]) -> float | None:
        """The value, or None when a field is missing or a division by zero happens."""
        if self.simple:
            return values.get(self.text)
        if any(values.get(name) is None for name in self.fields):
            return None
        try:
            return float(eval(self._code, {"__builtins__": {}}, dict(values)))  # noqa: S307
        except ZeroDivisionError:
            return None

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Expression) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"Expression({self.text!r})"
