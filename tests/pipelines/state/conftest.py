"""The state store's contract runs on both engines: `store_url` is a SQLite file, then a fresh
database of the session's real PostgreSQL (tests/fakes/postgres.py). `spawn` starts a child
Python that works on the same store, for what only separate processes can show (one chain
from several writers, a lock whose holder was killed)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import suppress
from pathlib import Path

import pytest

from pipelines.state.store import forget_stores

REPO = Path(__file__).resolve().parents[3]

Spawn = Callable[..., subprocess.Popen[str]]


@pytest.fixture(
    params=["sqlite", pytest.param("postgresql", marks=pytest.mark.integration)],
)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty state store: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("postgres_url")
    return url


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """An empty SQLite store, for what only the SQLite engine does (the lock lease)."""
    return f"sqlite:///{tmp_path / 'state.db'}"


@pytest.fixture(autouse=True)
def _forget_stores() -> Iterator[None]:
    """`open_store` keeps one store per URL in the process: close them after each test."""
    yield
    forget_stores()


@pytest.fixture
def spawn() -> Iterator[Spawn]:
    """Start `python -c CODE ARGS...` in the checkout, pipes on stdin/stdout/stderr (text);
    any child still running at the end of the test is killed by its PID."""
    children: list[subprocess.Popen[str]] = []

    def start(code: str, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
        child = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO), **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        children.append(child)
        return child

    yield start
    for child in children:
        if child.poll() is None:
            with suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
        child.communicate(timeout=10)
