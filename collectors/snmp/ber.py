"""A lean BER codec for SNMP messages (RFC 3416 PDUs in v1/v2c and v3 envelopes).

This is the hot path of the SNMP collector: every response of every walk is decoded
here. pysnmp's generic ASN.1 machinery spends about ten times the CPU per varbind
(measured in ``bench/snmp.py``), so requests are built and responses taken apart by
hand. Decoding is defensive: any malformed input (truncated, wrong lengths, wrong
types, trailing bytes) raises :class:`BerError`, never anything else.

OIDs are tuples of ints. Values decode to ``int`` (INTEGER, Counter32/64, Gauge32,
TimeTicks), ``bytes`` (OCTET STRING, IpAddress, Opaque), a tuple (OBJECT IDENTIFIER),
``None`` (NULL) or one of the exception markers :data:`NO_SUCH_OBJECT`,
:data:`NO_SUCH_INSTANCE`, :data:`END_OF_MIB_VIEW`. The tag travels with each value so
callers know a Counter64 from an INTEGER.
"""

from __future__ import annotations

from dataclasses import dataclass

INTEGER, OCTET_STRING, NULL, OID, SEQUENCE = 0x02, 0x04, 0x05, 0x06, 0x30
IP_ADDRESS, COUNTER32, GAUGE32, TIMETICKS, OPAQUE, COUNTER64 = 0x40, 0x41, 0x42, 0x43, 0x44, 0x46
NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW = 0x80, 0x81, 0x82
GET, GETNEXT, RESPONSE, SET, GETBULK, REPORT = 0xA0, 0xA1, 0xA2, 0xA3, 0xA5, 0xA8
EXCEPTIONS = (NO_SUCH_OBJECT, NO_SUCH_INSTANCE, END_OF_MIB_VIEW)
UNSIGNED = (COUNTER32, GAUGE32, TIMETICKS, COUNTER64)
ERROR_NAMES = {0: "noError", 1: "tooBig", 2: "noSuchName", 3: "badValue", 4: "readOnly",
               5: "genErr", 6: "noAccess", 7: "wrongType", 8: "wrongLength",
               9: "wrongEncoding", 10: "wrongValue", 11: "noCreation",
               12: "inconsistentValue", 13: "resourceUnavailable", 14: "commitFailed",
               15: "undoFailed", 16: "authorizationError", 17: "notWritable",
               18: "inconsistentName"}


