"""An asyncio SNMP client: GET and subtree walks for v1, v2c and v3 on one event loop.

One :class:`SnmpSession` per target holds a UDP socket connected to the agent. Requests
are matched to responses by request id; a request is retried ``retries`` times after
``timeout`` seconds. Walks use GETBULK (GETNEXT on v1) and adapt ``max_repetitions``:
halved when the agent answers tooBig or stays silent (some agents drop large responses),
never below 1. A walk that returns an OID not after the previous one (a looping or
backwards agent) stops with :class:`SnmpError` for that target only.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field

from collectors.snmp import ber

MAX_DATAGRAM = 65507


class SnmpError(Exception):
    """A target-level failure: ``kind`` is timeout, refused, auth, protocol, agent or walk."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind


@dataclass
class SnmpTarget:
    """Where and how to reach one agent. Secrets are resolved by the caller."""

    host: str
    port: int = 161
    version: str = "2c"
    community: str = "public"
    timeout: float = 2.0
    retries: int = 1
    max_repetitions: int = 25
    context: str = ""
    user: str = ""
    auth_protocol: str = ""
    auth_key: str = field(default="", repr=False)
    priv_protocol: str = ""
    priv_key: str = field(default="", repr=False)


def _expire(future: asyncio.Future) -> None:
    if not future.done():
        future.set_exception(asyncio.TimeoutError())


class _Protocol(asyncio.DatagramProtocol):
    def __init__(self, session: "SnmpSession") -> None:
        self.session = session

    def datagram_received(self, data: bytes, addr) -> None:
        self.session._received(data)

    def error_received(self, exc: Exception) -> None:
        # ICMP port unreachable and the like: kept for the message. A refusal says for
        # certain that nothing listens, so the pending request gives up its wait at once
        # (the next attempt is sent as after a timeout).
        self.session.last_error = exc
        if isinstance(exc, ConnectionRefusedError):
            for future in self.session.pending.values():
                if not future.done():
                    future.set_exception(_Refused())


class _Refused(Exception):
    """The agent's host answered ICMP port unreachable to a request."""


