"""Locks across runs: a second holder waits, saying once who holds the lock, and gets it when
it is released; a holder that was killed frees it (PostgreSQL: the server drops a dead
session's advisory lock; SQLite: the lease of a process that is gone is taken over), and a
lease is never taken from a holder that may still be alive."""

from __future__ import annotations

import hashlib
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import sqlalchemy as sa

from pipelines.state import locks, schema
from pipelines.state.locks import Holder, LockTimeoutError, advisory_key, gone, hold, holder_of
from pipelines.state.store import Store, open_store

if TYPE_CHECKING:
    from tests.pipelines.state.conftest import Spawn

HOST = socket.gethostname()
NAME = "credit-risk/production"
KEY_OF_NAME = -8096257418568080003  # advisory_key(NAME), pinned

# A child process: hold the environment lock of credit-risk/production (the store comes from
# SHIPYARD_STATE_URL, as in a CI job), say "held", and sleep until killed.
HOLDER = """
import sys, time
from pipelines.core.workspace import Workspace
from pipelines.state.locks import environment_lock

with environment_lock(Workspace.at(sys.argv[1]), "credit-risk", "production", 5, print):
    print("held", flush=True)
    time.sleep(120)
"""


@pytest.fixture(autouse=True)
def _quick(monkeypatch: pytest.MonkeyPatch) -> None:
    """Poll and beat often, so waiting ends soon after the lock is free."""
    monkeypatch.setattr(locks, "POLL", 0.05)
    monkeypatch.setattr(locks, "HEARTBEAT", 0.05)


def waiting(name: str, what: str, pid: int) -> str:
    """The pattern of the one line a waiting run says."""
    who = f"{re.escape(what)} on {re.escape(HOST)}, pid {pid}, since \\d+s"
    return rf"waiting: another run holds {re.escape(name)} \({who}\)"


class Waiter(threading.Thread):
    """A second run taking the lock in a thread: what it said and when it got the lock."""

    def __init__(self, store: Store, name: str, timeout: float) -> None:
        super().__init__(daemon=True)
        self.store, self.name, self.timeout = store, name, timeout
        self.said: list[str] = []
        self.got = threading.Event()
        self.failed: BaseException | None = None

    def run(self) -> None:
        try:
            with hold(self.store, self.name, "apply", self.timeout, self.said.append):
                self.got.set()
        except BaseException as exc:  # reported by the test
            self.failed = exc

    def wait_until_said(self, count: int = 1, within: float = 10.0) -> list[str]:
        deadline = time.monotonic() + within
        while len(self.said) < count and time.monotonic() < deadline and self.is_alive():
            time.sleep(0.01)
        return list(self.said)


def lease_row(store: Store, **fields: object) -> None:
    """Write the locks row of NAME by hand, as another machine's Shipyard would have."""
    now = time.time()
    values = {"host": "ci-runner-7", "pid": 4242, "started": "123456", "what": "monitor"}
    values.update({"since": now, "heartbeat": now, **fields})
    with store.transaction() as conn:
        conn.execute(sa.delete(schema.locks).where(schema.locks.c.name == NAME))
        conn.execute(sa.insert(schema.locks).values(name=NAME, **values))


# --- both engines ----------------------------------------------------------------------------


def test_a_second_holder_waits_says_who_holds_once_and_gets_it(store_url: str) -> None:
    store = open_store(store_url)
    with hold(store, NAME, "apply credit-risk production", 10, print) as mine:
        assert holder_of(store, NAME) == mine
        waiter = Waiter(store, NAME, timeout=10)
        waiter.start()
        said = waiter.wait_until_said()
        time.sleep(0.3)  # several more polls: still said once
        assert not waiter.got.is_set()
    waiter.join(10)
    assert waiter.failed is None
    assert waiter.got.is_set()
    assert len(waiter.said) == 1, waiter.said
    assert re.fullmatch(waiting(NAME, "apply credit-risk production", os.getpid()), said[0])
    assert holder_of(store, NAME) is None  # released by the waiter in turn


def test_waiting_past_the_timeout_names_the_holder(store_url: str) -> None:
    store = open_store(store_url)
    with hold(store, NAME, "monitor credit-risk production", 10, print):
        waiter = Waiter(store, NAME, timeout=0.3)
        waiter.start()
        waiter.join(10)
    assert isinstance(waiter.failed, LockTimeoutError)
    assert re.fullmatch(
        rf"another run holds {NAME} \(monitor credit-risk production on {re.escape(HOST)}, "
        rf"pid {os.getpid()}, since \d+s\); gave up after 0\.3s",
        waiter.failed.message,
    )
    assert "--lock-timeout" in waiter.failed.hint
    assert not waiter.got.is_set()
    with hold(store, NAME, "apply", 0.3, print):  # the timeout left nothing behind
        pass


def test_locks_of_different_names_do_not_wait_for_each_other(store_url: str) -> None:
    store = open_store(store_url)
    said: list[str] = []
    with (
        hold(store, NAME, "apply", 0.3, said.append) as production,
        hold(store, "credit-risk/staging", "apply", 0.3, said.append) as staging,
    ):
        assert holder_of(store, NAME) == production
        assert holder_of(store, "credit-risk/staging") == staging
    assert said == []


