"""Locks held across machines, named by what they guard ("credit-risk/production").

On PostgreSQL a session advisory lock: the server releases it the moment the holder's
connection dies (a killed job, a lost runner), so no lease can go stale. On SQLite (one
machine) a lease row naming the holder (host, pid, process start, since) kept fresh by a
heartbeat; it is taken over only when the holder is provably gone — its process no longer
exists on this host (checked by pid and start time, so a reused pid does not count), or,
from another host, its heartbeat stopped for `STALE_AFTER` seconds.

Either way the holder's row in `locks` says who holds it, for the waiting side's message.
"""

from __future__ import annotations

import hashlib
import os
import socket
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.core.errors import ShipyardError
from pipelines.state import schema

if TYPE_CHECKING:
    from pipelines.core.workspace import Workspace
    from pipelines.state.store import Store

HEARTBEAT = 5.0  # seconds between lease renewals (SQLite)
STALE_AFTER = 60.0  # a lease from another host is taken over after this long without one
POLL = 0.5


class LockTimeoutError(ShipyardError):
    """Another run held the lock for longer than we would wait."""


@dataclass(frozen=True)
class Holder:
    host: str
    pid: int
    started: str  # the process's start time (Linux: /proc/<pid>/stat field 22)
    since: float
    heartbeat: float
    what: str

    @classmethod
    def of(cls, row: Mapping[Any, Any]) -> Holder:
        """The holder a `locks` row names."""
        return cls(*(row[f] for f in ("host", "pid", "started", "since", "heartbeat", "what")))

    def describe(self, now: float | None = None) -> str:
        held = (now or time.time()) - self.since
        return f"{self.what or 'a run'} on {self.host}, pid {self.pid}, since {held:.0f}s"


def me(what: str) -> Holder:
    now = time.time()
    return Holder(socket.gethostname(), os.getpid(), process_start(os.getpid()), now, now, what)


def process_start(pid: int) -> str:
    """When process `pid` started ("" where /proc does not say): with the pid, it tells a
    live holder from a new process that reused its pid."""
    fields = _stat(pid)
    return fields[19] if len(fields) > 19 else ""


