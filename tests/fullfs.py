"""A small filesystem of our own that really fills up: a tmpfs mounted for one test."""

from __future__ import annotations

import errno
import os
import subprocess
from pathlib import Path


class SmallFilesystem:
    """A tmpfs of ``size`` mounted at ``path``; :meth:`fill` and :meth:`free` it."""

    def __init__(self, path: Path, size: str = "1m") -> None:
        self.path = Path(path)
        self.size = size
        self.filler = self.path / "filler"

    def mount(self) -> "SmallFilesystem":
        """Mount the tmpfs (needs root)."""
        self.path.mkdir(parents=True, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={self.size}", "tmpfs",
                        str(self.path)], check=True)
        return self

    def fill(self, leave_bytes: int = 0) -> None:
        """Write a filler file until the disk is full, then free ``leave_bytes`` of it."""
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        try:
            while True:
                os.write(fd, b"\0" * 65536)
        except OSError as exc:
            assert exc.errno == errno.ENOSPC, exc
        finally:
            os.close(fd)
        if leave_bytes:
            os.truncate(self.filler, self.filler.stat().st_size - leave_bytes)

    def free(self) -> None:
        """Remove the filler: space comes back."""
        self.filler.unlink(missing_ok=True)

    def unmount(self) -> None:
        """Unmount (lazily, so a file left open by a failed test cannot block it)."""
        subprocess.run(["umount", "-l", str(self.path)], check=True)
