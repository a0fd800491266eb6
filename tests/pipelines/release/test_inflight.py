"""A canary keeps its in-flight record in the state store while it runs (release, step,
weights, verdicts, owner); SIGTERM mid-canary puts all traffic on stable at once, records
`interrupted` and removes the record; a record a dead run left — on any machine sharing the
store — is recovered by the next apply before anything else."""

from __future__ import annotations

import os
import signal
import socket
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from pipelines.approvals.sources import ApprovalCheck
from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.outcomes import Outcome
from pipelines.core.signals import Interrupted, interruptible
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from pipelines.release.canary import canary_release
from pipelines.release.context import ApplyOptions, EnvRelease, ReleaseContext
from pipelines.release.environment import reconcile_environment
from pipelines.release.inflight import Tracked, owner
from pipelines.release.rollback import RECOVERED
from pipelines.state.store import open_store
from stacks.target import Release, Slot
from tests.fakes.memory_target import registered
from tests.pipelines.release.test_environment import SPEC, STABLE
from validators.spec.resolved import ResolvedAnalysis, ResolvedRollout, ResolvedStep

NEW = Release("svc:3", "models:/credit-risk/3")
ROWS = [{"income": 1000.0 * i, "age": 30 + i} for i in range(20)]
LONG = ResolvedRollout(
    strategy="canary",
    steps=(ResolvedStep(weight=10), ResolvedStep(analysis_s=30.0), ResolvedStep(weight=100)),
    analysis=ResolvedAnalysis(interval_s=0.1, failure_limit=3, min_requests=1),
)


def release_of(tmp_path: Path, said: list[str]) -> EnvRelease:
    ws = Workspace.at(tmp_path)
    ctx = ReleaseContext(SPEC, tmp_path / "spec.yaml", ws, ApplyOptions(), said.append)
    target = target_for(SPEC, "production", ws)
    target.deploy(Slot.STABLE, STABLE)
    return EnvRelease(ctx, SPEC.environments[0], NEW, target, ApprovalCheck("d", []), ROWS)


def test_sigterm_mid_canary_restores_stable_records_it_and_clears_the_record(
    tmp_path: Path,
) -> None:
    said: list[str] = []
    seen: list[dict[str, Any] | None] = []
    store = open_store(Workspace.at(tmp_path).state_url)

    def stop_it() -> None:  # as CI cancelling the job: once the 10% canary was judged
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            record = store.rollout("credit-risk", "production")
            if record and record["analysis"]:
                break
            time.sleep(0.05)
        seen.append(record)
        os.kill(os.getpid(), signal.SIGTERM)

    with registered():
        er = release_of(tmp_path, said)
        timer = threading.Thread(target=stop_it)
        timer.start()
        with pytest.raises(Interrupted, match="by SIGTERM") as stop, interruptible():
            canary_release(er, LONG)
        timer.join()
        state = er.target.state()
    assert stop.value.exit_code == 143
    (during,) = seen
    assert during is not None
    assert (during["step"], during["weights"], during["status"]) == (
        1,
        {"stable": 90, "canary": 10},
        "progressing",
    )
    assert during["owner"] == owner() == f"{socket.gethostname()} pid {os.getpid()}"
    assert during["release"] == {"bento": NEW.bento, "model": NEW.model}
    assert during["analysis"]
    assert during["analysis"][-1]["phase"]
    assert state.weights == {Slot.STABLE: 100}
    assert list(state.slots) == [Slot.STABLE]
    (entry,) = ledger_of(er.ctx.ws).entries(kinds=(LedgerKind.INTERRUPTED,))
    assert (entry.details["signal"], entry.details["step"]) == ("SIGTERM", 1)
    assert entry.details["switch_s"] < 1.0
    assert store.rollout("credit-risk", "production") is None
    assert any("SIGTERM: all traffic back on stable" in line for line in said)


def test_a_record_left_by_another_machine_is_recovered_first(tmp_path: Path) -> None:
    said: list[str] = []
    ws = Workspace.at(tmp_path)
    store = open_store(ws.state_url)
    with registered():
        er = release_of(tmp_path, said)
        er.target.deploy(Slot.CANARY, Release("svc:9", "models:/credit-risk/9"))
        er.target.set_weights({Slot.STABLE: 50, Slot.CANARY: 50})
        left = {"release": {"bento": "svc:9", "model": "models:/credit-risk/9"}, "step": 3}
        store.put_rollout("credit-risk", "production", "runner-7 pid 4242", left)
        outcome = reconcile_environment(
            er.ctx, SPEC.environments[0], NEW, [], ApprovalCheck("d", [])
        )
        state = er.target.state()
    assert outcome.outcome == Outcome.BLOCKED  # the spec wants an approval: nothing new ran
    assert state.weights == {Slot.STABLE: 100}
    first, *_ = ledger_of(ws).entries()
    assert (first.kind, first.details["reason"]) == (LedgerKind.ROLLBACK, RECOVERED)
    assert first.details["left"]["owner"] == "runner-7 pid 4242"
    assert store.rollout("credit-risk", "production") is None
    assert any("runner-7 pid 4242, models:/credit-risk/9 at step 3" in line for line in said)


def test_a_record_without_a_canary_is_cleared_and_recorded(tmp_path: Path) -> None:
    ws = Workspace.at(tmp_path)
    store = open_store(ws.state_url)
    with registered():
        er = release_of(tmp_path, [])
        store.put_rollout("credit-risk", "production", "runner-7 pid 4242", {"step": 2})
        reconcile_environment(er.ctx, SPEC.environments[0], NEW, [], ApprovalCheck("d", []))
    first, *_ = ledger_of(ws).entries()
    assert first.kind == LedgerKind.RECOVERED
    assert "runner-7 pid 4242" in first.details["reason"]
    assert store.rollout("credit-risk", "production") is None


def test_tracked_records_steps_and_keeps_the_newest_verdicts(tmp_path: Path) -> None:
    with registered():
        er = release_of(tmp_path, [])
        tracked = Tracked(er)
        tracked(LedgerKind.STEP, step=1, weight=25)
        for _ in range(25):
            tracked(LedgerKind.ANALYSIS, phase="Successful", reasons=[], values={})
        tracked(LedgerKind.DEPLOY, slot="canary")  # not a rollout move: the record stays
        record = open_store(er.ctx.ws.state_url).rollout("credit-risk", "production")
        assert record is not None
        assert record["weights"] == {"stable": 75, "canary": 25}
        assert len(record["analysis"]) == 20
        tracked.done()
        assert open_store(er.ctx.ws.state_url).rollout("credit-risk", "production") is None
