"""Census CSV files: which text encoding they are in, and their rows, streamed.

The encoding is decided by reading the file once in chunks before any row is parsed:

- a UTF-8 byte-order mark, or bytes that are valid UTF-8 throughout: UTF-8 (valid UTF-8
  is unlikely by chance for any non-ASCII text);
- otherwise GB18030 (a superset of GBK and GB2312), but only when the decoded text looks
  like Chinese census text: GB18030 maps nearly every byte pair to some character, so
  Big5 or Shift-JIS bytes also "decode", into rare ideographs, kana and box drawing.
  When such characters are more than a few and more than 5% of the non-ASCII text, the
  file is refused and the message says what it might be;
- control characters (NUL, as UTF-16 text has) are refused in either case.

The encoding that was assumed is kept on the sheet (``InputSheet.encoding``) so that the
command line and the API can say it. Rows are then read with :mod:`csv` from the file
as a stream, so memory grows with the rows kept (at most ``Limits.rows``), not with the
file's size.
"""

from __future__ import annotations

import codecs
import re
from pathlib import Path
from typing import Iterator

from ledger.census.limits import Limits
from ledger.census.messages import message

CHUNK = 1024 * 1024
BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
#: Characters Chinese census text plausibly holds, beyond ASCII and GB2312 ideographs.
_PLAUSIBLE = re.compile("[\u00a0-\u00ff\u2000-\u206f\u2100-\u218f\u2460-\u24ff"
                        "\u3000-\u303f\uff00-\uffef]")
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_NON_ASCII = re.compile("[^\x00-\x7f]+")
RARE_SHARE = 0.05
RARE_FEW = 3


class EncodingRefused(ValueError):
    """The file's encoding cannot be told with confidence; ``str()`` is the message."""


def detect(path: Path, language: str) -> tuple[str, str]:
    """(Python codec, name to show) of ``path``; raises EncodingRefused."""
    with path.open("rb") as handle:
        head = handle.read(4)
    if head.startswith(UTF16_BOMS):
        raise EncodingRefused(message("encoding", language, detail=message(
            "encoding_control", language, char="U+FEFF")))
    if _decodes(path, "utf-8-sig", language):
        return "utf-8-sig", "UTF-8"
    rare, sample, total = _rare_characters(path, language)
    if rare > RARE_FEW and rare > RARE_SHARE * total:
        raise EncodingRefused(message("encoding", language, detail=message(
            "encoding_guess", language, count=rare, sample=sample)))
    return "gb18030", "GB18030"


def _decoded(path: Path, codec: str) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder(codec)("strict")
    with path.open("rb") as handle:
        while True:
            block = handle.read(CHUNK)
            yield decoder.decode(block, final=not block)
            if not block:
                return


def _decodes(path: Path, codec: str, language: str) -> bool:
    try:
        for text in _decoded(path, codec):
            _refuse_controls(text, language)
    except UnicodeDecodeError:
        return False
    return True


def _refuse_controls(text: str, language: str) -> None:
    found = _CONTROL.search(text)
    if found:
        raise EncodingRefused(message("encoding", language, detail=message(
            "encoding_control", language, char=f"U+{ord(found[0]):04X}")))


def _rare_characters(path: Path, language: str) -> tuple[int, str, int]:
    """How many decoded characters are unlikely in Chinese text, a sample, of how many."""
    rare, total, sample = 0, 0, ""
    try:
        for text in _decoded(path, "gb18030"):
            _refuse_controls(text, language)
            for run in _NON_ASCII.findall(text):
                total += len(run)
                odd = [c for c in run if not _plausible(c)]
                rare += len(odd)
                if odd and len(sample) < 8:
                    sample += "".join(odd)[:8 - len(sample)]
    except UnicodeDecodeError:
        raise EncodingRefused(message("encoding", language, detail="")) from None
    return rare, sample, total


def _plausible(char: str) -> bool:
    if "\u4e00" <= char <= "\u9fff":
        try:
            char.encode("gb2312")   # the 6,763 ideographs of everyday simplified Chinese
        except UnicodeEncodeError:
            return False
        return True
    return bool(_PLAUSIBLE.match(char))


def rows(path: Path, codec: str, limits: Limits, language: str) -> Iterator[list[str]]:
    """The file's records, read as a stream; raises ValueError past the limits."""
    import csv

    with open(path, encoding=codec, newline="") as handle:
        for number, record in enumerate(csv.reader(handle), start=1):
            if number > limits.rows + 2:
                raise ValueError(message("too_many_rows", language, limit=limits.rows))
            if len(record) > limits.columns:
                raise ValueError(message("too_many_columns", language, row=number,
                                         limit=limits.columns))
            yield record
