"""Operators' commands through a real state store (SQLite): a command given while a canary
runs is taken once, one given before it started is not, the run's answer reaches the waiting
operator, and a newer command replaces one not yet taken."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pipelines.release import control
from pipelines.release.control import Command, Request, StoreControl, current, request, wait_done
from pipelines.state.store import Store, forget_stores, open_store


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    yield open_store(f"sqlite:///{tmp_path / 'state.db'}")
    forget_stores()


@pytest.fixture(autouse=True)
def _every_check(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control, "CHECK_EVERY", 0.0)


def test_a_command_given_during_the_canary_is_taken_once(store: Store) -> None:
    old = request(store, "credit", "production", Command.ABORT, "bob")
    running = StoreControl(store, "credit", "production")
    assert running.take() is None  # given before this canary started: not for it
    given = request(store, "credit", "production", Command.PAUSE, "alice")
    taken = running.take()
    assert taken is not None
    assert (taken.id, taken.command, taken.by) == (given.id, Command.PAUSE, "alice")
    assert taken.id != old.id
    assert running.take() is None
    assert StoreControl(store, "credit", "staging").take() is None  # another environment


def test_the_answer_reaches_the_operator_waiting_on_it(store: Store) -> None:
    running = StoreControl(store, "credit", "production")
    time.sleep(0.01)
    given = request(store, "credit", "production", Command.PROMOTE, "alice")

    def run() -> None:
        taken = running.take()
        assert taken is not None
        running.done(taken, "promoting: the remaining steps are skipped")

    worker = threading.Timer(0.3, run)
    worker.start()
    answer = wait_done(store, "credit", "production", given, timeout=5)
    worker.join()
    assert answer == "promoting: the remaining steps are skipped"
    found = current(store, "credit", "production")
    assert found is not None
    assert found.done == answer


def test_nobody_answering_and_a_newer_command(store: Store) -> None:
    given = request(store, "credit", "production", Command.PAUSE, "alice")
    assert wait_done(store, "credit", "production", given, timeout=0.3) is None
    request(store, "credit", "production", Command.ABORT, "bob")
    assert wait_done(store, "credit", "production", given, timeout=1) == (
        "replaced by a newer command (abort by bob)"
    )


def test_a_record_that_is_not_a_command_reads_as_none() -> None:
    assert Request.of({"command": "explode"}) is None
    assert Request.of(None) is None