def _stat(pid: int) -> list[str]:
    """/proc/<pid>/stat after the command name: state, parent, ..., start time (field 22)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return []


def gone(holder: Holder, now: float) -> bool:
    """True only when the holder provably stopped (see the module's docstring)."""
    if holder.host != socket.gethostname():
        return now - holder.heartbeat > STALE_AFTER
    try:
        os.kill(holder.pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    fields = _stat(holder.pid)
    if fields and fields[0] in ("Z", "X"):  # killed, not yet reaped by its parent
        return True
    return bool(holder.started) and process_start(holder.pid) != holder.started


@contextmanager
def hold(
    store: Store, name: str, what: str, timeout: float, say: Callable[[str], None]
) -> Iterator[Holder]:
    """Hold the lock `name` for the block; wait up to `timeout` seconds for it, saying once
    who holds it."""
    holder = me(what)
    take = _advisory if store.dialect == "postgresql" else _lease
    with take(store, name, holder, timeout, say):
        yield holder


@contextmanager
def environment_lock(
    ws: Workspace,
    spec: str,
    env: str,
    timeout: float,
    say: Callable[[str], None],
    what: str = "apply",
) -> Iterator[Holder]:
    """The one lock of (spec, environment), shared by every machine using the store."""
    from pipelines.state.store import open_store

    with hold(open_store(ws.state_url), f"{spec}/{env}", what, timeout, say) as holder:
        yield holder


def holder_of(store: Store, name: str) -> Holder | None:
    t = schema.locks
    rows = store._select(t, t.c.name == name)
    if not rows:
        return None
    return Holder.of(rows[0])


def live_holder(store: Store, name: str) -> Holder | None:
    """Who holds `name` now, when someone does: on PostgreSQL the server's advisory lock is
    the truth (a row can outlive a killed holder); on SQLite the lease, unless its holder is
    provably gone."""
    holder = holder_of(store, name)
    if holder is None:
        return None
    if store.dialect != "postgresql":
        return None if gone(holder, time.time()) else holder
    import sqlalchemy as sa

    key = advisory_key(name)
    with store._reach(), store.engine.connect() as conn:
        free = conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar()
        if free:
            conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
        conn.commit()
    return None if free else holder


def _waiting(
    store: Store, name: str, deadline: float, timeout: float, told: bool, say: Callable[[str], None]
) -> bool:
    holder = holder_of(store, name)
    who = holder.describe() if holder else "holder unknown"
    if time.monotonic() > deadline:
        raise LockTimeoutError(
            f"another run holds {name} ({who}); gave up after {timeout:g}s",
            hint="wait for it to finish, or raise --lock-timeout",
        )
    if not told:
        say(f"waiting: another run holds {name} ({who})")
    time.sleep(POLL)
    return True


# --- PostgreSQL: a session advisory lock ------------------------------------------------------


def advisory_key(name: str) -> int:
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def _advisory(
    store: Store, name: str, holder: Holder, timeout: float, say: Callable[[str], None]
) -> Iterator[None]:
    import sqlalchemy as sa

    key, deadline, told = advisory_key(name), time.monotonic() + timeout, False
    with store._reach():
        conn = store.engine.connect()
    with conn:
        with store._reach():  # only the lock's own statements are the store's errors
            conn.commit()
            while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar():
                conn.commit()
                told = _waiting(store, name, deadline, timeout, told, say)
            conn.commit()
        _write_holder(store, name, holder)
        try:
            yield
        finally:
            _clear_holder(store, name, holder)
            with store._reach():
                conn.execute(sa.text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()


# --- SQLite: a lease with a heartbeat ---------------------------------------------------------


@contextmanager
def _lease(
    store: Store, name: str, holder: Holder, timeout: float, say: Callable[[str], None]
) -> Iterator[None]:
    deadline, told = time.monotonic() + timeout, False
    while True:
        taken_from = _try_lease(store, name, holder)
        if taken_from is not False:
            break
        told = _waiting(store, name, deadline, timeout, told, say)
    if isinstance(taken_from, Holder):
        say(f"took over {name} from {taken_from.describe()}: that process is gone")
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(store, name, holder, stop), daemon=True)
    beat.start()
    try:
        yield
    finally:
        stop.set()
        beat.join()
        _clear_holder(store, name, holder)


def _try_lease(store: Store, name: str, holder: Holder) -> Holder | bool | None:
    """Take the lease: None when it was free, the dead holder taken over, False when held."""
    import sqlalchemy as sa

    t = schema.locks
    with store.transaction() as conn:
        row = conn.execute(sa.select(t).where(t.c.name == name)).first()
        previous = None
        if row is not None:
            previous = Holder.of(row._mapping)
            if not gone(previous, time.time()):
                return False
            conn.execute(sa.delete(t).where(t.c.name == name))
        conn.execute(sa.insert(t).values(name=name, **holder.__dict__))
    return previous


def _heartbeat(store: Store, name: str, holder: Holder, stop: threading.Event) -> None:
    import sqlalchemy as sa

    t = schema.locks
    while not stop.wait(HEARTBEAT):
        try:
            with store.transaction() as conn:
                conn.execute(
                    sa.update(t)
                    .where((t.c.name == name) & (t.c.pid == holder.pid) & (t.c.host == holder.host))
                    .values(heartbeat=time.time())
                )
        except ShipyardError:  # a busy or briefly unreachable store: the next beat retries
            continue


def _write_holder(store: Store, name: str, holder: Holder) -> None:
    import sqlalchemy as sa

    t = schema.locks
    with store.transaction() as conn:
        conn.execute(sa.delete(t).where(t.c.name == name))
        conn.execute(sa.insert(t).values(name=name, **holder.__dict__))


def _clear_holder(store: Store, name: str, holder: Holder) -> None:
    import sqlalchemy as sa

    t = schema.locks
    with store.transaction() as conn:
        conn.execute(
            sa.delete(t).where(
                (t.c.name == name) & (t.c.pid == holder.pid) & (t.c.host == holder.host)
            )
        )
