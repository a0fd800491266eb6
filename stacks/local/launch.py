"""Start a supervisord program's command once what an earlier run of the same program left
behind is gone.

`bentoml serve` runs its workers in process groups of their own. When it dies abruptly
(SIGKILL, the OOM killer) supervisord restarts it, but the workers live on: they keep the port
and keep serving the old process's release, and every restart fails with "address already in
use". Each program's processes carry `SHIPYARD_PROGRAM` in their environment (inherited by
every child), so the leftovers are found by it and killed before the command takes over this
process (same pid, so supervisord keeps tracking it).

    python launch.py COMMAND [ARG...]   (standard library only: run by path)
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

MARKER = "SHIPYARD_PROGRAM"


def leftovers(program: str) -> list[int]:
    """Processes other than this one whose environment says they belong to `program`."""
    entry = f"\0{MARKER}={program}\0".encode()
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            environ = b"\0" + (proc / "environ").read_bytes()
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if entry in environ:
            found.append(int(proc.name))
    return found


def main(argv: list[str]) -> None:
    program = os.environ.get(MARKER)
    if program:
        deadline = time.monotonic() + 10
        while (left := leftovers(program)) and time.monotonic() < deadline:
            for pid in left:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            time.sleep(0.1)
    os.execvp(argv[0], argv)


if __name__ == "__main__":
    main(sys.argv[1:])
