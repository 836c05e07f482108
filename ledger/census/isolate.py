"""Reading an uploaded census file in a child process with bounded memory and time.

The web tier and the scheduler share one process under ``monitor run``: a reader that
aborts (python-calamine is Rust, and an allocation it cannot get ends the process) or
exhausts memory must not take them down. :func:`read_isolated` runs
:func:`ledger.census.files.read_file` in ``python -m ledger.census.isolate`` with
``RLIMIT_AS`` (address space) and ``RLIMIT_CPU`` set from :class:`Limits`, plus a wall-clock
watchdog; the sheets come back pickled on its standard output. Whatever happens to the child
comes back as :class:`~ledger.census.files.FileRejected`.

Protocol: the parent writes one JSON request on the child's standard input; the child writes
a pickled ``("ok", sheets, peak)`` or ``("rejected", message, peak)`` (``peak``: its peak
resident memory in bytes) and exits 0, or dies.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

from ledger.census.limits import DEFAULT, Limits
from ledger.census.messages import message

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class ReaderResult:
    """What the child process gave back, and its peak resident memory (the child's own
    high-water mark when it answered; an upper bound from ``wait4`` when it died)."""

    sheets: list | None
    rejected: str | None
    max_rss_bytes: int


def read_isolated(path: str | Path, *, category: str | None = None, language: str = "zh",
                  allow_empty: bool = False, limits: Limits = DEFAULT) -> list:
    """:func:`~ledger.census.files.read_file` in a resource-limited child process."""
    from ledger.census.files import FileRejected

    result = run_reader(path, category=category, language=language, allow_empty=allow_empty,
                        limits=limits)
    if result.rejected is not None:
        raise FileRejected(str(path), result.rejected)
    return result.sheets


def run_reader(path: str | Path, *, category: str | None = None, language: str = "zh",
               allow_empty: bool = False, limits: Limits = DEFAULT) -> ReaderResult:
    """Run the reader on ``path`` and collect its result and peak memory."""
    request = json.dumps({"path": str(path), "category": category, "language": language,
                          "allow_empty": allow_empty, "limits": asdict(limits)}).encode()
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])])}
    with tempfile.TemporaryFile() as errors:
        child = subprocess.Popen([sys.executable, "-m", "ledger.census.isolate"],
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors,
                                 env=env, cwd=str(ROOT))
        watchdog = threading.Timer(limits.seconds, _kill, (child,))
        watchdog.start()
        try:
            child.stdin.write(request)
            child.stdin.close()
            output = child.stdout.read()
            _pid, status, usage = os.wait4(child.pid, 0)
        finally:
            watchdog.cancel()
            child.stdout.close()
        child.returncode = os.waitstatus_to_exitcode(status)
        errors.seek(0)
        tail = errors.read()[-2000:].decode("utf-8", "replace")
    # wait4's ru_maxrss also counts the parent's pages at the fork (Linux keeps the high
    # water mark across exec), so it is only an upper bound; the child's own VmHWM is exact.
    max_rss = usage.ru_maxrss * 1024
    if child.returncode == 0 and output:
        kind, value, peak = pickle.loads(output)
        if kind == "ok":
            return ReaderResult(value, None, peak or max_rss)
        return ReaderResult(None, value, peak or max_rss)
    return ReaderResult(None, message("reader_failed", language,
                                      detail=_why(child.returncode, tail)), max_rss)


def _kill(child: subprocess.Popen) -> None:
    try:
        child.kill()
    except OSError:
        pass


def _why(code: int, tail: str) -> str:
    if code < 0:
        try:
            return signal.Signals(-code).name
        except ValueError:
            return f"signal {-code}"
    lines = [line for line in tail.splitlines() if line.strip()]
    return f"exit {code}" + (f": {lines[-1][:200]}" if lines else "")


def _limit_resources(limits: Limits) -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (limits.seconds, limits.seconds))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))


def _peak_rss() -> int | None:
    """This process's peak resident memory since its exec (VmHWM), in bytes."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def main() -> int:
    """The child: read the request, limit itself, read the file, answer."""
    request = json.loads(sys.stdin.buffer.read())
    limits = Limits(**request["limits"])
    _limit_resources(limits)
    from ledger.census.files import FileRejected, read_file

    path = request["path"]
    try:
        sheets = read_file(path, category=request["category"], language=request["language"],
                           allow_empty=request["allow_empty"], limits=limits)
        answer = ("ok", sheets)
    except FileRejected as exc:
        answer = ("rejected", str(exc).removeprefix(f"{path}: "))
    except MemoryError:
        answer = ("rejected", message("reader_failed", request["language"],
                                      detail="MemoryError"))
    answer += (_peak_rss(),)
    sys.stdout.buffer.write(pickle.dumps(answer, protocol=pickle.HIGHEST_PROTOCOL))
    sys.stdout.buffer.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
