"""Reconciling one environment, before anything new is deployed: a canary a dead run left is
taken out first, and missing approvals block the release with a ledger entry saying why."""

from __future__ import annotations

from pathlib import Path

from pipelines.approvals.sources import ApprovalCheck
from pipelines.audit.ledger import ledger_of
from pipelines.core.outcomes import Outcome
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from pipelines.release.context import ApplyOptions, ReleaseContext
from pipelines.release.environment import reconcile_environment
from pipelines.release.rollback import RECOVERED
from stacks.target import Release, Slot
from tests.fakes.memory_target import NAME, registered
from validators.spec.model import ModelDeployment

SPEC = ModelDeployment.model_validate(
    {
        "apiVersion": "shipyard/v1",
        "kind": "ModelDeployment",
        "metadata": {"name": "credit-risk", "owners": ["@risk-ml"]},
        "model": {"uri": "models:/credit-risk/3"},
        "environments": [
            {
                "name": "production",
                "target": NAME,
                "approvals": [{"required": 1, "from": ["@risk-ml"]}],
            }
        ],
    },
    context={"targets": (NAME,)},
)
STABLE, CANARY = (
    Release("svc:2", "models:/credit-risk/2"),
    Release("svc:9", "models:/credit-risk/9"),
)
NEW = Release("svc:3", "models:/credit-risk/3")


def test_a_dead_runs_canary_is_taken_out_and_missing_approvals_block(tmp_path: Path) -> None:
    said: list[str] = []
    ws = Workspace.at(tmp_path)
    ctx = ReleaseContext(SPEC, tmp_path / "spec.yaml", ws, ApplyOptions(), said.append)
    with registered():
        target = target_for(SPEC, "production", ws)
        target.deploy(Slot.STABLE, STABLE)
        target.deploy(Slot.CANARY, CANARY)
        target.set_weights({Slot.STABLE: 90, Slot.CANARY: 10})  # where the dead run stopped
        outcome = reconcile_environment(ctx, SPEC.environments[0], NEW, [], ApprovalCheck("d", []))
        state = target_for(SPEC, "production", ws).state()
    assert outcome.outcome == Outcome.BLOCKED
    assert "@risk-ml" in outcome.detail
    assert list(state.slots) == [Slot.STABLE]
    assert state.slots[Slot.STABLE].release == STABLE
    assert state.weights == {Slot.STABLE: 100}
    entries = list(ledger_of(ws).entries())
    assert (entries[0].kind, entries[0].details["reason"]) == ("rollback", RECOVERED)
    assert entries[1].kind == "blocked"
    assert entries[1].details["digest"] == "d"
    assert any("waiting for approval" in line for line in said)
