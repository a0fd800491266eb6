"""An operator's word to a rollout in flight — `promote` (skip the remaining steps), `abort`
(roll back now), `pause` / `resume` (hold the current step), `retry` (apply a spec again
after a failure) — as Argo Rollouts' `kubectl argo rollouts promote|abort|pause|retry` do.

A command is one record in the state store, per spec and environment, so it reaches the run
that drives the canary wherever it runs (the agent, or a CI job): the canary's step loop
checks it every second (`StoreControl.take`) and writes what it did back into the record,
which is how the operator's command learns it was carried out (`wait_done`).
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pipelines.state.store import Store

KEY = "control"  # the store value of a spec environment that holds its newest command
CHECK_EVERY = 1.0  # seconds between a running canary's checks for a command


class Command(StrEnum):
    PROMOTE = "promote"
    ABORT = "abort"
    PAUSE = "pause"
    RESUME = "resume"
    RETRY = "retry"


@dataclass(frozen=True)
class Request:
    """A command as stored: who gave it, when, and (once carried out) what came of it."""

    id: str
    command: Command
    by: str
    ts: float
    done: str | None = None  # what the run that took it did, in one line

    def record(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "command": self.command.value,
            "by": self.by,
            "ts": self.ts,
            "done": self.done,
        }

    @classmethod
    def of(cls, record: dict[str, Any] | None) -> Request | None:
        if not record or record.get("command") not in set(Command):
            return None
        return cls(
            str(record.get("id", "")),
            Command(record["command"]),
            str(record.get("by", "")),
            float(record.get("ts", 0.0)),
            record.get("done"),
        )


def request(store: Store, spec: str, env: str, command: Command, by: str) -> Request:
    """Store `command` for the run driving (spec, env); a newer command replaces one not
    yet taken."""
    given = Request(uuid.uuid4().hex, command, by, time.time())
    store.put_value(spec, env, KEY, given.record())
    return given


def current(store: Store, spec: str, env: str) -> Request | None:
    return Request.of(store.value(spec, env, KEY))


def wait_done(store: Store, spec: str, env: str, given: Request, timeout: float) -> str | None:
    """What the run did with `given`, once it says; None when it did not within `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        found = current(store, spec, env)
        if found is not None and found.id == given.id and found.done is not None:
            return found.done
        if found is not None and found.id != given.id:
            return f"replaced by a newer command ({found.command} by {found.by})"
        if time.monotonic() >= deadline:
            return None
        time.sleep(0.2)


class StoreControl:
    """The commands a running canary takes, from the state store: only those given after it
    started count (an old command must not abort the next release)."""

    def __init__(self, store: Store, spec: str, env: str) -> None:
        self.store, self.spec, self.env = store, spec, env
        self.since = time.time()
        self._seen: str | None = None
        self._checked = 0.0

    def take(self) -> Request | None:
        """A new command, at most once a second (the store is shared: keep it quiet)."""
        now = time.monotonic()
        if now - self._checked < CHECK_EVERY:
            return None
        self._checked = now
        found = current(self.store, self.spec, self.env)
        if found is None or found.done is not None or found.id == self._seen:
            return None
        if found.ts < self.since:
            return None
        self._seen = found.id
        return found

    def done(self, taken: Request, what: str) -> None:
        """Say what became of `taken`, for the operator waiting on it."""
        record = {**taken.record(), "done": what}
        self.store.put_value(self.spec, self.env, KEY, record)
