"""The in-flight rollout of an environment, kept in the state store while a canary runs:
the release, the step, the weights, the last verdicts and who drives it (host, pid). A run
that dies (kill -9, a lost runner) leaves it behind; the next apply or rollback — from any
machine sharing the store — finds it, puts all traffic back on stable and records the
recovery before it does anything else — unless the rollout can be resumed (`resume_point`):
the same release, its canary still running and answering, past its first step and not
promoting; then the next apply of that release takes the canary up again after the last step
it reached (release/canary.py). `Tracked` wraps the ledger writer of a canary so every step
and verdict also updates the record."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.audit.ledger import LedgerEntry, LedgerKind
from pipelines.release.context import EnvRelease
from pipelines.release.verdict import Phase

if TYPE_CHECKING:
    from pipelines.state.store import Store

KEPT_VERDICTS = 20  # the newest analysis results an in-flight record keeps
SLOTS = ("stable", "canary")
RESUMABLE = ("progressing", "paused")  # statuses a dead run's canary can be taken up from


@dataclass(frozen=True)
class ResumePoint:
    """Where a dead run's canary is taken up again: after `step` (the last one it reached;
    its weights are set), with the failures its analysis had counted and the canary requests
    it had judged."""

    step: int
    weights: dict[str, int]
    failures: int = 0
    errors: int = 0
    served: float = 0.0
    paused: bool = False
    left_by: str = ""


def resume_point(
    left: dict[str, Any] | None, bento: str, canary: str | None, canary_ready: bool
) -> tuple[ResumePoint | None, str]:
    """Whether the rollout record `left` can be resumed by a run releasing `bento`, with
    `canary` (the bento the canary slot runs, None: none) answering or not; (point, "") or
    (None, why not)."""
    if not left:
        return None, "no rollout record was left"
    was = (left.get("release") or {}).get("bento")
    status, step = left.get("status"), int(left.get("step") or 0)
    if was != bento:
        return None, f"it rolled out {was}, this run releases {bento}"
    if canary != bento:
        return None, "its canary no longer runs" if canary is None else f"the canary runs {canary}"
    if status not in RESUMABLE:
        return None, f"it was {status or 'in an unknown state'}"
    if step < 1:
        return None, "it had not reached its first step"
    if not canary_ready:
        return None, "its canary does not answer"
    counts = left.get("counts") or {}
    weights = left.get("weights") or {}
    point = ResumePoint(
        step=step,
        weights={slot: int(weights.get(slot, 100 if slot == "stable" else 0)) for slot in SLOTS},
        failures=int(counts.get("failures", 0)),
        errors=int(counts.get("errors", 0)),
        served=float(counts.get("served", 0.0)),
        paused=status == "paused",
        left_by=str(left.get("owner") or ""),
    )
    return point, ""


def owner() -> str:
    return f"{socket.gethostname()} pid {os.getpid()}"


def _store(er: EnvRelease) -> Store:
    from pipelines.state.store import open_store

    return open_store(er.ctx.ws.state_url)


class Tracked:
    """A canary's `record(kind, **details)` that keeps its in-flight record current."""

    def __init__(self, er: EnvRelease, resumed: ResumePoint | None = None) -> None:
        self.er = er
        ctx = er.ctx
        spec_file = ctx.spec_file.resolve()
        root = ctx.ws.root.resolve()
        self.state: dict[str, Any] = {
            "release": {"bento": er.release.bento, "model": er.release.model},
            "commit": ctx.options.head or "",  # where the spec came from (the agent resumes it)
            "spec_file": (
                spec_file.relative_to(root).as_posix()
                if root in spec_file.parents
                else str(spec_file)
            ),
            "step": 0,
            "weights": {"stable": 100, "canary": 0},
            "counts": {"failures": 0, "errors": 0, "served": 0.0},
            "analysis": [],
            "status": "deploying",
        }
        if resumed is not None:
            self.state.update(
                step=resumed.step,
                weights=dict(resumed.weights),
                counts={
                    "failures": resumed.failures,
                    "errors": resumed.errors,
                    "served": resumed.served,
                },
                status="paused" if resumed.paused else "progressing",
                resumed_from=resumed.left_by,
            )
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
            counts = self.state["counts"]
            if verdict["phase"] == Phase.FAILED:
                counts["failures"] += 1
            elif verdict["phase"] == Phase.ERROR:
                counts["errors"] += 1
            served = details.get("served")  # canary requests judged, over the whole rollout
            if isinstance(served, int | float):
                counts["served"] = float(served)
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
