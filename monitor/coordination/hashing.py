"""Rendezvous (highest random weight) hashing: which live member owns a target.

Every member computes the same owner from the same member list, with no table of
assignments to keep. When a member leaves, only its targets move (each to the member
with its next-highest weight); when one joins, it takes about 1/N of the targets and
nothing else moves; adding or removing a target moves no other target.
"""

from __future__ import annotations

import hashlib
from typing import Iterable


def weight(member: str, target: str) -> int:
    """The member's weight for ``target``: 64 bits of a keyed hash, the same everywhere."""
    digest = hashlib.blake2b(f"{member}\0{target}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def owner(target: str, members: Iterable[str]) -> str | None:
    """The member with the highest weight for ``target`` (None without members)."""
    best, best_weight = None, -1
    for member in members:
        w = weight(member, target)
        if w > best_weight or (w == best_weight and member > (best or "")):
            best, best_weight = member, w
    return best


def phase(target: str, interval: float) -> float:
    """Seconds after each multiple of ``interval`` at which ``target``'s slot starts: the
    same for every member, spread over the interval so polls do not start in lockstep."""
    digest = hashlib.blake2b(target.encode(), digest_size=8).digest()
    millis = max(int(interval * 1000), 1)
    return (int.from_bytes(digest, "big") % millis) / 1000.0
