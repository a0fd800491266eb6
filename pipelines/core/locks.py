"""One lock per (spec, environment): a second apply waits, saying who holds it, or fails
after a timeout. The lock is a kernel file lock, so a killed holder releases it at once."""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.core.errors import ShipyardError


class LockTimeoutError(ShipyardError):
    """Another apply held the environment for longer than we would wait."""


@contextmanager
def environment_lock(
    state: Path, spec: str, env: str, timeout: float, say: Callable[[str], None]
) -> Iterator[None]:
    path = state / "locks" / f"{spec}--{env}.lock"
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a+", encoding="utf-8") as handle:
        deadline, told = time.monotonic() + timeout, False
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                holder = _holder(path)
                if time.monotonic() > deadline:
                    raise LockTimeoutError(
                        f"another apply holds {spec} in {env} ({holder}); gave up after "
                        f"{timeout:g}s",
                        hint="wait for it to finish, or raise --lock-timeout",
                    ) from None
                if not told:
                    say(f"waiting: another apply holds {spec} in {env} ({holder})")
                    told = True
                time.sleep(0.5)
        handle.seek(0)
        handle.truncate()
        handle.write(json.dumps({"pid": os.getpid(), "since": time.time()}))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _holder(path: Path) -> str:
    try:
        info = json.loads(path.read_text() or "{}")
    except (OSError, ValueError):
        return "unknown holder"
    since = time.time() - float(info.get("since", time.time()))
    return f"pid {info.get('pid', '?')}, for {since:.0f}s"
