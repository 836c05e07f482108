"""Turning census cells (xlsx, csv or JSON values) into typed ledger values and back.

:func:`parse` accepts what people really type into census sheets: Excel serial dates,
``2020-05-01``, ``2020/5/1``, ``2020年5月``; amounts with 元 or 万元; 等保 levels written
``3``, ``三级`` or ``第三级``; choice keys or their Chinese or English labels; 是/否. It raises
:class:`InvalidValue` with a message key that :mod:`ledger.census.messages` words in
Chinese or English. :func:`to_cell` and :func:`to_json` are the inverse used by exports
and the API, so that export followed by import changes nothing.
"""

from __future__ import annotations

import datetime as dt
import decimal
import ipaddress
import re
import unicodedata

from core.text import folded
from ledger.census.const import CHOICES
from ledger.census.fields import Field

WAN = decimal.Decimal(10000)
CENT = decimal.Decimal("0.01")
MAX_MONEY = decimal.Decimal(10) ** 15
EXCEL_EPOCH = dt.date(1899, 12, 30)
CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4, "五": 5}
TRUE_WORDS = {"是", "有", "y", "yes", "true", "1", "t"}
FALSE_WORDS = {"否", "无", "n", "no", "false", "0", "f"}
_DATE_FORMS = (
    re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?$"),
    re.compile(r"^(\d{4})年(\d{1,2})月(\d{1,2})日?$"),
    re.compile(r"^(\d{4})(\d{2})(\d{2})$"),
)
_MONTH_FORMS = (re.compile(r"^(\d{4})年(\d{1,2})月?$"), re.compile(r"^(\d{4})[-/.](\d{1,2})$"))
_LEVEL = re.compile(r"^(?:等保)?第?([1-5一二三四五])级?$")
_MAC_HEX = re.compile(r"^[0-9a-f]{12}$")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
#: Bidirectional controls: text that displays in another order than it is stored.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


class InvalidValue(ValueError):
    """A cell that cannot become a value of its field: ``reason`` keys a message."""

    def __init__(self, reason: str, **params) -> None:
        super().__init__(reason)
        self.reason = reason
        self.params = params


def _choice_index() -> dict[str, dict[str, str]]:
    index: dict[str, dict[str, str]] = {}
    for name, choices in CHOICES.items():
        lookup = index.setdefault(name, {})
        for key, zh, en in choices:
            lookup[key.lower()] = key
            lookup[zh.lower()] = key
            lookup[en.lower()] = key
    return index


CHOICE_INDEX = _choice_index()
CHOICE_LABELS = {name: {key: (zh, en) for key, zh, en in choices}
                 for name, choices in CHOICES.items()}


def _text(raw) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, (dt.datetime, dt.date)):
        raw = raw.isoformat()
    text = str(raw).strip()
    return text or None


