"""A real `mlflow server` for tests, as a team runs it: its backend store a fresh database of the
session's PostgreSQL (`postgresql+psycopg://`: SQLAlchemy's psycopg 3 dialect, which MLflow's
store accepts as `<dialect>+<driver>`), artifacts proxied by the server (`--serve-artifacts`)
into a temporary folder, on a free 127.0.0.1 port, stopped by its process group.

The fixtures are loaded as a plugin by tests/conftest.py; both have module scope (one server,
with MLflow's schema migrations, per test module):

- `mlflow_tracking_server`: the running `MlflowServer`;
- `mlflow_server`: its tracking URI (`http://127.0.0.1:PORT`), for MLFLOW_TRACKING_URI.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.bento_server import alive, free_port, process_tree, status
from tests.fakes.postgres import PostgresServer

MLFLOW = Path(sys.executable).with_name("mlflow")


@dataclass(frozen=True)
class MlflowServer:
    """A running tracking server: `url` is its tracking (and registry) URI."""

    url: str
    backend_store_uri: str
    artifacts: Path
    process: subprocess.Popen[bytes]
    log: Path

    def log_tail(self, lines: int = 40) -> str:
        text = self.log.read_text(encoding="utf-8", errors="replace")
        return "\n".join(text.splitlines()[-lines:])


def start(backend_store_uri: str, folder: Path, timeout: float = 90.0) -> MlflowServer:
    """`mlflow server` with one worker in a new process group; returns once GET /health is 200.
    `folder` holds the artifacts and the log (and is the server's working directory)."""
    port = free_port()
    artifacts = folder / "artifacts"
    artifacts.mkdir(parents=True, exist_ok=True)
    log = folder / "mlflow-server.log"
    argv = [str(MLFLOW), "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    argv += ["--backend-store-uri", backend_store_uri]
    argv += ["--serve-artifacts", "--artifacts-destination", str(artifacts)]
    with log.open("wb") as out:
        process = subprocess.Popen(
            argv,
            cwd=folder,
            # MLflow's job runner (huey consumers for GenAI scorers) is not used by Shipyard;
            # without it the server is one process fewer to start on a 2-core runner.
            env={**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"},
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = MlflowServer(f"http://127.0.0.1:{port}", backend_store_uri, artifacts, process, log)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            stop(server)
            raise RuntimeError(
                f"mlflow server exited with {process.returncode}:\n{server.log_tail()}"
            )
        if status(f"{server.url}/health") == 200:
            return server
        time.sleep(0.25)
    stop(server)
    raise TimeoutError(f"mlflow server not healthy after {timeout:.0f}s:\n{server.log_tail()}")


def stop(server: MlflowServer, grace: float = 15.0) -> None:
    """SIGTERM the process group (the server and its uvicorn worker), SIGKILL what is left of
    its process tree after `grace` seconds."""
    pgid = server.process.pid  # started with start_new_session: it leads its own group
    procs = process_tree(pgid)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if server.process.poll() is not None and not alive(procs):
            return
        time.sleep(0.1)
    for pid, _ in alive(procs):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    with suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    server.process.wait(10)


@contextmanager
def running(backend_store_uri: str, folder: Path, timeout: float = 90.0) -> Iterator[MlflowServer]:
    """A healthy server for the duration of the block, stopped on the way out."""
    server = start(backend_store_uri, folder, timeout)
    try:
        yield server
    finally:
        stop(server)


@pytest.fixture(scope="module")
def mlflow_tracking_server(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[MlflowServer]:
    """A tracking server on a fresh PostgreSQL database, for the tests of one module."""
    backend = postgres_server.fresh_database("mlflow")
    with running(backend, tmp_path_factory.mktemp("mlflow-server")) as server:
        yield server


@pytest.fixture(scope="module")
def mlflow_server(mlflow_tracking_server: MlflowServer) -> str:
    """The tracking URI of `mlflow_tracking_server`."""
    return mlflow_tracking_server.url
