"""Revert proposals after a rollback: the text on literals, the branch in a temporary repo."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
import yaml

from pipelines.audit.ledger import ledger_of
from pipelines.core.workspace import Workspace
from pipelines.release.revert import ProposalError, make_proposal, propose_revert, proposed_text
from validators.spec.model import ModelDeployment

SPEC = """\
# the service's spec
apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {name: credit-risk, owners: ["@risk-ml"]}
model:
  uri: models:/credit-risk/2   # the new version
service: {workers: 2}
environments:
  - {name: production, target: local}
"""
BEFORE = SPEC.replace("credit-risk/2   # the new version", "credit-risk/1").replace(
    "workers: 2", "workers: 1"
)


def spec_of(text: str) -> ModelDeployment:
    return ModelDeployment.model_validate(yaml.safe_load(text))


def test_the_previous_version_is_restored_when_it_asked_for_what_runs() -> None:
    text, how = proposed_text(
        SPEC, "models:/credit-risk/2", "models:/credit-risk/1", ("a1b2c3d4e5", BEFORE)
    )
    assert text == BEFORE
    assert how == "restores the spec as of a1b2c3d"


def test_otherwise_only_the_model_uri_goes_back_and_comments_stay() -> None:
    elsewhere = BEFORE.replace("credit-risk/1", "credit-risk/0")
    text, how = proposed_text(
        SPEC, "models:/credit-risk/2", "models:/credit-risk/1", ("f00", elsewhere)
    )

    assert how == "sets model.uri back to models:/credit-risk/1"
    assert text == SPEC.replace("credit-risk/2   #", "credit-risk/1   #")
    flow = 'model: {uri: "models:/credit-risk@champion"}\n'
    assert proposed_text(flow, "models:/credit-risk@champion", "models:/credit-risk/4")[0] == (
        'model: {uri: "models:/credit-risk/4"}\n'
    )
    with pytest.raises(ProposalError, match="not found as written"):
        proposed_text(SPEC, "models:/other/2", "models:/credit-risk/1")


def test_the_proposal_says_why_and_its_patch_applies() -> None:
    proposal = make_proposal(
        spec_of(SPEC),
        "specs/credit-risk.yaml",
        SPEC,
        "production",
        "models:/credit-risk/2",
        "models:/credit-risk/1",
        "canary error rate 12% > 1%",
    )
    assert proposal.message.splitlines()[0] == (
        "Revert credit-risk to models:/credit-risk/1: production rolled models:/credit-risk/2 back"
    )
    assert "canary error rate 12% > 1%" in proposal.message
    assert proposal.patch().splitlines()[:2] == [
        "--- a/specs/credit-risk.yaml",
        "+++ b/specs/credit-risk.yaml",
    ]
    assert "-  uri: models:/credit-risk/2   # the new version" in proposal.patch()
    assert "+  uri: models:/credit-risk/1   # the new version" in proposal.patch()


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q", "-b", "main")
    git(tmp_path, "config", "user.email", "dev@example.com")
    git(tmp_path, "config", "user.name", "Dev")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "credit-risk.yaml").write_text(BEFORE, encoding="utf-8")
    (tmp_path / "README.md").write_text("hello\n", encoding="utf-8")
    (tmp_path / ".gitignore").write_text(".shipyard/\n", encoding="utf-8")  # as `shipyard init`
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "v1")
    (tmp_path / "specs" / "credit-risk.yaml").write_text(SPEC, encoding="utf-8")
    git(tmp_path, "commit", "-q", "-am", "v2")
    return tmp_path


def propose(root: Path) -> str:
    return propose_revert(
        Workspace.at(root),
        spec_of(SPEC),
        root / "specs" / "credit-risk.yaml",
        "production",
        "models:/credit-risk/2",
        "models:/credit-risk/1",
        "canary failed",
    )


def test_a_revert_branch_is_made_without_touching_the_checkout(repo: Path) -> None:
    (repo / "README.md").write_text("an uncommitted edit\n", encoding="utf-8")
    (repo / "notes.txt").write_text("untracked\n", encoding="utf-8")
    head, status = git(repo, "rev-parse", "HEAD"), git(repo, "status", "--porcelain")

    said = propose(repo)

    branch = f"shipyard/revert-credit-risk-{head[:7]}"
    assert f"branch {branch}" in said
    assert "restores the spec as of" in said
    assert git(repo, "rev-parse", "HEAD") == head
    assert git(repo, "branch", "--show-current") == "main"
    assert git(repo, "status", "--porcelain") == status
    assert (repo / "specs" / "credit-risk.yaml").read_text(encoding="utf-8") == SPEC
    assert git(repo, "rev-parse", f"{branch}^") == head
    assert git(repo, "show", f"{branch}:specs/credit-risk.yaml") + "\n" == BEFORE
    assert git(repo, "show", f"{branch}:README.md") == "hello"  # HEAD's, not the edit
    assert git(repo, "log", "-1", "--format=%an %s", branch) == (
        "Dev Revert credit-risk to models:/credit-risk/1: production rolled "
        "models:/credit-risk/2 back"
    )
    patch = repo / ".shipyard" / "proposals" / f"revert-credit-risk-{head[:7]}.patch"
    git(repo, "apply", "--check", str(patch))
    (entry,) = ledger_of(Workspace.at(repo)).entries()
    assert (entry.kind, entry.details["branch"]) == ("proposal", branch)

    assert "it exists already" not in said
    assert f"branch {branch}" in propose(repo)  # a re-run keeps the branch it made


def test_an_uncommitted_spec_gets_a_patch_but_no_branch(repo: Path) -> None:
    edited = SPEC.replace("workers: 2", "workers: 3")
    (repo / "specs" / "credit-risk.yaml").write_text(edited, encoding="utf-8")

    said = propose(repo)

    assert "no branch (specs/credit-risk.yaml has uncommitted changes" in said
    assert "sets model.uri back to models:/credit-risk/1" in said  # HEAD asks for v2 too
    assert git(repo, "branch", "--list", "shipyard/*") == ""
    patch = next((repo / ".shipyard" / "proposals").glob("*.patch"))
    git(repo, "apply", "--check", str(patch))


def test_outside_git_the_patch_is_written(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "credit-risk.yaml").write_text(SPEC, encoding="utf-8")

    said = propose(tmp_path)

    assert (
        "sets model.uri back to models:/credit-risk/1: no branch (not in a Git repository "
        "with a commit)" in said
    )
    patch = tmp_path / ".shipyard" / "proposals" / "revert-credit-risk-worktree.patch"
    assert "+  uri: models:/credit-risk/1" in patch.read_text(encoding="utf-8")


def test_an_untracked_spec_gets_a_patch_but_no_branch(repo: Path) -> None:
    (repo / "variants").mkdir()
    (repo / "variants" / "v2.yaml").write_text(SPEC, encoding="utf-8")

    said = propose_revert(
        Workspace.at(repo),
        spec_of(SPEC),
        repo / "variants" / "v2.yaml",
        "staging",
        "models:/credit-risk/2",
        "models:/credit-risk/1",
        "serving gates failed",
    )

    assert "no branch (variants/v2.yaml is not committed)" in said
    assert git(repo, "branch", "--list", "shipyard/*") == ""
