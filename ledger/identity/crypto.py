"""Secrets at rest: the key file and the box that seals TOTP seeds, and one-way digests.

The key is 32 random bytes (Fernet: AES-128-CBC with HMAC-SHA256) in a file readable by
the service account only, created on first start; every web process of one ledger must
share it (copy it with the data directory, or point ``security.key_file`` at one file).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken


def load_or_create_key(path: str | os.PathLike) -> bytes:
    """The key in ``path``; a new one is written (mode 0600) if the file does not exist."""
    path = Path(path)
    try:
        return path.read_bytes().strip()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True)
    key = Fernet.generate_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:       # another process made it first: use theirs
        return path.read_bytes().strip()
    with os.fdopen(fd, "wb") as handle:
        handle.write(key + b"\n")
    return key


class SecretBox:
    """Seal and open short secrets with one key."""

    def __init__(self, key: bytes) -> None:
        self._fernet = Fernet(key)

    def seal(self, text: str) -> str:
        """The sealed form of ``text``."""
        return self._fernet.encrypt(text.encode("utf-8")).decode("ascii")

    def open(self, sealed: str) -> str:
        """The text of ``sealed``; ValueError if it was not sealed with this key."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode("utf-8")
        except InvalidToken:
            raise ValueError("sealed with another key") from None


def new_secret() -> str:
    """A 256-bit random value, URL-safe."""
    return secrets.token_urlsafe(32)


def digest(value: str) -> str:
    """SHA-256 of a random secret (enough for 256-bit values; passwords use argon2id)."""
    return hashlib.sha256(value.encode("utf-8")).hexdigest()