def parse(spec: Field, raw, *, unit: decimal.Decimal | None = None):
    """The typed value of ``raw`` for ``spec`` (None when empty); raises InvalidValue."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        if spec.required:
            raise InvalidValue("required")
        return None
    if isinstance(raw, (list, tuple, dict, set)):
        raise InvalidValue("not_scalar")   # never stored as its repr ("['a']")
    if isinstance(raw, str) and _CONTROL.search(raw):
        # Whatever the field's kind: PostgreSQL text cannot hold NUL, no encoder takes a
        # lone surrogate, and no census value needs either.
        raise InvalidValue("invisible")
    return _PARSERS[spec.kind](spec, raw, unit)


def _parse_text(spec: Field, raw, _unit):
    if isinstance(raw, bool):
        raise InvalidValue("not_text")   # never stored as "True"
    text = _text(raw)
    if len(text) > spec.max_length:
        raise InvalidValue("too_long", limit=spec.max_length)
    if spec.key == "code" or spec.kind == "ref" or spec.identity:
        # Identity keys are compared folded (full-width and other spaces as spaces, then
        # without spaces); codes and references are compared as typed.
        _check_key(text, spaces=spec.identity and spec.key != "code" and spec.kind != "ref")
    elif _BIDI.search(text) or any(unicodedata.category(c) == "Cc" and c not in "\t\n\r"
                                   for c in text):
        raise InvalidValue("invisible")
    return text


def _check_key(text: str, *, spaces: bool = False) -> None:
    """Codes, references and identity keys: visible characters only, and no ``/`` (a code
    is one segment of the API's URLs). Zero-width, bidi and other format characters would
    make two codes that look alike differ, or one look like another."""
    if "/" in folded(text):   # ／ compares as / (reconciliation)
        raise InvalidValue("code_slash")
    # A space is visible; in an identity key (``spaces``) the ideographic space a full-width
    # input mode types and the no-break space too. Zero-width and format characters never.
    if not "".join("x" if c == " " or (spaces and unicodedata.category(c) == "Zs") else c
                   for c in text).isprintable():
        raise InvalidValue("invisible")


def _parse_int(spec: Field, raw, _unit):
    if isinstance(raw, bool):
        raise InvalidValue("not_int")
    if isinstance(raw, float):
        if not raw.is_integer():
            raise InvalidValue("not_int")
        raw = int(raw)
    if isinstance(raw, int):
        value = raw
    else:
        text = str(raw).strip().replace(",", "")
        if not re.fullmatch(r"[+-]?\d+(\.0+)?", text):
            raise InvalidValue("not_int")
        value = int(text.split(".")[0])
    if value < 0:
        raise InvalidValue("negative")
    if value >= 2**63:   # what the ledger's BIGINT columns hold
        raise InvalidValue("int_range")
    return value


#: The largest decimal quantity (memory, disk in GiB) a census row may declare: 1e15 GiB
#: is past any estate, and below it sums over a whole ledger stay exact enough.
MAX_FLOAT = 1e15


def _parse_float(spec: Field, raw, _unit):
    if isinstance(raw, bool):
        raise InvalidValue("not_number")
    try:
        value = float(str(raw).strip().replace(",", "")) if isinstance(raw, str) else float(raw)
    except (TypeError, ValueError):
        raise InvalidValue("not_number") from None
    if value != value or value in (float("inf"), float("-inf")):
        raise InvalidValue("not_number")
    if value < 0:
        raise InvalidValue("negative")
    if value > MAX_FLOAT:   # GiB, TiB: nothing declared in a census comes near
        raise InvalidValue("int_range")
    return value


def _parse_bool(spec: Field, raw, _unit):
    if isinstance(raw, bool):
        return raw
    word = _text(raw).lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise InvalidValue("not_bool")


def _parse_date(spec: Field, raw, _unit):
    if isinstance(raw, dt.datetime):
        if raw.time() != dt.time():
            raise InvalidValue("not_date")
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        # An Excel serial date (1900 date system, as every census workbook uses).
        if not float(raw).is_integer() or not 1 <= raw <= 2958465:
            raise InvalidValue("not_date")
        return EXCEL_EPOCH + dt.timedelta(days=int(raw))
    text = _text(raw)
    try:
        for form in _DATE_FORMS:
            match = form.match(text)
            if match:
                return dt.date(*(int(g) for g in match.groups()))
        for form in _MONTH_FORMS:
            match = form.match(text)
            if match:
                return dt.date(int(match[1]), int(match[2]), 1)
    except ValueError:
        pass
    raise InvalidValue("not_date")


def _parse_money(spec: Field, raw, unit):
    if isinstance(raw, bool):
        raise InvalidValue("not_money")
    factor = unit or decimal.Decimal(1)
    if isinstance(raw, (int, float)):
        amount = decimal.Decimal(repr(raw)) if isinstance(raw, float) else decimal.Decimal(raw)
    else:
        text = str(raw).strip().replace(",", "").replace("，", "").replace(" ", "")
        text = text.lstrip("¥￥")
        if text.endswith("万元") or text.endswith("万"):
            factor, text = WAN, text.rstrip("元").removesuffix("万")
        elif text.endswith("元"):
            factor, text = decimal.Decimal(1), text.removesuffix("元")
        try:
            amount = decimal.Decimal(text)
        except decimal.InvalidOperation:
            raise InvalidValue("not_money") from None
    if not amount.is_finite():
        raise InvalidValue("not_money")
    amount *= factor
    if amount < 0:
        raise InvalidValue("negative")
    if amount >= MAX_MONEY:   # beyond any budget, and beyond what integer fen can hold
        raise InvalidValue("money_range")
    if amount != amount.quantize(CENT):
        raise InvalidValue("money_precision")
    return amount.quantize(CENT)


def _parse_level(spec: Field, raw, _unit):
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        if float(raw).is_integer() and 1 <= raw <= 5:
            return int(raw)
        raise InvalidValue("level_range")
    match = _LEVEL.match(_text(raw))
    if not match:
        raise InvalidValue("level_range")
    digit = match[1]
    return CN_DIGITS.get(digit) or int(digit)


def _parse_choice(spec: Field, raw, _unit):
    key = CHOICE_INDEX[spec.choices].get(_text(raw).lower())
    if key is None:
        allowed = "/".join(zh for zh, _en in CHOICE_LABELS[spec.choices].values())
        raise InvalidValue("not_choice", allowed=allowed)
    return key


def _parse_ref(spec: Field, raw, _unit):
    return _parse_text(spec, raw, None)


def _parse_ip(spec: Field, raw, _unit):
    text = folded(_text(raw))   # １０．０．０．１, １０。０。０。１
    if "%" in text:   # an IPv6 zone (fe80::1%eth0) names an interface of one host, no asset
        raise InvalidValue("not_ip")
    try:
        return ipaddress.ip_address(text).compressed
    except ValueError:
        raise InvalidValue("not_ip") from None


def _parse_mac(spec: Field, raw, _unit):
    hexdigits = re.sub(r"[:\-.\s]", "", folded(_text(raw)).lower())
    if not _MAC_HEX.match(hexdigits):
        raise InvalidValue("not_mac")
    return ":".join(hexdigits[i:i + 2] for i in range(0, 12, 2))


_PARSERS = {
    "text": _parse_text, "int": _parse_int, "float": _parse_float, "bool": _parse_bool,
    "date": _parse_date, "money": _parse_money, "level": _parse_level,
    "choice": _parse_choice, "ref": _parse_ref, "ip": _parse_ip, "mac": _parse_mac,
}


def to_cell(spec: Field, value, language: str = "zh"):
    """The workbook cell of a typed value: labels for choices, 是/否 or yes/no for bools."""
    if value is None:
        return None
    if spec.kind == "choice":
        zh, en = CHOICE_LABELS[spec.choices][value]
        return zh if language == "zh" else en
    if spec.kind == "bool":
        return ("是" if value else "否") if language == "zh" else ("yes" if value else "no")
    return value


def readable(spec: Field, value, language: str = "zh"):
    """``value`` (typed or JSON) as a person reads it: choice labels and 是/否 (yes/no) in
    ``language``; other values unchanged. Used wherever values are shown, never stored."""
    if value is None or spec.kind not in ("choice", "bool"):
        return value
    if spec.kind == "choice" and value not in CHOICE_LABELS[spec.choices]:
        return value   # a key no longer offered, in an old change record
    return to_cell(spec, value, language)


def to_json(spec: Field, value):
    """The JSON (API) form of a typed value: keys, ISO dates, amounts as strings."""
    if value is None:
        return None
    if spec.kind == "date":
        return value.isoformat()
    if spec.kind == "money":
        return format(value, "f")
    return value
