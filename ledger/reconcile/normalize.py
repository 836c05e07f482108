"""Identity values and compared fields in one comparable form.

Full-width forms fold to ASCII first (NFKC, as census sheets typed in a Chinese input
method's full-width mode carry them). Serial numbers compare without case or spaces, MACs
as ``aa:bb:cc:dd:ee:ff``, addresses in their canonical text, host names by their short
name without case, vendors through an alias table (华为 = Huawei = HUAWEI TECHNOLOGIES CO.,
LTD.), models and CPU models with trademarks, frequencies and punctuation removed.
"""

from __future__ import annotations

import functools
import ipaddress
import re

from core.identity import (PLACEHOLDER_SERIALS, PLACEHOLDER_UUIDS, clean_serial, clean_uuid,
                                 is_placeholder_mac)
from core.text import folded as text_folded

#: Canonical vendor names and what departments and devices call them. Users report
#: vendors however they like; devices say "HUAWEI TECHNOLOGIES CO., LTD." or "New H3C".
VENDOR_ALIASES = {
    "huawei": ("huawei", "华为", "超聚变", "xfusion"),
    "h3c": ("h3c", "新华三", "new h3c", "hangzhou h3c", "华三"),
    "hpe": ("hpe", "hp", "hewlett packard enterprise", "hewlett-packard", "惠普", "慧与"),
    "inspur": ("inspur", "浪潮"),
    "sugon": ("sugon", "曙光", "中科曙光", "dawning"),
    "lenovo": ("lenovo", "联想"),
    "dell": ("dell", "戴尔", "dell emc", "dell inc"),
    "zte": ("zte", "中兴"),
    "ruijie": ("ruijie", "锐捷"),
    "hillstone": ("hillstone", "山石网科", "山石"),
    "sangfor": ("sangfor", "深信服"),
    "cisco": ("cisco", "思科"),
    "juniper": ("juniper", "瞻博"),
    "ibm": ("ibm",),
    "vmware": ("vmware",),
    "supermicro": ("supermicro", "super micro", "超微"),
    "greatwall": ("greatwall", "great wall", "长城"),
    "unis": ("unis", "紫光", "紫光恒越"),
    "maipu": ("maipu", "迈普"),
    "topsec": ("topsec", "天融信"),
    "venustech": ("venustech", "启明星辰"),
    "dptech": ("dptech", "迪普"),
    "apc": ("apc", "schneider", "施耐德"),
    "vertiv": ("vertiv", "维谛", "liebert", "emerson", "艾默生"),
    "eaton": ("eaton", "伊顿"),
    "kehua": ("kehua", "科华"),
}
_ALIAS = [(re.compile(re.escape(alias) if not alias.isascii() else
                      rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])"), canonical)
          for alias, canonical in sorted(((a, c) for c, aliases in VENDOR_ALIASES.items()
                                          for a in aliases), key=lambda pair: -len(pair[0]))]
_NOISE = re.compile(r"\(r\)|\(tm\)|\(sm\)|®|™|℠|\bcpu\b|@\s*[\d.]+\s*[gm]hz|\bprocessor\b|"
                    r"\bco\.?,?\s*ltd\.?|\binc\.?|\bcorporation\b|\bcorp\.?|\btechnologies\b|"
                    r"\btechnology\b|有限公司|股份")
_PUNCT = re.compile(r"[\s\-_,.()/]+")


_HEX = frozenset("0123456789abcdef")


def folded(value: object) -> object:
    """A text value in the form devices report (:func:`core.text.folded`); others as they
    are."""
    return text_folded(value) if isinstance(value, str) else value


def serial(value: object) -> str | None:
    """A serial number to compare (upper case, no spaces), or None for placeholders."""
    if isinstance(value, str) and value.isascii() and value.isalnum() and \
            len(set(value)) > 1 and value.lower() not in PLACEHOLDER_SERIALS:
        return value.upper()   # the common case, without the general rule's cost
    text = clean_serial(folded(value))
    return None if text is None else text.replace(" ", "").upper()


