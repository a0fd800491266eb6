"""The GitOps loop in a Git repository, end to end on the real engines: a spec change on a
branch gets its plan as a pull request would, a reviewer approves that exact spec, the branch
is merged, and apply runs as CI does (`--base` the previous commit); then an edit made after
the approval is refused as stale."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.core.workspace import Workspace
from tests.fakes.apply import (
    Project,
    Rollout,
    Stack,
    alias,
    deployed,
    entries_since,
    kinds,
    last_seq,
    ledger_verified,
    register_copy,
    shipyard,
    write_spec,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fakes.apply"]

NAME = "gitops-e2e"
SPEC = f"specs/{NAME}.yaml"
REVIEWER = "@compliance"
ROLLOUT = Rollout(weight=50, pause="6s", interval="2s", failure_limit=1, min_requests=30)


def git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    return subprocess.run(
        [*command, *args], capture_output=True, text=True, check=True
    ).stdout.strip()


@dataclass(frozen=True)
class Repo:
    ws: Workspace
    good: str  # the registered version running first
    production: Stack


@pytest.fixture(scope="module")
def repo(apply_project: Project) -> Iterator[Repo]:
    ws, good = apply_project.ws, apply_project.versions["good"]
    spec_file = write_spec(ws, SPEC, NAME, good, ROLLOUT)
    git(ws.root, "checkout", "-q", "-B", "main")
    git(ws.root, "add", SPEC)
    git(ws.root, "commit", "-q", "-m", "credit model v1 behind gitops-e2e")
    with deployed(ws, spec_file, ("staging", "production")) as (_, production):
        yield Repo(ws, good, production)


def test_plan_approve_merge_apply_then_a_later_edit_is_stale(repo: Repo) -> None:
    ws = repo.ws
    first = shipyard(ws, "approve", SPEC, "--env", "production", "--as", REVIEWER)
    assert first.returncode == 0, first.stderr
    initial = shipyard(ws, "apply", SPEC)
    assert initial.returncode == 0, initial.stdout + initial.stderr
    base = git(ws.root, "rev-parse", "HEAD")

    # a pull request: the model moves to a new registered version
    new = register_copy(ws, repo.good)
    git(ws.root, "checkout", "-q", "-b", "new-model")
    spec_file = ws.root / SPEC
    spec_file.write_text(
        spec_file.read_text().replace(f"credit-risk/{repo.good}", f"credit-risk/{new}")
    )
    git(ws.root, "commit", "-q", "-am", f"credit model v{new}")
    head = git(ws.root, "rev-parse", "HEAD")
    plan = shipyard(ws, "plan", "--base", base, "--head", head, "--format", "markdown")
    assert plan.returncode == 0, plan.stdout + plan.stderr
    assert "needs approval from @compliance, @risk-ml" in plan.stdout.splitlines()[1]
    assert (
        f"| `model.uri` | `models:/credit-risk/{repo.good}` | `models:/credit-risk/{new}` |"
        in plan.stdout
    )
    production_row = next(r for r in plan.stdout.splitlines() if "| production | local |" in r)
    assert "🔄 update" in production_row
    assert "canary 50% → pause 6s → 100%" in production_row

    # merging before approval: production waits
    git(ws.root, "checkout", "-q", "main")
    git(ws.root, "merge", "-q", "--ff-only", "new-model")
    waiting = shipyard(ws, "apply", "--base", base, "--head", head)
    assert waiting.returncode == 1, waiting.stdout
    assert "stale (given for spec" in waiting.stdout  # the first approval was for v1's spec
    assert alias(ws, "production") == repo.good

    # the reviewer approves the spec as merged; CI applies the change
    approved = shipyard(ws, "approve", SPEC, "--env", "production", "--as", REVIEWER)
    assert approved.returncode == 0, approved.stderr
    seq = last_seq(ws)
    applied = shipyard(ws, "apply", "--base", base, "--head", head, "--traffic", "40")
    assert applied.returncode == 0, applied.stdout + applied.stderr
    stable = repo.production.stable()
    assert stable is not None
    assert stable.model == f"models:/credit-risk/{new}"
    assert alias(ws, "production") == new
    entries = entries_since(ws, NAME, seq)
    assert kinds(entries, "production")["promoted"] == 1
    approval = next(e for e in entries if e.kind == "approval")
    assert approval.details["approved_by"] == [REVIEWER]
    assert approval.details["digest"] == git(ws.root, "hash-object", SPEC)
    assert approval.details["sources"] == ["shipyard approve"]
    explain = shipyard(ws, "explain", SPEC, "--env", "production")
    assert explain.returncode == 0, explain.stderr
    story = explain.stdout
    assert story.startswith(f"{NAME}/production: models:/credit-risk/{new} — RUNNING NOW"), story
    assert f"commit     {head}" in story  # the build's git SHA
    assert "approved   by @compliance (shipyard approve)" in story
    assert "trained on data/credit/train.csv" in story
    assert f"models:/credit-risk/{repo.good} — replaced by models:/credit-risk/{new}" in story

    # an edit after the approval: the approval is stale, production is not touched
    spec_file.write_text(spec_file.read_text().replace("max_batch_size: 64", "max_batch_size: 32"))
    git(ws.root, "commit", "-q", "-am", "smaller batches")
    edited = shipyard(ws, "apply", "--base", head, "--head", "HEAD")
    assert edited.returncode == 1, edited.stdout
    assert "waiting for approval" in edited.stdout
    assert "@compliance: stale" in edited.stdout
    assert repo.production.stable() == stable
    verify = ledger_verified(ws)
    assert verify.returncode == 0, verify.stdout
