"""Shared by tests/pipelines/agent/test_agent_integration.py and benchmarks/agent.py: a
`shipyard agent` process on a project (its API on a free port, its output in a log file),
Git as a developer uses it, and waiting for something with the agents' logs in the failure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, TypeVar

from tests.fakes.bento_server import free_port

SHIPYARD = Path(sys.executable).with_name("shipyard")
TOKEN = "operator-token"
T = TypeVar("T")


def git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    done = subprocess.run([*command, *args], capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def commit_all(root: Path, message: str) -> str:
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


@dataclass
class AgentProcess:
    """One `shipyard agent` process on the project at `root`."""

    name: str
    port: int
    process: subprocess.Popen[str]
    log: Path
    out: IO[str]

    @classmethod
    def launch(
        cls,
        root: Path,
        name: str,
        interval: float,
        env: Mapping[str, str],
        *args: str,
    ) -> AgentProcess:
        """Start the agent in a session of its own, `--listen` on a free port, its output in
        a log beside the project."""
        port = free_port()
        log = root.parent / f"{root.name}-{name}.log"
        out = log.open("a", encoding="utf-8")
        process = subprocess.Popen(
            [
                *(str(SHIPYARD), "-C", str(root), "agent", "--interval", f"{interval:g}s"),
                *("--listen", f"127.0.0.1:{port}", *args),
            ],
            cwd=root,
            env={**os.environ, "SHIPYARD_AGENT_TOKEN": TOKEN, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        return cls(name, port, process, log, out)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str) -> dict[str, Any]:
        with urllib.request.urlopen(self.url(path), timeout=10) as answer:
            payload: dict[str, Any] = json.loads(answer.read())
            return payload

    def healthz(self) -> dict[str, Any]:
        """/healthz, or {} while nothing answers."""
        try:
            return self.get("/healthz")
        except (urllib.error.URLError, OSError, ValueError):
            return {}

    def leads(self) -> bool:
        return self.alive() and bool(self.healthz().get("leader"))

    def post(self, path: str, token: str | None = TOKEN) -> tuple[int, dict[str, Any]]:
        headers = {"X-Shipyard-User": "oncall"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        asked = urllib.request.Request(self.url(path), data=b"{}", method="POST", headers=headers)
        try:
            with urllib.request.urlopen(asked, timeout=30) as answer:
                return answer.status, json.loads(answer.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read())

    def said(self) -> str:
        self.out.flush()
        return self.log.read_text(encoding="utf-8", errors="replace")

    def alive(self) -> bool:
        return self.process.poll() is None

    def kill9(self) -> float:
        """SIGKILL to the agent alone (as the OOM killer sends it); when it was sent."""
        os.kill(self.process.pid, signal.SIGKILL)
        killed = time.time()
        self.process.wait()
        return killed

    def stop(self, timeout: float = 90.0) -> None:
        """SIGTERM (a canary in flight puts traffic back on stable first), then SIGKILL to
        its whole session if it does not end."""
        if self.alive():
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.out.close()


def wait_for(
    what: str,
    found: Callable[[], T],
    timeout: float,
    agents: Iterable[AgentProcess] = (),
    every: float = 0.2,
) -> T:
    """`found()` once it is truthy; on timeout, an AssertionError with the agents' logs."""
    deadline = time.monotonic() + timeout
    while True:
        value = found()
        if value:
            return value
        if time.monotonic() >= deadline:
            logs = "\n".join(f"--- {a.name}\n{a.said()[-6000:]}" for a in agents)
            raise AssertionError(f"timed out waiting for {what}\n{logs}")
        time.sleep(every)
