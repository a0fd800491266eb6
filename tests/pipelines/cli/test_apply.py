"""`shipyard apply`'s arguments: SPEC paths or `--base` (the specs a commit range changed),
never both; `--head` is the commit checked out. The releases themselves are the apply
integration tests'."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from pipelines.cli import apply
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import local_spec, project


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    git(tmp_path, "init", "-q")
    git(tmp_path, "add", "-A")
    git(tmp_path, "commit", "-qm", "specs")
    return tmp_path


def test_paths_and_base_together_are_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = shipyard(capsys, "-C", str(tmp_path), "apply", "specs/a.yaml", "--base", "HEAD~1")
    assert (ran.code, ran.err) == (2, "error: give either SPEC paths or --base, not both\n")


def test_head_without_base_is_refused_for_local_approvals(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = shipyard(capsys, "-C", str(tmp_path), "apply", "--head", "abc123")
    assert (ran.code, ran.err) == (2, "error: --head needs --base (or --approvals github)\n")


def test_no_spec_changed_since_base_is_nothing_to_apply(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ran = shipyard(capsys, "-C", str(repo), "apply", "--base", "HEAD")
    assert (ran.code, ran.out) == (0, "no spec added or changed since HEAD: nothing to apply\n")


def test_json_is_the_only_thing_on_stdout_and_the_progress_goes_to_stderr(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (repo / "specs" / "credit.yaml").unlink()
    git(repo, "commit", "-qam", "credit retired")
    ran = shipyard(capsys, "-C", str(repo), "apply", "--base", "HEAD~1", "--format", "json")
    assert ran.code == 0
    assert json.loads(ran.out) == {"specs": [], "ok": True, "exit_code": 0}
    assert ran.err.splitlines() == [
        "specs/credit.yaml: removed from the repository; its environments keep running",
        "  to remove them: shipyard destroy specs/credit.yaml --env ENV (at HEAD~1)",
        "no spec added or changed since HEAD~1: nothing to apply",
    ]
    text = shipyard(capsys, "-C", str(repo), "apply", "--base", "HEAD~1")
    assert (text.out.splitlines(), text.err) == (ran.err.splitlines(), "")


def test_head_must_be_the_commit_checked_out(
    repo: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = git(repo, "rev-parse", "HEAD")
    (repo / "specs" / "credit.yaml").write_text(local_spec("credit").replace("/1", "/2"))
    git(repo, "commit", "-qam", "v2")
    second = git(repo, "rev-parse", "HEAD")
    git(repo, "checkout", "-q", first)
    ran = shipyard(capsys, "-C", str(repo), "apply", "--base", first, "--head", second)
    assert ran.code == 2
    assert ran.err.splitlines() == [
        f"error: --head {second} is not the commit checked out; apply deploys the working tree",
        f"  hint: git checkout {second} first (CI checks out the pushed commit)",
    ]


def test_arguments() -> None:
    args = parse(apply, "specs/a.yaml", "--approved-by", "@risk", "--approved-by", "@ml")
    assert args.paths == [Path("specs/a.yaml")]
    assert args.approved_by == ["@risk", "@ml"]
    assert (args.approvals, args.lock_timeout, args.traffic) == ("local", 900, 0)
    assert (args.base, args.head, args.env, args.format) == (None, None, None, "text")
    args = parse(apply, "--base", "HEAD~1", "--env", "production", "--traffic", "60")
    assert (args.paths, args.base, args.env, args.traffic) == ([], "HEAD~1", "production", 60.0)
    assert parse(apply, "--format", "json").format == "json"
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(apply, "--approvals", "slack")
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(apply, "--format", "yaml")