def uuid(value: object) -> str | None:
    """A UUID to compare (lower case, no braces), or None for placeholders."""
    if isinstance(value, str) and len(value) == 36 and value.count("-") == 4 and \
            value.isascii() and value.islower() and len(set(value)) > 2 and \
            value not in PLACEHOLDER_UUIDS:
        return value
    return clean_uuid(str(folded(value)).strip("{} ") if value is not None else None)


def mac(value: object) -> str | None:
    """A MAC as ``aa:bb:cc:dd:ee:ff``, or None (placeholders, not a MAC)."""
    if isinstance(value, str) and len(value) == 17 and value[2::3] == ":::::" and \
            set(value[0::3] + value[1::3]) <= _HEX:
        # Already in the ledger's form: only the placeholder checks remain.
        bare = value.replace(":", "")
        return None if int(bare[1], 16) & 1 or len(set(bare)) == 1 else value
    value = folded(value)
    if value is None or is_placeholder_mac(value):
        return None
    bare = re.sub(r"[^0-9a-f]", "", str(value).lower())
    return ":".join(bare[i:i + 2] for i in range(0, 12, 2))


def ip(value: object) -> str | None:
    """An address in canonical text, or None when it is no address or not unicast."""
    if value in (None, ""):
        return None
    text = str(folded(value)).strip().split("/")[0]
    parts = text.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        # IPv4, the common case, without ipaddress's cost (a million rows a run).
        octets = [int(p) for p in parts]
        if max(octets) > 255 or octets[0] in (0, 127) or 224 <= octets[0] <= 239:
            return None
        return ".".join(map(str, octets))
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if address.is_unspecified or address.is_loopback or address.is_multicast:
        return None
    return address.compressed


def host(value: object) -> str | None:
    """A host name's short form without case ("WEB1.gov.local" → "web1"); an address in
    its canonical form. None for no name: empty, ``localhost`` (with any domain), a
    loopback or unspecified address, a name that starts with a dot."""
    if value in (None, ""):
        return None
    text = str(folded(value)).strip().lower().rstrip(".")
    if not text:
        return None
    digits = text.replace(".", "")
    if ":" in text or (digits.isascii() and digits.isdigit()):
        address = ip(text)
        if address is not None or _is_address(text):
            return address   # None for loopback, unspecified, multicast
        return text
    short = text.split(".")[0]
    return None if short in ("", "localhost") else short


def _is_address(text: str) -> bool:
    """Whether ``text`` is an IP address (whatever its kind)."""
    parts = text.split(".")
    if len(parts) == 4 and all(p.isascii() and p.isdigit() and len(p) <= 3 for p in parts):
        return True
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def vendor(value: object) -> str | None:
    """A vendor's canonical name (or its cleaned text when the alias table lacks it)."""
    if value in (None, ""):
        return None
    return _vendor(str(value))


@functools.lru_cache(maxsize=4096)
def _vendor(value: str) -> str | None:
    """Vendor names repeat across a whole estate: each is worked out once."""
    text = _NOISE.sub(" ", str(folded(value)).lower())
    for pattern, canonical in _ALIAS:
        if pattern.search(text):
            return canonical
    cleaned = _PUNCT.sub("", text)
    return cleaned or None


def vendors_agree(a: object, b: object) -> bool:
    """Whether two vendor texts can name the same vendor (unknown agrees with anything)."""
    left, right = vendor(a), vendor(b)
    return left is None or right is None or left == right or left in right or right in left


def model(value: object) -> str | None:
    """A model or CPU model to compare: no trademarks, frequency, punctuation or case."""
    if value in (None, ""):
        return None
    return _model(str(value))


@functools.lru_cache(maxsize=16384)
def _model(value: str) -> str | None:
    text = _PUNCT.sub("", _NOISE.sub(" ", str(folded(value)).lower()))
    return text or None


def models_agree(declared: object, observed: object) -> bool:
    """Whether the declared model is the observed one (either may be the fuller name)."""
    left, right = model(declared), model(observed)
    return left is None or right is None or left in right or right in left
