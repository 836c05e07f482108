"""The BER codec: round trips, real agent bytes, and fuzzing of malformed responses."""

from __future__ import annotations

from hypothesis import given, settings, strategies as st

from collectors.snmp import ber

oids = st.lists(st.integers(0, 2**32 - 1), min_size=1, max_size=12).map(
    lambda rest: (1, 3) + tuple(rest))


@given(oids)
def test_oid_round_trip(oid):
    encoded = ber.encode_oid(oid)
    tag, start, stop = ber.read_tlv(encoded, 0, len(encoded))
    assert tag == ber.OID and ber.decode_oid(encoded, start, stop) == oid


@given(st.integers(-2**31, 2**31 - 1))
def test_integer_round_trip(value):
    encoded = ber.encode_int(value)
    _tag, start, stop = ber.read_tlv(encoded, 0, len(encoded))
    assert ber.decode_int(encoded, start, stop) == value


def response(varbinds, request_id=42) -> bytes:
    body = b"".join(ber.tlv(ber.SEQUENCE, ber.encode_oid(oid) + value) for oid, value in varbinds)
    pdu = ber.tlv(ber.RESPONSE, ber.encode_int(request_id) + ber.encode_int(0)
                  + ber.encode_int(0) + ber.tlv(ber.SEQUENCE, body))
    return ber.encode_community_message(1, b"public", pdu)


SAMPLE = response([
    ((1, 3, 6, 1, 2, 1, 1, 1, 0), ber.tlv(ber.OCTET_STRING, "交换机 S5720".encode())),
    ((1, 3, 6, 1, 2, 1, 1, 2, 0), ber.encode_oid((1, 3, 6, 1, 4, 1, 2011, 2, 23, 291))),
    ((1, 3, 6, 1, 2, 1, 1, 3, 0), ber.encode_int(28156805, ber.TIMETICKS)),
    ((1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 10101), ber.encode_int(2**64 - 1, ber.COUNTER64)),
    ((1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1), ber.encode_int(2**32 - 1, ber.COUNTER32)),
    ((1, 3, 6, 1, 2, 1, 4, 20, 1, 1, 10, 0, 0, 1), ber.tlv(ber.IP_ADDRESS, bytes([10, 0, 0, 1]))),
    ((1, 3, 6, 1, 2, 1, 99, 0), b"\x81\x00"),
])


def test_decode_every_type():
    version, community, pdu = ber.decode_community_message(SAMPLE)
    assert (version, community, pdu.request_id, pdu.error_status) == (1, b"public", 42, 0)
    values = {oid: (tag, value) for oid, tag, value in pdu.varbinds}
    assert values[(1, 3, 6, 1, 2, 1, 1, 1, 0)] == (ber.OCTET_STRING, "交换机 S5720".encode())
    assert values[(1, 3, 6, 1, 2, 1, 1, 2, 0)][1] == (1, 3, 6, 1, 4, 1, 2011, 2, 23, 291)
    assert values[(1, 3, 6, 1, 2, 1, 31, 1, 1, 1, 6, 10101)] == (ber.COUNTER64, 2**64 - 1)
    assert values[(1, 3, 6, 1, 2, 1, 2, 2, 1, 10, 1)] == (ber.COUNTER32, 2**32 - 1)
    assert values[(1, 3, 6, 1, 2, 1, 99, 0)] == (ber.NO_SUCH_INSTANCE, None)


def test_request_encoding_matches_net_snmp():
    """What net-snmp's snmpbulkwalk sends, byte for byte (its request id aside)."""
    import socket
    import subprocess

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.settimeout(10)
        walker = subprocess.Popen(["snmpbulkwalk", "-v2c", "-c", "public", "-Cr25", "-r0",
                                   "-t1", f"127.0.0.1:{sock.getsockname()[1]}",
                                   "1.3.6.1.2.1.2.2"], stdout=subprocess.DEVNULL,
                                  stderr=subprocess.DEVNULL)
        sent, _peer = sock.recvfrom(65535)
        walker.wait(10)
    _version, _community, pdu = ber.decode_community_message(sent)
    ours = ber.encode_community_message(1, b"public", ber.encode_pdu(
        ber.GETBULK, pdu.request_id, [(1, 3, 6, 1, 2, 1, 2, 2)], max_repetitions=25))
    assert ours == sent


@settings(max_examples=500)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_raise_only_ber_error(data):
    try:
        ber.decode_community_message(data)
    except ber.BerError:
        pass


@settings(max_examples=500)
@given(st.data())
def test_damaged_responses_raise_only_ber_error(data):
    damaged = bytearray(SAMPLE)
    for _ in range(data.draw(st.integers(1, 4))):
        position = data.draw(st.integers(0, len(damaged) - 1))
        damaged[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(damaged)))
    for candidate in (bytes(damaged), SAMPLE[:cut], bytes(damaged[:cut])):
        try:
            ber.decode_community_message(candidate)
        except ber.BerError:
            pass


@settings(max_examples=300)
@given(st.sampled_from(["noAuth", "auth", "authPriv"]), st.data())
def test_v3_damaged_messages_raise_only_protocol_errors(level, data):
    """Real v3 messages of our own encoder, damaged: authentication, decryption and parsing
    must all fail cleanly."""
    from collectors.snmp.client import SnmpError, SnmpTarget
    from collectors.snmp.usm import UsmSecurity

    options = {"noAuth": {}, "auth": {"auth_protocol": "SHA", "auth_key": "auth-pass"},
               "authPriv": {"auth_protocol": "SHA", "auth_key": "auth-pass",
                            "priv_protocol": "AES", "priv_key": "priv-pass"}}[level]
    security = UsmSecurity(SnmpTarget("127.0.0.1", version="3", user="u", **options))
    security.engine_id, security.boots, security.time = b"\x80\x00\x1f\x88\x04", 3, 1000
    security.message_id, security.salt = 100, 5      # fixed, so every example is alike
    security.auth_key = b"k" * 20 if security.auth else b""
    security.priv_key = b"p" * 16 if security.priv else b""
    message = bytearray(security.encode(ber.encode_pdu(
        ber.RESPONSE, 7, [(1, 3, 6, 1, 2, 1, 1, 5, 0)])))
    assert security.decode(bytes(message)).request_id == 7      # intact: decodes
    for _ in range(data.draw(st.integers(1, 3))):
        position = data.draw(st.integers(0, len(message) - 1))
        message[position] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(message)))
    for candidate in (bytes(message), bytes(message[:cut])):
        try:
            security.decode(candidate)
        except (ber.BerError, SnmpError):
            pass