def test_a_killed_holder_process_frees_the_lock(
    store_url: str, spawn: Spawn, tmp_path: Path
) -> None:
    store = open_store(store_url)  # the schema exists before the child takes the lock
    child = spawn(HOLDER, str(tmp_path), env={"SHIPYARD_STATE_URL": store_url})
    assert child.stdout is not None
    assert child.stdout.readline() == "held\n", child.communicate(timeout=10)[1]
    waiter = Waiter(store, NAME, timeout=20)
    waiter.start()
    said = waiter.wait_until_said()
    assert said, "the waiting run said nothing"
    assert re.fullmatch(waiting(NAME, "apply", child.pid), said[0]), said
    assert not waiter.got.is_set()

    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)  # reaped: no process with its pid is left
    waiter.join(20)
    assert waiter.failed is None
    assert waiter.got.is_set()
    if store.dialect == "sqlite":
        assert len(said := waiter.said) == 2, said
        assert re.fullmatch(
            rf"took over {NAME} from apply on {re.escape(HOST)}, pid {child.pid}, since \d+s: "
            "that process is gone",
            said[1],
        )
    else:  # the server released the advisory lock with the dead session: nothing to take over
        assert len(waiter.said) == 1, waiter.said


# --- SQLite: the lease -----------------------------------------------------------------------


def test_a_live_lease_from_another_host_is_not_taken(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    lease_row(store, host="ci-runner-7", pid=os.getpid())  # a pid alive here, but not ours
    with (
        pytest.raises(
            LockTimeoutError,
            match=r"\(monitor on ci-runner-7, pid \d+, since \d+s\); gave up after 0\.2s$",
        ),
        hold(store, NAME, "apply", 0.2, print),
    ):
        pytest.fail("took a lease whose holder may be alive")
    kept = holder_of(store, NAME)  # the lease is still the other host's
    assert kept is not None
    assert (kept.host, kept.what) == ("ci-runner-7", "monitor")


def test_a_stale_lease_from_another_host_is_taken(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    stale = time.time() - locks.STALE_AFTER - 5
    lease_row(store, host="ci-runner-7", since=stale - 100, heartbeat=stale)
    said: list[str] = []
    with hold(store, NAME, "apply", 2, said.append) as mine:
        assert holder_of(store, NAME) == mine
    assert len(said) == 1
    assert re.fullmatch(
        rf"took over {NAME} from monitor on ci-runner-7, pid 4242, since \d+s: "
        "that process is gone",
        said[0],
    )


def test_a_reused_pid_counts_as_gone(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    # Our own pid, alive, but started at another time: the holder was an earlier process.
    lease_row(store, host=HOST, pid=os.getpid(), started="1")
    said: list[str] = []
    with hold(store, NAME, "apply", 2, said.append):
        pass
    assert len(said) == 1
    assert said[0].startswith(f"took over {NAME} from monitor on {HOST}, pid {os.getpid()}")


def test_the_heartbeat_keeps_the_lease_fresh(sqlite_url: str) -> None:
    store = open_store(sqlite_url)
    with hold(store, NAME, "apply", 2, print) as mine:
        deadline = time.monotonic() + 5
        while (found := holder_of(store, NAME)) and found.heartbeat == mine.heartbeat:
            assert time.monotonic() < deadline, "no heartbeat within 5s"
            time.sleep(0.02)
        assert found is not None
        assert (found.pid, found.since) == (mine.pid, mine.since)
        assert found.heartbeat > mine.heartbeat


# --- pure functions ----------------------------------------------------------------------------


@pytest.fixture
def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait(10)
    return child.pid


def test_gone(dead_pid: int) -> None:
    now = time.time()
    alive = locks.me("apply")
    assert not gone(alive, now)
    assert gone(Holder(HOST, dead_pid, "1", now, now, "apply"), now)
    assert gone(Holder(HOST, os.getpid(), "1", now, now, "apply"), now)  # pid reused
    assert not gone(Holder(HOST, os.getpid(), "", now, now, "apply"), now)  # start unknown
    other = Holder("ci-runner-7", dead_pid, "1", now, now, "apply")
    assert not gone(other, now + locks.STALE_AFTER - 1)  # its pid means nothing here
    assert gone(other, now + locks.STALE_AFTER + 1)


def test_process_start(dead_pid: int) -> None:
    start = locks.process_start(os.getpid())
    assert start.isdigit()
    assert locks.process_start(os.getpid()) == start
    assert locks.process_start(dead_pid) == ""
    assert locks.me("apply").started == start


def test_advisory_key_is_a_stable_signed_64_bit_number() -> None:
    # Pinned: every machine sharing a store must derive the same key from a name, whatever
    # Shipyard version it runs.
    digest = hashlib.sha256(NAME.encode()).digest()[:8]
    assert advisory_key(NAME) == int.from_bytes(digest, "big", signed=True)
    assert advisory_key(NAME) == KEY_OF_NAME
    keys = [advisory_key(f"spec-{n}/production") for n in range(200)]
    assert all(-(2**63) <= key < 2**63 for key in keys)
    assert min(keys) < 0 < max(keys)  # signed: PostgreSQL's bigint takes both halves
    assert len(set(keys)) == len(keys)
