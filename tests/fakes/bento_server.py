"""Run a built Bento with `bentoml serve` for a test: a free 127.0.0.1 port, its own process
group, readiness within a timeout, and a stop that leaves no process behind.

BentoML's process manager (circus) starts each worker with setsid(), so the workers are not in
the server's process group: stopping tracks the whole process tree by PID (from /proc), not
only the group.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

BENTOML = Path(sys.executable).with_name("bentoml")
PROC = Path("/proc")
Proc = tuple[int, int]  # (pid, start time): a PID reused by another process is not the same


@dataclass(frozen=True)
class Stat:
    pid: int
    state: str
    ppid: int
    pgrp: int
    start: int


@dataclass(frozen=True)
class Server:
    tag: str
    url: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pgid(self) -> int:
        return self.process.pid  # started with start_new_session: it leads its own group

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def status(url: str, timeout: float = 2.0) -> int:
    """HTTP status of GET `url`; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            code: int = response.status
            return code
    except urllib.error.HTTPError as exc:
        return exc.code
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0


def _stat(pid: int) -> Stat | None:
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:  # gone
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return Stat(pid, fields[0], int(fields[1]), int(fields[2]), int(fields[19]))


def _live() -> list[Stat]:
    """Every process that is not a zombie (on systems with /proc)."""
    if not PROC.is_dir():
        return []
    stats = (_stat(int(entry.name)) for entry in PROC.iterdir() if entry.name.isdigit())
    return [s for s in stats if s is not None and s.state not in ("Z", "X")]


def process_tree(pid: int) -> set[Proc]:
    """`pid`, its descendants (in any session) and the members of its process group."""
    live = _live()
    found = {s.pid for s in live if s.pid == pid or s.pgrp == pid}
    grew = True
    while grew:
        children = {s.pid for s in live if s.ppid in found} - found
        found |= children
        grew = bool(children)
    return {(s.pid, s.start) for s in live if s.pid in found}


def alive(procs: set[Proc]) -> set[Proc]:
    now = {(s.pid, s.start) for s in _live()}
    return procs & now


def processes_serving(tag: str) -> list[int]:
    """Live processes whose command line names the Bento `tag` (a `pgrep -f TAG`)."""
    found = []
    for stat in _live():
        with suppress(OSError):
            argv = (PROC / str(stat.pid) / "cmdline").read_bytes().split(b"\0")
            if tag.encode() in argv:
                found.append(stat.pid)
    return found


def start(tag: str, env: Mapping[str, str], log: Path, timeout: float = 120.0) -> Server:
    """`bentoml serve TAG` in a new process group; returns once GET /readyz is 200."""
    port = free_port()
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("wb") as out:
        process = subprocess.Popen(
            [str(BENTOML), "serve", tag, "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **env},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(tag, f"http://127.0.0.1:{port}", process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop(server)
            raise RuntimeError(
                f"bentoml serve {tag} exited with {process.returncode}:\n{server.log_tail()}"
            )
        if status(f"{server.url}/readyz") == 200:
            return server
        time.sleep(0.25)
    stop(server)
    raise TimeoutError(f"bentoml serve {tag} not ready after {timeout:.0f}s:\n{server.log_tail()}")


def _signal(procs: set[Proc], sig: signal.Signals) -> None:
    for pid, _ in alive(procs):
        with suppress(ProcessLookupError):
            os.kill(pid, sig)


def _wait(procs: set[Proc], process: subprocess.Popen[bytes], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None and not alive(procs):
            return True
        time.sleep(0.1)
    return False


def stop(server: Server, grace: float = 20.0) -> None:
    """SIGTERM the server (it stops its workers), SIGKILL whatever of its process tree is left
    after `grace` seconds, and wait until none of it is left."""
    procs = process_tree(server.pgid)
    with suppress(ProcessLookupError):
        os.killpg(server.pgid, signal.SIGTERM)
    if _wait(procs, server.process, grace):
        return
    _signal(procs, signal.SIGKILL)
    with suppress(ProcessLookupError):
        os.killpg(server.pgid, signal.SIGKILL)
    if not _wait(procs, server.process, 10):
        left = sorted(pid for pid, _ in alive(procs))
        raise RuntimeError(f"bentoml serve {server.tag}: processes {left} survived SIGKILL")


@contextmanager
def serving(
    tag: str, env: Mapping[str, str], log: Path, timeout: float = 120.0
) -> Iterator[Server]:
    """A ready server for the duration of the block; stopped (whole tree) on the way out."""
    server = start(tag, env, log, timeout)
    try:
        yield server
    finally:
        stop(server)
