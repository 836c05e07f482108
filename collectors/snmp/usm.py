"""SNMPv3 User-based Security Model (RFC 3414, 3826, 7860) for the lean client.

Messages are built and parsed by hand like the v1/v2c ones; pysnmp supplies what it does
well and what is easy to get subtly wrong: turning a passphrase into a key and
localising it to the agent's engine ID. Authentication: HMAC-MD5-96, HMAC-SHA-96 and the
HMAC-SHA-2 family (RFC 7860). Privacy: DES-CBC, AES-128-CFB (RFC 3826) and AES-192/256
with Blumenthal key extension (``AES192``, ``AES256``, what net-snmp does) or Reeder's
(``AES192C``, ``AES256C``, what Cisco does). Agents' REPORT PDUs become clear errors:
unknown user, wrong digest (auth key), decryption error (privacy key), unsupported level.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import struct

from collectors.snmp import ber
from collectors.snmp.client import SnmpError

AUTH = {  # name: (hash, truncated MAC length)
    "MD5": (hashlib.md5, 12), "SHA": (hashlib.sha1, 12), "SHA1": (hashlib.sha1, 12),
    "SHA224": (hashlib.sha224, 16), "SHA256": (hashlib.sha256, 24),
    "SHA384": (hashlib.sha384, 32), "SHA512": (hashlib.sha512, 48),
}
PRIV = {"DES": 8, "AES": 16, "AES128": 16, "AES192": 24, "AES256": 32, "AES192C": 24,
        "AES256C": 32}
USM_STATS = (1, 3, 6, 1, 6, 3, 15, 1, 1)
REPORTS = {1: "unsupported security level", 2: "not in time window", 3: "unknown user name",
           4: "unknown engine ID", 5: "wrong digest (check the auth protocol and key)",
           6: "decryption error (check the privacy protocol and key)"}
FLAG_AUTH, FLAG_PRIV, FLAG_REPORTABLE = 1, 2, 4
MAX_SIZE = 65507


def _normal(name: str) -> str:
    return name.upper().replace("-", "").replace("_", "")


def check_protocols(user: str, auth_protocol: str, priv_protocol: str) -> None:
    """Refuse unknown protocols and impossible combinations (raises ValueError)."""
    auth, priv = _normal(auth_protocol), _normal(priv_protocol)
    if not user:
        raise ValueError("user: required for SNMPv3")
    if auth and auth not in AUTH:
        raise ValueError(f"auth_protocol: unknown {auth_protocol!r}; known: "
                         f"{', '.join(sorted(AUTH))}")
    if priv and priv not in PRIV:
        raise ValueError(f"priv_protocol: unknown {priv_protocol!r}; known: "
                         f"{', '.join(sorted(PRIV))}")
    if priv and not auth:
        raise ValueError("priv_protocol: privacy needs an auth_protocol too")


def check_target(target) -> None:
    """:func:`check_protocols`, and passphrases long enough (raises ValueError)."""
    check_protocols(target.user, target.auth_protocol, target.priv_protocol)
    auth, priv = _normal(target.auth_protocol), _normal(target.priv_protocol)
    for name, key in (("auth_key", target.auth_key if auth else "x" * 8),
                      ("priv_key", target.priv_key if priv else "x" * 8)):
        if len(key) < 8:
            raise ValueError(f"{name}: a passphrase needs at least 8 characters")


def _localized(passphrase: bytes, engine_id: bytes, hash_function) -> bytes:
    """RFC 3414 A.2: passphrase to key, localised to the engine (Reeder extends keys by
    feeding a key back in as the passphrase)."""
    from pysnmp.proto.secmod.rfc3414 import localkey  # only v3 targets pay for pysnmp
    ku = bytes(localkey.hash_passphrase(passphrase, hash_function))
    return hash_function(ku + engine_id + ku).digest()


def _cipher(priv: str, key: bytes, iv: bytes):
    from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
    if priv == "DES":
        from cryptography.hazmat.decrepit.ciphers.algorithms import TripleDES
        return Cipher(TripleDES(key[:8] * 3), modes.CBC(iv))  # K1=K2=K3 is single DES
    try:  # cryptography moved CFB among its "decrepit" modes (still what RFC 3826 needs)
        from cryptography.hazmat.decrepit.ciphers.modes import CFB
    except ImportError:
        CFB = modes.CFB
    return Cipher(algorithms.AES(key[:PRIV[priv]]), CFB(iv))


class UsmSecurity:
    """The v3 state of one session: engine, localised keys, boots/time, salt."""

    def __init__(self, target) -> None:
        check_target(target)
        self.target = target
        self.auth = _normal(target.auth_protocol)
        self.priv = _normal(target.priv_protocol)
        self.engine_id = b""
        self.boots = self.time = 0
        self.auth_key = self.priv_key = b""
        self.salt = int.from_bytes(os.urandom(8), "big")
        self.message_id = int.from_bytes(os.urandom(3), "big")

    @property
    def flags(self) -> int:
        return (FLAG_AUTH if self.auth else 0) | (FLAG_PRIV if self.priv else 0) | \
            FLAG_REPORTABLE

    async def discover(self, session) -> None:
        """Learn the agent's engine ID, boots and time (RFC 3414 4), then derive keys."""
        saved = (self.auth, self.priv)
        self.auth = self.priv = ""
        try:
            await session.request(ber.GET, [], accept_report=True)
        except SnmpError as exc:
            if not self.engine_id:
                raise SnmpError(exc.kind, f"SNMPv3 engine discovery failed: {exc}") from None
        finally:
            self.auth, self.priv = saved
        if not self.engine_id:
            raise SnmpError("protocol", "SNMPv3 engine discovery: the agent sent no engine ID")
        if self.auth:
            hash_function = AUTH[self.auth][0]
            self.auth_key = _localized(self.target.auth_key.encode(), self.engine_id,
                                       hash_function)
            if self.priv:
                self.priv_key = self._priv_key(hash_function)

    def _priv_key(self, hash_function) -> bytes:
        key = _localized(self.target.priv_key.encode(), self.engine_id, hash_function)
        size = 16 if self.priv == "DES" else PRIV[self.priv]
        while len(key) < size:
            if self.priv.endswith("C"):   # Reeder: the key is itself a passphrase hash
                key += _localized(key, self.engine_id, hash_function)
            else:                          # Blumenthal: append the hash of what we have
                key += hash_function(key).digest()
        return key[:size]

    # Encoding.
    def encode(self, pdu: bytes) -> bytes:
        """A v3 message carrying ``pdu`` (authenticated and encrypted as configured)."""
        self.message_id = self.message_id % (2**31 - 1) + 1
        scoped = ber.tlv(ber.SEQUENCE, ber.tlv(ber.OCTET_STRING, self.engine_id)
                         + ber.tlv(ber.OCTET_STRING, self.target.context.encode()) + pdu)
        priv_params = b""
        if self.priv:
            scoped, priv_params = self._encrypt(scoped)
            scoped = ber.tlv(ber.OCTET_STRING, scoped)
        mac_size = AUTH[self.auth][1] if self.auth else 0
        prefix = (ber.tlv(ber.OCTET_STRING, self.engine_id) + ber.encode_int(self.boots)
                  + ber.encode_int(self.time)
                  + ber.tlv(ber.OCTET_STRING, self.target.user.encode() if self.engine_id
                            else b""))
        content = prefix + ber.tlv(ber.OCTET_STRING, b"\x00" * mac_size) \
            + ber.tlv(ber.OCTET_STRING, priv_params)
        security = ber.tlv(ber.OCTET_STRING, ber.tlv(ber.SEQUENCE, content))
        header = ber.tlv(ber.SEQUENCE, ber.encode_int(self.message_id)
                         + ber.encode_int(MAX_SIZE)
                         + ber.tlv(ber.OCTET_STRING, bytes((self.flags,)))
                         + ber.encode_int(3))
        body = ber.encode_int(3) + header + security + scoped
        message = ber.tlv(ber.SEQUENCE, body)
        if not self.auth:
            return message
        # Where the zeroed authentication parameters sit: counted, never searched for.
        position = (len(message) - len(body) + len(ber.encode_int(3)) + len(header)
                    + len(security) - len(content) + len(prefix) + 2)
        return message[:position] + self._mac(message) + message[position + mac_size:]

    def _mac(self, message: bytes) -> bytes:
        hash_function, size = AUTH[self.auth]
        return hmac.new(self.auth_key, message, hash_function).digest()[:size]

    def _encrypt(self, scoped: bytes) -> tuple[bytes, bytes]:
        self.salt = (self.salt + 1) % 2**64
        if self.priv == "DES":
            salt = struct.pack(">II", self.boots & 0xFFFFFFFF, self.salt & 0xFFFFFFFF)
            iv = bytes(a ^ b for a, b in zip(self.priv_key[8:16], salt))
            padded = scoped + b"\x00" * (-len(scoped) % 8)
            encryptor = _cipher("DES", self.priv_key, iv).encryptor()
            return encryptor.update(padded) + encryptor.finalize(), salt
        salt = struct.pack(">Q", self.salt)
        iv = struct.pack(">II", self.boots, self.time) + salt
        encryptor = _cipher(self.priv, self.priv_key, iv).encryptor()
        return encryptor.update(scoped) + encryptor.finalize(), salt

    # Decoding.
    def decode(self, data: bytes) -> ber.Pdu:
        """The PDU of a v3 response; raises BerError (drop it) or SnmpError (report)."""
        start, stop = ber.expect(data, 0, len(data), ber.SEQUENCE)
        if stop != len(data):
            raise ber.BerError("trailing bytes after the message")
        v_start, v_stop = ber.expect(data, start, stop, ber.INTEGER)
        if ber.decode_int(data, v_start, v_stop) != 3:
            raise ber.BerError("not an SNMPv3 message")
        h_start, h_stop = ber.expect(data, v_stop, stop, ber.SEQUENCE)
        fields = []
        position = h_start
        for tag in (ber.INTEGER, ber.INTEGER, ber.OCTET_STRING, ber.INTEGER):
            f_start, f_stop = ber.expect(data, position, h_stop, tag)
            fields.append(data[f_start:f_stop])
            position = f_stop
        flags = fields[2][0] if fields[2] else 0
        s_start, s_stop = ber.expect(data, h_stop, stop, ber.OCTET_STRING)
        usm = self._usm(data, s_start, s_stop)
        if flags & FLAG_AUTH:
            self._verify(data, usm)
        self.engine_id = usm["engine_id"] or self.engine_id
        self.boots, self.time = usm["boots"], usm["time"]
        if flags & FLAG_PRIV:
            e_start, e_stop = ber.expect(data, s_stop, stop, ber.OCTET_STRING)
            scoped = self._decrypt(data[e_start:e_stop], usm["priv_params"])
            return self._scoped(scoped, 0, len(scoped))
        return self._scoped(data, s_stop, stop)

    @staticmethod
    def _usm(data: bytes, start: int, stop: int) -> dict:
        seq_start, seq_stop = ber.expect(data, start, stop, ber.SEQUENCE)
        values, position = [], seq_start
        for tag in (ber.OCTET_STRING, ber.INTEGER, ber.INTEGER, ber.OCTET_STRING,
                    ber.OCTET_STRING, ber.OCTET_STRING):
            f_start, f_stop = ber.expect(data, position, seq_stop, tag)
            values.append((f_start, f_stop))
            position = f_stop
        return {"engine_id": data[values[0][0]:values[0][1]],
                "boots": ber.decode_int(data, *values[1]), "time": ber.decode_int(data, *values[2]),
                "auth_span": values[4], "priv_params": data[values[5][0]:values[5][1]]}

    def _verify(self, data: bytes, usm: dict) -> None:
        if not self.auth_key:
            return  # a report during discovery, before keys exist
        start, stop = usm["auth_span"]
        blanked = data[:start] + b"\x00" * (stop - start) + data[stop:]
        if not hmac.compare_digest(self._mac(blanked), data[start:stop]):
            raise ber.BerError("response failed authentication")

    def _decrypt(self, encrypted: bytes, salt: bytes) -> bytes:
        if len(salt) != 8:
            raise ber.BerError("bad privacy parameters")
        if self.priv == "DES":
            if len(encrypted) % 8:
                raise ber.BerError("DES ciphertext is not a multiple of 8 bytes")
            iv = bytes(a ^ b for a, b in zip(self.priv_key[8:16], salt))
            decryptor = _cipher("DES", self.priv_key, iv).decryptor()
        else:
            iv = struct.pack(">II", self.boots, self.time) + salt
            decryptor = _cipher(self.priv, self.priv_key, iv).decryptor()
        plain = decryptor.update(encrypted) + decryptor.finalize()
        _tag, _start, end = ber.read_tlv(plain, 0, len(plain))  # drop DES padding
        return plain[:end]

    def _scoped(self, data: bytes, start: int, stop: int) -> ber.Pdu:
        seq_start, seq_stop = ber.expect(data, start, stop, ber.SEQUENCE)
        engine_start, engine_stop = ber.expect(data, seq_start, seq_stop, ber.OCTET_STRING)
        _c_start, c_stop = ber.expect(data, engine_stop, seq_stop, ber.OCTET_STRING)
        pdu = ber.decode_pdu(data, c_stop, seq_stop)
        if pdu.pdu_type == ber.REPORT:
            self._report(pdu)
        return pdu

    def _report(self, pdu: ber.Pdu) -> None:
        for oid, _tag, _value in pdu.varbinds:
            if oid[:len(USM_STATS)] == USM_STATS and len(oid) > len(USM_STATS):
                reason = oid[len(USM_STATS)]
                if reason == 4 and not self.auth_key:
                    return  # discovery: the engine ID arrived with this report
                if reason == 2:
                    return  # boots/time were just updated; the retry will be in time
                raise SnmpError("auth", f"SNMPv3 agent reports "
                                        f"{REPORTS.get(reason, ber.oid_text(oid))}")
        raise SnmpError("protocol", "SNMPv3 agent sent an unexpected report")

