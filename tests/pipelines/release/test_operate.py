"""Operators' commands over a real SQLite state store and the in-process memory target: to a
rollout a live run drives, through the store, answered by that run; with no run driving it,
`abort` takes a dead run's canary out directly and `promote`/`pause` are refused with what
to do instead."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.core.errors import UsageError
from pipelines.core.specs import load_spec
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from pipelines.release import control
from pipelines.release.control import Command, StoreControl
from pipelines.release.operate import operate
from pipelines.state.locks import environment_lock
from pipelines.state.store import forget_stores, open_store
from stacks.target import Slot
from tests.fakes.deployed import IN_FLIGHT, MEMORY_SPEC, OWNER, deploy
from tests.fakes.memory_target import registered


@pytest.fixture
def project(tmp_path: Path) -> Iterator[tuple[Workspace, Path]]:
    (tmp_path / "specs").mkdir()
    spec_file = tmp_path / "specs" / "credit.yaml"
    spec_file.write_text(MEMORY_SPEC, encoding="utf-8")
    with registered():
        yield Workspace.at(tmp_path), spec_file
    forget_stores()


def test_a_command_reaches_the_run_driving_the_rollout(
    project: tuple[Workspace, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ws, spec_file = project
    monkeypatch.setattr(control, "CHECK_EVERY", 0.0)
    store = open_store(ws.state_url)
    store.put_rollout("credit", "production", OWNER, IN_FLIGHT)
    started, stop = threading.Event(), threading.Event()

    def canary_run() -> None:  # what release/steps.py does with a StoreControl
        with environment_lock(ws, "credit", "production", 5, lambda _: None, "apply"):
            taking = StoreControl(store, "credit", "production")
            started.set()
            while not stop.is_set():
                taken = taking.take()
                if taken is not None:
                    taking.done(taken, f"paused at step 1 (by {taken.by})")
                stop.wait(0.05)

    run = threading.Thread(target=canary_run)
    run.start()
    try:
        assert started.wait(10)
        done = operate(ws, spec_file, "production", Command.PAUSE, "alice", lambda _: None, 10)
    finally:
        stop.set()
        run.join()
    assert done.answer == "paused at step 1 (by alice)"
    assert done.through.startswith("the run driving it (apply on ")


def test_with_no_run_driving_it_abort_takes_the_canary_out(project: tuple[Workspace, Path]) -> None:
    ws, spec_file = project
    deploy(ws, spec_file, "staging")
    deploy(ws, spec_file, "production", canary=True)  # a dead run's canary
    done = operate(ws, spec_file, "production", Command.ABORT, "alice", lambda _: None)
    assert done.through == "directly"
    assert "canary removed; all traffic on the stable release" in done.answer
    target = target_for(load_spec(spec_file, ws.root), "production", ws)
    assert set(target.state().slots) == {Slot.STABLE}


def test_with_nothing_in_flight_commands_are_refused_with_a_hint(
    project: tuple[Workspace, Path],
) -> None:
    ws, spec_file = project
    deploy(ws, spec_file, "production")
    with pytest.raises(UsageError, match=r"^no rollout of credit in production to abort") as caught:
        operate(ws, spec_file, "production", Command.ABORT, "alice", lambda _: None)
    assert caught.value.hint.startswith("to go back to an earlier release: shipyard rollback")
    for command in (Command.PROMOTE, Command.PAUSE, Command.RESUME):
        with pytest.raises(UsageError, match=rf"is in flight: nothing to {command}$"):
            operate(ws, spec_file, "production", command, "alice", lambda _: None)
    with pytest.raises(UsageError, match=r"has no environment 'qa'"):
        operate(ws, spec_file, "qa", Command.PROMOTE, "alice", lambda _: None)