#: The first two arcs for each one-byte first sub-identifier (X.690 8.19.4).
_HEADS = tuple((b // 40, b % 40) if b < 80 else (2, b - 80) for b in range(128))


class BerError(ValueError):
    """Bytes that are not a well-formed SNMP message."""


@dataclass(frozen=True)
class Pdu:
    """A decoded PDU: ``varbinds`` is a list of (oid, tag, value)."""

    pdu_type: int
    request_id: int
    error_status: int
    error_index: int
    varbinds: list


# Encoding.

def encode_length(length: int) -> bytes:
    """BER definite length."""
    if length < 0x80:
        return bytes((length,))
    body = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes((0x80 | len(body),)) + body


def tlv(tag: int, body: bytes) -> bytes:
    """One tag-length-value."""
    return bytes((tag,)) + encode_length(len(body)) + body


def encode_int(value: int, tag: int = INTEGER) -> bytes:
    """A signed INTEGER (or an unsigned application type with ``tag``)."""
    if tag in UNSIGNED:
        size = value.bit_length() // 8 + 1  # room for a leading zero bit
        return tlv(tag, value.to_bytes(size, "big"))
    size = (value + (value < 0)).bit_length() // 8 + 1
    return tlv(tag, value.to_bytes(size, "big", signed=True))


def encode_oid(oid: tuple[int, ...]) -> bytes:
    """An OBJECT IDENTIFIER (at least two arcs)."""
    if len(oid) < 2 or oid[0] > 2 or (oid[0] < 2 and oid[1] > 39):
        raise BerError(f"cannot encode OID {oid}")
    body = bytearray()
    for arc in (oid[0] * 40 + oid[1], *oid[2:]):
        if arc < 0x80:
            body.append(arc)
            continue
        chunk = []
        while arc:
            chunk.append(arc & 0x7F)
            arc >>= 7
        body.extend(b | 0x80 for b in reversed(chunk[1:]))
        body.append(chunk[0])
    return tlv(OID, bytes(body))


def parse_oid(text: str) -> tuple[int, ...]:
    """``"1.3.6.1.2.1"`` (a leading dot allowed) as a tuple; raises ValueError."""
    arcs = tuple(int(part) for part in text.strip().lstrip(".").split("."))
    if len(arcs) < 2 or any(arc < 0 for arc in arcs):
        raise ValueError(f"not an OID: {text!r}")
    return arcs


def oid_text(oid: tuple[int, ...]) -> str:
    """The dotted form of an OID tuple."""
    return ".".join(map(str, oid))


def encode_pdu(pdu_type: int, request_id: int, oids: list[tuple[int, ...]], *,
               non_repeaters: int = 0, max_repetitions: int = 0) -> bytes:
    """A request PDU with NULL values (GET, GETNEXT or GETBULK)."""
    varbinds = b"".join(tlv(SEQUENCE, encode_oid(oid) + b"\x05\x00") for oid in oids)
    second, third = (non_repeaters, max_repetitions) if pdu_type == GETBULK else (0, 0)
    return tlv(pdu_type, encode_int(request_id) + encode_int(second) + encode_int(third)
               + tlv(SEQUENCE, varbinds))


def encode_community_message(version: int, community: bytes, pdu: bytes) -> bytes:
    """An SNMPv1 (``version`` 0) or v2c (1) message."""
    return tlv(SEQUENCE, encode_int(version) + tlv(OCTET_STRING, community) + pdu)


# Decoding.

def read_tlv(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Tag, start of value and end of value of the TLV at ``pos`` (bounded by ``end``)."""
    if pos + 2 > end:
        raise BerError("truncated")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise BerError("multi-byte tags are not used by SNMP")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise BerError("bad length")
        length = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + length > end:
        raise BerError("length runs past the end")
    return tag, pos, pos + length


def expect(data: bytes, pos: int, end: int, tag: int) -> tuple[int, int]:
    """Start and end of the value of a TLV that must have ``tag``."""
    found, start, stop = read_tlv(data, pos, end)
    if found != tag:
        raise BerError(f"expected tag 0x{tag:02x}, found 0x{found:02x}")
    return start, stop


def decode_int(data: bytes, start: int, stop: int) -> int:
    """A signed INTEGER's value."""
    if stop == start or stop - start > 9:
        raise BerError("bad INTEGER length")
    return int.from_bytes(data[start:stop], "big", signed=True)


def decode_oid(data: bytes, start: int, stop: int) -> tuple[int, ...]:
    """An OBJECT IDENTIFIER's value."""
    if stop == start:
        raise BerError("empty OID")
    body = data[start:stop]
    if body[-1] & 0x80:
        raise BerError("OID ends inside a sub-identifier")
    if max(body) < 0x80:  # the common case: every arc below 128, decoded in C
        first = body[0]
        head = (first // 40, first % 40) if first < 80 else (2, first - 80)
        return head + tuple(body[1:])
    arcs, value = [], 0
    for byte in body:
        value = (value << 7) | (byte & 0x7F)
        if not byte & 0x80:
            arcs.append(value)
            value = 0
    first = arcs[0]
    head = (first // 40, first % 40) if first < 80 else (2, first - 80)
    return head + tuple(arcs[1:])


def decode_value(tag: int, data: bytes, start: int, stop: int):
    """A varbind value by its tag."""
    if tag == INTEGER:
        return decode_int(data, start, stop)
    if tag in UNSIGNED:
        if stop - start > 9 or stop == start:
            raise BerError("bad unsigned length")
        return int.from_bytes(data[start:stop], "big")
    if tag in (OCTET_STRING, IP_ADDRESS, OPAQUE):
        return data[start:stop]
    if tag == OID:
        return decode_oid(data, start, stop)
    if tag == NULL or tag in EXCEPTIONS:
        if stop != start:
            raise BerError("NULL with a value")
        return None
    raise BerError(f"unknown value tag 0x{tag:02x}")


def decode_pdu(data: bytes, pos: int, end: int) -> Pdu:
    """The PDU at ``pos``, whose TLV must end exactly at ``end``."""
    pdu_type, start, stop = read_tlv(data, pos, end)
    if stop != end or pdu_type not in (GET, GETNEXT, RESPONSE, SET, GETBULK, REPORT):
        raise BerError(f"not a PDU (tag 0x{pdu_type:02x})")
    values = []
    for _ in range(3):
        value_start, value_stop = expect(data, start, stop, INTEGER)
        values.append(decode_int(data, value_start, value_stop))
        start = value_stop
    list_start, list_stop = expect(data, start, stop, SEQUENCE)
    if list_stop != stop:
        raise BerError("trailing bytes after the varbind list")
    return Pdu(pdu_type, values[0], values[1], values[2],
               _varbinds(data, list_start, list_stop))


def _varbinds(data: bytes, pos: int, end: int) -> list:
    """The varbind list between ``pos`` and ``end``.

    The hot loop of every walk: varbinds of up to 127 bytes with an OID of up to 127
    bytes (nearly all of them) are taken apart inline; anything else goes through the
    general :func:`read_tlv` path, which checks every length the same way.
    """
    varbinds = []
    append = varbinds.append
    while pos < end:
        if end - pos >= 4 and data[pos] == SEQUENCE and data[pos + 1] < 0x80 \
                and data[pos + 2] == OID and data[pos + 3] < 0x80:
            vb_stop = pos + 2 + data[pos + 1]
            oid_start = pos + 4
            oid_stop = oid_start + data[pos + 3]
            if vb_stop > end or oid_stop + 2 > vb_stop:
                raise BerError("length runs past the end")
        else:
            vb_start, vb_stop = expect(data, pos, end, SEQUENCE)
            oid_start, oid_stop = expect(data, vb_start, vb_stop, OID)
        tag, value_start, value_stop = read_tlv(data, oid_stop, vb_stop)
        if value_stop != vb_stop:
            raise BerError("trailing bytes in a varbind")
        if tag == OCTET_STRING:
            value = data[value_start:value_stop]
        elif tag in UNSIGNED:
            if value_stop - value_start > 9 or value_stop == value_start:
                raise BerError("bad unsigned length")
            value = int.from_bytes(data[value_start:value_stop], "big")
        else:
            value = decode_value(tag, data, value_start, value_stop)
        body = data[oid_start:oid_stop]
        if body and max(body) < 0x80:
            # Every arc below 128 (the common case): decoded in C, without a call.
            oid = _HEADS[body[0]] + tuple(body[1:])
        else:
            oid = decode_oid(data, oid_start, oid_stop)
        append((oid, tag, value))
        pos = vb_stop
    return varbinds


def decode_community_message(data: bytes) -> tuple[int, bytes, Pdu]:
    """Version, community and PDU of a v1/v2c message; raises BerError."""
    start, stop = expect(data, 0, len(data), SEQUENCE)
    if stop != len(data):
        raise BerError("trailing bytes after the message")
    version_start, version_stop = expect(data, start, stop, INTEGER)
    version = decode_int(data, version_start, version_stop)
    community_start, community_stop = expect(data, version_stop, stop, OCTET_STRING)
    return version, data[community_start:community_stop], decode_pdu(data, community_stop, stop)
