"""The launcher supervisord runs each program through: what an earlier run of the same program
left behind (found by the marker in its environment) is killed before the command starts."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator

import pytest

from stacks.local import launch
from stacks.local.launch import MARKER, leftovers


@pytest.fixture
def program() -> str:
    return f"/state/local/credit-production/stable-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def leftover(program: str) -> Iterator[subprocess.Popen[bytes]]:
    """A process of `program` that outlived its parent, as a killed server's workers do."""
    process = subprocess.Popen(["sleep", "60"], env={**os.environ, MARKER: program})
    yield process
    process.kill()
    process.wait()


def _gone(process: subprocess.Popen[bytes], seconds: float = 10) -> bool:
    deadline = time.monotonic() + seconds
    while process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    return process.poll() is not None


def test_leftovers_are_found_by_the_marker_in_their_environment(
    program: str, leftover: subprocess.Popen[bytes]
) -> None:
    assert leftovers(program) == [leftover.pid]
    assert leftovers(program + "-other") == []
    assert leftovers(program[:-1]) == [], "the whole name must match, not a prefix"


def test_the_launcher_kills_leftovers_then_runs_the_command_in_its_place(
    program: str, leftover: subprocess.Popen[bytes]
) -> None:
    launcher = subprocess.Popen(
        [sys.executable, "-I", launch.__file__, "sh", "-c", "echo started $$"],
        env={**os.environ, MARKER: program},
        stdout=subprocess.PIPE,
        text=True,
    )
    out, _ = launcher.communicate(timeout=30)
    assert launcher.returncode == 0
    assert out.split() == ["started", str(launcher.pid)], "the command keeps the launcher's pid"
    assert _gone(leftover), "the leftover still runs"
    assert leftover.returncode == -9


def test_without_a_marker_nothing_is_killed(
    program: str, leftover: subprocess.Popen[bytes]
) -> None:
    env = {k: v for k, v in os.environ.items() if k != MARKER}
    run = subprocess.run(
        [sys.executable, "-I", launch.__file__, "true"], env=env, timeout=30, check=False
    )
    assert run.returncode == 0
    assert leftover.poll() is None
    assert leftovers(program) == [leftover.pid]
