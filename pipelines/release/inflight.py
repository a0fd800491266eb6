"""The in-flight rollout of an environment, kept in the state store while a canary runs:
the release, the step, the weights, the last verdicts and who drives it (host, pid). A run
that dies (kill -9, a lost runner) leaves it behind; the next apply or rollback — from any
machine sharing the store — finds it, puts all traffic back on stable and records the
recovery before it does anything else. `Tracked` wraps the ledger writer of a canary so
every step and verdict also updates the record."""

from __future__ import annotations

import os
import socket
from typing import TYPE_CHECKING, Any

from pipelines.audit.ledger import LedgerEntry, LedgerKind
from pipelines.release.context import EnvRelease

if TYPE_CHECKING:
    from pipelines.state.store import Store

KEPT_VERDICTS = 20  # the newest analysis results an in-flight record keeps


def owner() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def _store(er: EnvRelease) -> Store:
    from pipelines.state.store import open_store

    return open_store(er.ctx.ws.state_url)


class Tracked:
    """A canary's `record(kind, **details)` that keeps its in-flight record current."""

    def __init__(self, er: EnvRelease) -> None:
        self.er = er
        self.state: dict[str, Any] = {
            "release": {"bento": er.release.bento, "model": er.release.model},
            "step": 0,
            "weights": {"stable": 100, "canary": 0},
            "analysis": [],
            "status": "deploying",
        }
        self._put()

    def __call__(self, kind: LedgerKind, **details: Any) -> LedgerEntry:
        entry = self.er.record(kind, **details)
        if kind == LedgerKind.STEP:
            weight = int(details["weight"])
            self.state["weights"] = {"stable": 100 - weight, "canary": weight}
            self.state.update(step=details["step"], status="progressing")
        elif kind == LedgerKind.ANALYSIS:
            verdict = {
                "phase": details.get("phase"),
                "seq": entry.seq,
                "reasons": details.get("reasons", []),
            }
            self.state["analysis"] = [*self.state["analysis"], verdict][-KEPT_VERDICTS:]
        elif kind == LedgerKind.OPERATOR and details.get("command") in ("pause", "resume"):
            self.state["status"] = "paused" if details["command"] == "pause" else "progressing"
        else:
            return entry
        self._put()
        return entry

    def status(self, status: str) -> None:
        self.state["status"] = status
        self._put()

    def _put(self) -> None:
        er = self.er
        _store(er).put_rollout(er.ctx.name, er.env.name, owner(), self.state)

    def done(self) -> None:
        _store(self.er).clear_rollout(self.er.ctx.name, self.er.env.name)
