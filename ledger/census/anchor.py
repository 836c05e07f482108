"""Anchoring the change log outside the database: the chain key and signed checkpoints.

A hash chain kept beside its own head proves nothing to someone who can write the
database: they can edit a record and recompute every hash after it, or empty the table
and rewind the head. Two things the database does not hold close that gap:

- the **chain key** (``ledger.audit_key``: ``env:NAME`` or ``file:PATH``, default
  ``<data_dir>/audit.key`` created 0600 on the first write): records are HMACs under it
  (``hmac-sha256`` or ``hmac-sm3``), so a rewritten chain cannot be recomputed without it;
- **checkpoints** (``ledger.audit_checkpoints``, default
  ``<data_dir>/audit-checkpoints.jsonl``): after every committed append the new head
  (seq, hash, time) is appended to this file, signed with the key. ``audit verify``
  checks the chain against every checkpoint, so truncation, rewinding and a chain
  rebuilt from scratch show as a checkpointed record that is gone or different.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import json
import os
import weakref
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Connection, event

from ledger.census.const import AUDIT_ALGORITHMS
from ledger.census.messages import message

UTC = dt.timezone.utc
KEYED_PREFIX = "hmac-"


class AuditKeyError(RuntimeError):
    """The chain key cannot be read (names the reference and the reason)."""


@dataclass(frozen=True)
class AuditChain:
    """How the change log is written: hash algorithm, key reference, checkpoint file.

    ``key_ref`` is ``env:NAME`` or ``file:PATH`` (None: an unkeyed chain, as before the
    key existed); ``create_key`` makes a missing key file (only for the default path, so
    a mistyped or unmounted key file is an error, never a silent new key).
    """

    algorithm: str = "sha256"
    key_ref: str | None = None
    checkpoints: Path | None = None
    create_key: bool = False

    @classmethod
    def of(cls, value: "AuditChain | str") -> "AuditChain":
        """``value`` itself, or an unkeyed chain of the algorithm name ``value``."""
        return value if isinstance(value, AuditChain) else cls(algorithm=value)

    @property
    def record_algorithm(self) -> str:
        """What new records store as their algorithm (``hmac-sha256`` when keyed)."""
        return f"{KEYED_PREFIX}{self.algorithm}" if self.key_ref else self.algorithm

    def key(self, *, create: bool = False) -> bytes | None:
        """The key bytes (None when unkeyed); raises AuditKeyError if unreadable."""
        if self.key_ref is None:
            return None
        if self.key_ref.startswith("env:"):
            value = os.environ.get(self.key_ref[4:])
            if not value:
                raise AuditKeyError(f"ledger.audit_key: environment variable "
                                    f"{self.key_ref[4:]} is not set")
            return value.encode("utf-8")
        path = Path(self.key_ref.removeprefix("file:")).expanduser()
        if create and self.create_key and not path.exists():
            from ledger.identity.crypto import load_or_create_key
            return load_or_create_key(path)
        try:
            key = path.read_bytes().strip()
        except OSError as exc:
            raise AuditKeyError(f"ledger.audit_key: cannot read {path}: {exc.strerror}") \
                from None
        if not key:
            raise AuditKeyError(f"ledger.audit_key: {path} is empty")
        return key


def digest(algorithm: str, payload: dict, key: bytes | None = None) -> str:
    """The hex hash (or HMAC, for ``hmac-*``) of a record's canonical JSON."""
    base = algorithm.removeprefix(KEYED_PREFIX)
    if base not in AUDIT_ALGORITHMS:
        raise ValueError(f"unknown audit hash {algorithm!r}")
    text = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    if algorithm.startswith(KEYED_PREFIX):
        if key is None:
            raise ValueError("keyed record and no chain key (ledger.audit_key)")
        return hmac.new(key, text.encode("utf-8"), base).hexdigest()
    return hashlib.new(base, text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Checkpoint:
    """One signed head: the chain had ``seq`` records ending in ``hash`` at ``time``."""

    line: int
    seq: int
    hash: str
    time: str


def _signature(key: bytes, seq: int, head_hash: str, time: str) -> str:
    return hmac.new(key, f"checkpoint:{seq}:{head_hash}:{time}".encode(), "sha256").hexdigest()


def write_checkpoint(path: Path, key: bytes, seq: int, head_hash: str,
                     now: dt.datetime | None = None) -> None:
    """Append one signed checkpoint line (O_APPEND, fsynced)."""
    time = (now or dt.datetime.now(UTC)).astimezone(UTC).isoformat()
    line = json.dumps({"seq": seq, "hash": head_hash, "time": time,
                       "mac": _signature(key, seq, head_hash, time)}) + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        os.write(fd, line.encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)


def read_checkpoints(path: Path, key: bytes | None,
                     language: str = "en") -> tuple[list[Checkpoint], list[str]]:
    """The checkpoints whose signature holds, and a problem per line that does not."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return [], []
    found, problems = [], []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            seq, head_hash, time, mac = (int(item["seq"]), str(item["hash"]),
                                         str(item["time"]), str(item["mac"]))
        except (ValueError, KeyError, TypeError):
            problems.append(message("checkpoint_unreadable", language, path=path, line=number))
            continue
        if key is None or not hmac.compare_digest(mac, _signature(key, seq, head_hash, time)):
            problems.append(message("checkpoint_forged", language, path=path, line=number))
            continue
        found.append(Checkpoint(number, seq, head_hash, time))
    return found, problems


def checkpoint_on_commit(conn: Connection, chain: AuditChain, key: bytes,
                         head: tuple[int, str]) -> None:
    """Write ``head`` as a checkpoint when ``conn``'s transaction commits (the last head
    of the transaction wins; nothing is written on rollback)."""
    if chain.checkpoints is None:
        return
    known = conn in _PENDING
    _PENDING[conn] = (chain.checkpoints, key, head)
    if known:
        return

    def commit(connection: Connection) -> None:
        pending = _PENDING.pop(connection, None)
        if pending is not None:
            path, secret, (seq, head_hash) = pending
            write_checkpoint(path, secret, seq, head_hash)

    def rollback(connection: Connection) -> None:
        _PENDING.pop(connection, None)

    event.listen(conn, "commit", commit)
    event.listen(conn, "rollback", rollback)


#: Heads appended in a transaction not yet committed, by connection.
_PENDING: "weakref.WeakKeyDictionary[Connection, tuple]" = weakref.WeakKeyDictionary()
