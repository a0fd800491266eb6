"""`shipyard plan --base --head` in the demo project's Git repository: the change between two
commits, per environment, with the offline gates of the changed spec, a `pulumi preview`,
and the comment Markdown; bad input at head is a clear error."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult
from pipelines.report.markdown import MARKER

pytestmark = pytest.mark.integration
SHIPYARD = Path(sys.executable).with_name("shipyard")
SPEC = "specs/credit-risk.yaml"


@dataclass(frozen=True)
class Revs:
    ws: Workspace
    base: str
    head: str  # the model moves to v4 (drifted) and workers from 2 to 1
    bad: str  # the spec at head has a typo'd field


def git(root: Path, *args: str) -> str:
    result = subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def commit(root: Path, text: str, message: str) -> str:
    (root / SPEC).write_text(text, encoding="utf-8")
    git(root, "add", SPEC)
    git(root, "commit", "-q", "--allow-empty", "-m", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture(scope="module")
def revs(demo: tuple[Workspace, InitResult]) -> Revs:
    """Three commits of the demo spec; the working tree is left as it was."""
    ws, _ = demo
    original = (ws.root / SPEC).read_text(encoding="utf-8")
    git(ws.root, "add", "specs", "validators")
    base = commit(ws.root, original, "base")
    changed = original.replace("models:/credit-risk/1", "models:/credit-risk/4")
    head = commit(ws.root, changed.replace("workers: 2", "workers: 1"), "v4")
    bad = commit(ws.root, changed.replace("max_regression: 0.04", "max_regresion: 0.04"), "typo")
    commit(ws.root, original, "back")
    return Revs(ws, base, head, bad)


def plan(revs: Revs, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(SHIPYARD), "-C", str(revs.ws.root), "plan", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_the_comment_says_what_changes_per_environment_and_why_it_is_not_safe(
    revs: Revs,
) -> None:
    result = plan(revs, "--base", revs.base, "--head", revs.head, "--format", "markdown")

    assert result.returncode == 1, result.stderr  # v4 fails its drift gate
    text = result.stdout
    assert text.startswith(MARKER + "\n### ❌ Shipyard plan: `credit-risk` — gates fail")
    assert "needs approval from @compliance, @risk-ml" in text.splitlines()[1]
    assert "1 spec(s) changed" in text
    rows = [line for line in text.splitlines() if line.startswith("| **credit-risk** | changed")]
    assert len(rows) == 2, text
    assert "| staging | local |" in rows[0]
    assert "| production | local |" in rows[1]
    assert "1 of @risk-ml, @compliance" in rows[1]
    assert "| `model.uri` | `models:/credit-risk/1` | `models:/credit-risk/4` |" in text
    assert "| `service.workers` | `2` | `1` |" in text
    assert "BentoServer bento-stable create" in text  # the preview of the first deploy
    assert "❌ utilization" in text  # the drift gate names the drifting feature


def test_json_lists_the_changed_fields_gates_and_previews(revs: Revs) -> None:
    result = plan(
        revs, "--base", revs.base, "--head", revs.head, "--format", "json", "--no-preview"
    )

    assert result.returncode == 1, result.stderr
    data = json.loads(result.stdout)
    (spec,) = data["specs"]
    assert spec["name"] == "credit-risk"
    assert {c["path"] for c in spec["changes"]} == {"model.uri", "service.workers"}
    assert [e["name"] for e in spec["envs"]] == ["staging", "production"]
    assert data["gates"]["credit-risk"]["passed"] is False
    assert data["previews"] == {}


def test_no_spec_change_plans_nothing(revs: Revs) -> None:
    result = plan(revs, "--base", revs.head, "--head", revs.head, "--no-preview")

    assert result.returncode == 0, result.stderr
    assert "no spec changes" in result.stdout


def test_a_bad_spec_at_head_is_reported_with_file_line_and_field(revs: Revs) -> None:
    result = plan(revs, "--base", revs.base, "--head", revs.bad, "--no-preview")

    assert result.returncode == 2, result.stdout
    assert "specs/credit-risk.yaml:23:" in result.stderr
    assert "max_regresion" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unknown_revision_says_how_to_fetch_it(revs: Revs) -> None:
    result = plan(revs, "--base", "no-such-rev", "--no-preview")

    assert result.returncode == 2
    assert "fetch-depth: 0" in result.stderr
    assert "Traceback" not in result.stderr
