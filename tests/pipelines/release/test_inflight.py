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

from pipelines.approvals.rules import Approval
from pipelines.approvals.sources import ApprovalCheck
from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.outcomes import Outcome
from pipelines.core.signals import Interrupted, interruptible
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from pipelines.release.canary import canary_release
from pipelines.release.context import ApplyOptions, EnvRelease, ReleaseContext
from pipelines.release.environment import reconcile_environment
from pipelines.release.inflight import ResumePoint, Tracked, owner, resume_point
from pipelines.release.rollback import RECOVERED
from pipelines.state.store import open_store
from stacks.target import Release, Slot
from tests.fakes.memory_target import NAME, registered
from tests.pipelines.release.test_environment import SPEC, STABLE
from validators.spec.model import ModelDeployment
from validators.spec.resolved import ResolvedAnalysis, ResolvedRollout, ResolvedStep

NEW = Release("svc:3", "models:/credit-risk/3")
ROWS = [{"income": 1000.0 * i, "age": 30 + i} for i in range(20)]
LONG = ResolvedRollout(
    strategy="canary",
    steps=(ResolvedStep(weight=10), ResolvedStep(analysis_s=30.0), ResolvedStep(weight=100)),
    analysis=ResolvedAnalysis(interval_s=0.1, failure_limit=3, min_requests=1),
)


def release_of(tmp_path: Path, said: list[str], spec: ModelDeployment = SPEC) -> EnvRelease:
    ws = Workspace.at(tmp_path)
    ctx = ReleaseContext(spec, tmp_path / "spec.yaml", ws, ApplyOptions(), said.append)
    target = target_for(spec, "production", ws)
    target.deploy(Slot.STABLE, STABLE)
    return EnvRelease(ctx, spec.environments[0], NEW, target, ApprovalCheck("d", []), ROWS)


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


LEFT = {
    "owner": "runner-7 pid 4242",
    "release": {"bento": NEW.bento, "model": NEW.model},
    "step": 1,
    "weights": {"stable": 90, "canary": 10},
    "counts": {"failures": 1, "errors": 0, "served": 7.0},
    "status": "progressing",
}


def test_a_left_rollout_of_the_same_release_with_its_canary_answering_is_resumable() -> None:
    point, why = resume_point(LEFT, NEW.bento, NEW.bento, canary_ready=True)
    assert why == ""
    assert point == ResumePoint(
        step=1,
        weights={"stable": 90, "canary": 10},
        failures=1,
        served=7.0,
        left_by="runner-7 pid 4242",
    )
    paused, _ = resume_point({**LEFT, "status": "paused"}, NEW.bento, NEW.bento, True)
    assert paused is not None
    assert paused.paused


@pytest.mark.parametrize(
    ("left", "canary", "ready", "why"),
    [
        (None, NEW.bento, True, "no rollout record"),
        ({**LEFT, "release": {"bento": "svc:9"}}, NEW.bento, True, "it rolled out svc:9"),
        (LEFT, None, True, "its canary no longer runs"),
        (LEFT, "svc:9", True, "the canary runs svc:9"),
        ({**LEFT, "status": "promoting"}, NEW.bento, True, "it was promoting"),
        ({**LEFT, "status": "deploying", "step": 0}, NEW.bento, True, "it was deploying"),
        ({**LEFT, "step": 0}, NEW.bento, True, "had not reached its first step"),
        (LEFT, NEW.bento, False, "its canary does not answer"),
    ],
)
def test_a_left_rollout_is_not_resumed_when(
    left: dict[str, Any] | None, canary: str | None, ready: bool, why: str
) -> None:
    point, said = resume_point(left, NEW.bento, canary, ready)
    assert point is None
    assert why in said


def _left_canary(er: EnvRelease, record: dict[str, Any]) -> None:
    er.target.deploy(Slot.CANARY, NEW)
    er.target.set_weights({Slot.STABLE: 90, Slot.CANARY: 10})
    open_store(er.ctx.ws.state_url).put_rollout(
        "credit-risk", "production", "runner-7 pid 4242", record
    )


