"""The direct strategy on an in-memory target: a release that passes its serving gates stays
and moves the alias; one that fails them brings back what ran before, or leaves nothing when
nothing ran."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from pipelines.approvals.sources import ApprovalCheck
from pipelines.audit.ledger import ledger_of
from pipelines.core.outcomes import Outcome
from pipelines.core.workspace import Workspace
from pipelines.release.context import ApplyOptions, EnvRelease, ReleaseContext
from pipelines.release.direct import direct_release
from stacks.target import Release, Slot, TargetInputs
from tests.fakes.memory_target import MemoryTarget, Script, memory_config, registered
from validators.spec.model import ModelDeployment

SPEC = ModelDeployment.model_validate(
    {
        "apiVersion": "shipyard/v1",
        "kind": "ModelDeployment",
        "metadata": {"name": "credit-risk", "owners": ["@risk-ml"]},
        "model": {"uri": "models:/credit-risk/3"},
        "environments": [{"name": "staging", "target": "local"}],
    }
)
OLD, NEW = Release("svc:old", "models:/credit-risk/2"), Release("svc:new", "models:/credit-risk/3")
ROWS = [{"income": 1.0}] * 5


@pytest.fixture
def aliases(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """The MLflow aliases a promotion sets (the registry is not under test here)."""
    moved: list[tuple[str, str]] = []
    monkeypatch.setattr(
        "pipelines.release.direct.set_alias",
        lambda _ws, release, alias: moved.append((release.model, alias)),
    )
    return moved


def release_to(tmp_path: Path, previous: Release | None) -> tuple[EnvRelease, MemoryTarget]:
    ws = Workspace.at(tmp_path)
    target = MemoryTarget(memory_config(TargetInputs("credit-risk", "staging", ws.state, ws.state)))
    if previous is not None:
        target.deploy(Slot.STABLE, previous)
    ctx = ReleaseContext(SPEC, tmp_path / "spec.yaml", ws, ApplyOptions(), lambda _: None)
    check = ApprovalCheck("digest", [])
    return EnvRelease(ctx, SPEC.environments[0], NEW, target, check, ROWS), target


def fails_for_the_new_model(_slot: str | None, model: str, body: dict[str, Any]) -> Any:
    if model == NEW.model:
        return 500, "model exploded"
    return 200, [0.5] * len(body["rows"])


def test_a_release_that_passes_its_gates_is_live(
    tmp_path: Path, aliases: list[tuple[str, str]]
) -> None:
    with registered():
        er, target = release_to(tmp_path, OLD)
        outcome = direct_release(er, OLD)
    assert outcome.outcome == Outcome.PROMOTED
    assert target.state().slots[Slot.STABLE].release.bento == NEW.bento
    assert aliases == [(NEW.model, "staging")]
    kinds = [e.kind for e in ledger_of(er.ctx.ws).entries()]
    assert kinds == ["deploy", "serving", "promoted"]


def test_a_failing_release_brings_back_the_previous_one(
    tmp_path: Path, aliases: list[tuple[str, str]]
) -> None:
    with registered(fails_for_the_new_model):
        er, target = release_to(tmp_path, OLD)
        outcome = direct_release(er, OLD)
    assert outcome.outcome == Outcome.ROLLED_BACK
    assert outcome.restored == OLD.model
    assert "serving smoke" in outcome.detail
    assert target.state().slots[Slot.STABLE].release.bento == OLD.bento
    assert aliases == []
    rollback = [e for e in ledger_of(er.ctx.ws).entries() if e.kind == "rollback"]
    assert rollback[0].details["restored"] == OLD.model


def test_a_failing_first_release_leaves_nothing_running(
    tmp_path: Path, aliases: list[tuple[str, str]]
) -> None:
    with registered(fails_for_the_new_model) as script:
        er, target = release_to(tmp_path, None)
        outcome = direct_release(er, None)
    assert isinstance(script, Script)
    assert outcome.outcome == Outcome.ROLLED_BACK
    assert outcome.restored is None
    assert script.destroyed == 1
    assert target.state().slots == {}