class SnmpSession:
    """Requests to one agent; create and use it on one event loop."""

    def __init__(self, target: SnmpTarget) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, asyncio.Future] = {}
        self.request_id = random.randrange(1, 2**30)
        self.last_error: Exception | None = None
        self.security = None
        self.max_repetitions = target.max_repetitions
        self.decode_errors = 0
        if target.version == "3":
            from collectors.snmp.usm import UsmSecurity
            self.security = UsmSecurity(target)
        elif target.version not in ("1", "2c"):
            raise ValueError(f"unknown SNMP version {target.version!r}")

    async def open(self) -> None:
        """Create the UDP socket (and discover the engine for v3)."""
        if self.transport is not None:
            return
        loop = asyncio.get_running_loop()
        self.transport, _ = await loop.create_datagram_endpoint(
            lambda: _Protocol(self), remote_addr=(self.target.host, self.target.port))
        if self.security is not None:
            await self.security.discover(self)

    def close(self) -> None:
        """Close the socket; pending requests fail."""
        if self.transport is not None:
            self.transport.close()
            self.transport = None
        for future in self.pending.values():
            if not future.done():
                future.set_exception(SnmpError("protocol", "session closed"))
        self.pending.clear()

    def _next_id(self) -> int:
        self.request_id = self.request_id % (2**31 - 1) + 1
        return self.request_id

    def _received(self, data: bytes) -> None:
        try:
            if self.security is not None:
                pdu = self.security.decode(data)
            else:
                version, community, pdu = ber.decode_community_message(data)
                if community != self.target.community.encode() or \
                        version != (0 if self.target.version == "1" else 1):
                    return
        except ber.BerError:
            self.decode_errors += 1
            return
        except SnmpError as exc:
            for future in self.pending.values():
                if not future.done():
                    future.set_exception(exc)
            return
        future = self.pending.get(pdu.request_id)
        if future is not None and not future.done():
            future.set_result(pdu)

    async def request(self, pdu_type: int, oids: list[tuple[int, ...]], *,
                      max_repetitions: int = 0, accept_report: bool = False) -> ber.Pdu:
        """Send one PDU and wait for its response, with retries; raises SnmpError.

        A v3 REPORT that the security model took in its stride (the agent's clock moved
        on) is answered by sending the request again with the new engine time."""
        await self.open()
        attempts = self.target.retries + 1
        resent = False
        self.last_error = None
        while attempts > 0:
            attempts -= 1
            request_id = self._next_id()
            pdu = ber.encode_pdu(pdu_type, request_id, oids, max_repetitions=max_repetitions)
            if self.security is not None:
                message = self.security.encode(pdu)
            else:
                version = 0 if self.target.version == "1" else 1
                message = ber.encode_community_message(version, self.target.community.encode(),
                                                       pdu)
            loop = asyncio.get_running_loop()
            future = loop.create_future()
            self.pending[request_id] = future
            # A timer on the future, not asyncio.wait_for: that wraps every request in a
            # task of its own, which costs more CPU than decoding the response.
            timer = loop.call_later(self.target.timeout, _expire, future)
            try:
                self.transport.sendto(message)
                answer = await future
            except (asyncio.TimeoutError, _Refused):
                continue
            finally:
                timer.cancel()
                self.pending.pop(request_id, None)
            if answer.pdu_type != ber.REPORT or accept_report:
                return answer
            if resent:
                raise SnmpError("auth", "SNMPv3 agent keeps reporting instead of answering")
            resent, attempts = True, attempts + 1
        raise self._no_answer()

    def _no_answer(self) -> "SnmpError":
        """Why every attempt went unanswered, with what to check."""
        where = f"{self.target.host}:{self.target.port}"
        if isinstance(self.last_error, ConnectionRefusedError):
            return SnmpError("refused", f"{where}/udp refused the request (ICMP port "
                                        "unreachable): no SNMP agent listens there")
        attempts = self.target.retries + 1
        detail = f" ({self.last_error})" if self.last_error else ""
        if self.decode_errors:
            detail += f" ({self.decode_errors} undecodable responses)"
        if self.security is None:
            detail += (" (agents do not answer a wrong community: check the community and "
                       "that the agent accepts requests from this address)")
        elif self.security.priv:
            detail += " (SNMPv3 agents drop requests they cannot decrypt: check the privacy " \
                      "protocol and key)"
        return SnmpError("timeout", f"no response from {where} after {attempts} "
                                    f"attempt(s){detail}")

    async def get(self, oids: list[tuple[int, ...]]) -> dict[tuple[int, ...], tuple[int, object]]:
        """GET ``oids``; returns oid -> (tag, value) for those the agent has."""
        found: dict = {}
        remaining = list(oids)
        while remaining:
            pdu = await self.request(ber.GET, remaining)
            if pdu.error_status == 2 and self.target.version == "1" and \
                    0 < pdu.error_index <= len(remaining):
                del remaining[pdu.error_index - 1]  # v1: drop the missing object, ask again
                continue
            if pdu.error_status:
                raise SnmpError("agent", f"GET failed: "
                                f"{ber.ERROR_NAMES.get(pdu.error_status, pdu.error_status)}")
            for oid, tag, value in pdu.varbinds:
                if tag not in ber.EXCEPTIONS:
                    found[oid] = (tag, value)
            break
        return found

    async def walk(self, root: tuple[int, ...]) -> list[tuple[tuple[int, ...], int, object]]:
        """Every (oid, tag, value) under ``root``, in order."""
        return (await self.walk_columns([root]))[root]

    async def walk_columns(self, roots: list[tuple[int, ...]]) -> dict[tuple, list]:
        """Walk several columns of one table together: one GETBULK carries every
        unfinished column (rows come back interleaved), so a 15-column table costs a
        few requests instead of one walk per column. v1 has no GETBULK: it walks each
        column alone with GETNEXT, and its noSuchName marks the end of the MIB."""
        bulk = self.target.version != "1"
        if not bulk and len(roots) > 1:
            return {root: await self.walk(root) for root in roots}
        results: dict[tuple, list] = {root: [] for root in roots}
        position = {root: root for root in roots}
        while position:
            columns = list(position)
            repetitions = self.max_repetitions if bulk else 0
            try:
                pdu = await self.request(ber.GETBULK if bulk else ber.GETNEXT,
                                         [position[c] for c in columns],
                                         max_repetitions=repetitions)
            except SnmpError as exc:
                if exc.kind == "timeout" and repetitions > 1:
                    self.max_repetitions = max(1, repetitions // 2)
                    continue
                raise
            if pdu.error_status == 1 and repetitions > 1:   # tooBig
                self.max_repetitions = max(1, repetitions // 2)
                continue
            if pdu.error_status == 2 and not bulk:           # v1 end of MIB
                break
            if pdu.error_status:
                raise SnmpError("agent", f"walk of {ber.oid_text(columns[0])} failed: "
                                f"{ber.ERROR_NAMES.get(pdu.error_status, pdu.error_status)}")
            if not pdu.varbinds:
                break
            if not self._take_rows(pdu.varbinds, columns, position, results):
                raise SnmpError("walk", "agent answered a walk without any next row")
        return results

    @staticmethod
    def _take_rows(varbinds, columns, position, results) -> bool:
        """Sort interleaved bulk rows into their columns; drop finished columns."""
        count = len(columns)
        progress = False
        for number, (oid, tag, value) in enumerate(varbinds):
            column = columns[number % count]
            if column not in position:
                continue
            if tag == ber.END_OF_MIB_VIEW or oid[:len(column)] != column:
                del position[column]
                progress = True
                continue
            if oid <= position[column]:
                raise SnmpError("walk", f"agent returned {ber.oid_text(oid)} after "
                                f"{ber.oid_text(position[column])} while walking "
                                f"{ber.oid_text(column)} (loop or wrong order)")
            results[column].append((oid, tag, value))
            position[column] = oid
            progress = True
        return progress