CANARY_SPEC = ModelDeployment.model_validate(
    {
        **SPEC.model_dump(mode="json", by_alias=True, exclude_none=True),
        "environments": [
            {
                "name": "production",
                "target": NAME,
                "approvals": [{"required": 1, "from": ["@risk-ml"]}],
                "rollout": {
                    "strategy": "canary",
                    "steps": [{"weight": 10}, {"pause": "1s"}, {"weight": 100}],
                    "analysis": {"interval": "0.2s", "failure_limit": 3, "min_requests": 1},
                },
            }
        ],
    },
    context={"targets": (NAME,)},
)


def test_the_next_apply_of_the_same_release_resumes_a_dead_runs_canary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # no Bento nor MLflow model exists here: the signature check (release/verify.py) and the
    # alias moved on promotion (release/alias.py) are tested on real ones elsewhere
    monkeypatch.setattr("pipelines.release.environment.verify_artifact", lambda *_: None)
    monkeypatch.setattr("pipelines.release.canary.set_alias", lambda *_: None)
    said: list[str] = []
    ws = Workspace.at(tmp_path)
    with registered():
        er = release_of(tmp_path, said, CANARY_SPEC)
        _left_canary(er, {**LEFT, "counts": {"failures": 0, "errors": 0, "served": 7.0}})
        check = ApprovalCheck("d", [Approval("@risk-ml", "d", "--approved-by")])
        outcome = reconcile_environment(er.ctx, CANARY_SPEC.environments[0], NEW, [], check)
        state = er.target.state()
    assert outcome.outcome == Outcome.PROMOTED, said
    kinds = [e.kind for e in ledger_of(ws).entries()]
    assert LedgerKind.RESUMED in kinds
    assert LedgerKind.DEPLOY not in kinds[: kinds.index(LedgerKind.RESUMED)]  # not redeployed
    assert LedgerKind.ROLLBACK not in kinds
    (resumed,) = ledger_of(ws).entries(kinds=(LedgerKind.RESUMED,))
    assert (resumed.details["step"], resumed.details["left_by"]) == (1, "runner-7 pid 4242")
    steps = [e.details["step"] for e in ledger_of(ws).entries(kinds=(LedgerKind.STEP,))]
    assert steps == [3]  # step 1 was done; step 2's analysis ran again
    assert state.slots[Slot.STABLE].release == NEW
    assert open_store(ws.state_url).rollout("credit-risk", "production") is None
    assert any("RESUMED the canary" in line and "after step 1 of 3" in line for line in said)


def test_a_left_canary_of_another_release_is_recovered_not_resumed(tmp_path: Path) -> None:
    said: list[str] = []
    with registered():
        er = release_of(tmp_path, said)
        _left_canary(er, {**LEFT, "release": {"bento": "svc:9", "model": "m"}})
        reconcile_environment(er.ctx, SPEC.environments[0], NEW, [], ApprovalCheck("d", []))
    kinds = [e.kind for e in ledger_of(er.ctx.ws).entries()]
    assert LedgerKind.RESUMED not in kinds
    assert kinds[0] == LedgerKind.ROLLBACK
    assert any("not resumed: it rolled out svc:9" in line for line in said)


def test_a_resumable_canary_whose_approval_is_gone_goes_back_to_stable(tmp_path: Path) -> None:
    with registered():
        er = release_of(tmp_path, [])
        _left_canary(er, LEFT)
        outcome = reconcile_environment(
            er.ctx, SPEC.environments[0], NEW, [], ApprovalCheck("d", [])
        )
        state = er.target.state()
    assert outcome.outcome == Outcome.BLOCKED
    assert state.weights == {Slot.STABLE: 100}
    assert Slot.CANARY not in state.slots
    assert open_store(er.ctx.ws.state_url).rollout("credit-risk", "production") is None
