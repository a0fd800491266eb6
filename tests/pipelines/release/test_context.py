"""One apply's context: what every stage reads, and one ledger entry per decision, named by
spec and environment."""

from __future__ import annotations

from pathlib import Path

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.workspace import Workspace
from pipelines.release.context import ApplyOptions, EnvRelease, ReleaseContext
from stacks.target import Release
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


def test_entries_name_the_spec_and_the_environment(tmp_path: Path) -> None:
    said: list[str] = []
    ws = Workspace.at(tmp_path)
    ctx = ReleaseContext(SPEC, tmp_path / "spec.yaml", ws, ApplyOptions(), said.append)
    assert ctx.name == "credit-risk"
    ctx.record(LedgerKind.GATES, passed=True)
    er = EnvRelease(ctx, SPEC.environments[0], Release("b:1", "models:/credit-risk/3"), None, None)  # type: ignore[arg-type]
    er.record(LedgerKind.DEPLOY, slot="stable")
    er.say(f"{er.where}: deployed")
    entries = list(ledger_of(ws).entries())
    assert [(e.kind, e.spec, e.env) for e in entries] == [
        ("gates", "credit-risk", None),
        ("deploy", "credit-risk", "staging"),
    ]
    assert entries[1].details == {"slot": "stable"}
    assert said == ["credit-risk/staging: deployed"]
    assert ledger_of(ws).verify() == []
