"""The agent demo's team repository: a bare repository and a developer clone holding what an
apply of the demo spec reads, first without the spec; a push is the spec at a version,
approved for production at that file's digest. (The story itself, end to end:
tests/pipelines/demo/test_story.py.)"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from pipelines.approvals.rules import spec_digest
from pipelines.approvals.sources import local_approvals
from pipelines.core.workspace import Workspace
from pipelines.demo.agent import push_version, team_files, team_repository


def _show(remote: Path, what: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(remote), *what.split()], capture_output=True, text=True, check=True
    )
    return done.stdout


@pytest.fixture
def ws(tmp_path: Path, repo: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.delenv("SHIPYARD_STATE_URL", raising=False)
    for relative in team_files(Workspace.at(repo)):
        (tmp_path / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(repo / relative, tmp_path / relative)
    return Workspace.at(tmp_path)


def test_the_team_repository_starts_without_the_spec(ws: Workspace) -> None:
    said: list[str] = []
    team = team_repository(ws, said.append)
    files = _show(team.remote, "ls-tree -r --name-only main").split()
    assert "specs/credit-risk.yaml" not in files
    assert "validators/suites/credit.yaml" in files
    assert _show(team.remote, "rev-list --count main").strip() == "1"
    assert str(team.remote) in said[0]


def test_a_push_is_the_spec_at_that_version_approved_at_its_digest(ws: Workspace) -> None:
    team = team_repository(ws, lambda _: None)
    said: list[str] = []
    sha = push_version(ws, team, "5", "serve v5", said.append)
    pushed = _show(team.remote, "show main:specs/credit-risk.yaml")
    assert "uri: models:/credit-risk/5" in pushed
    assert _show(team.remote, "rev-parse main").strip() == sha
    (approval,) = local_approvals(ws, "credit-risk")
    assert (approval.who, approval.env) == ("@risk-ml", "production")
    assert approval.digest == spec_digest(pushed.encode())
    assert any("git push origin main" in line for line in said)
