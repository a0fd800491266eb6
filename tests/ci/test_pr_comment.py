"""`.ci/pr-comment` posts the plan as one PR comment, or edits the one it posted before.

A fake `gh`, first on PATH, records every call (arguments and standard input) and answers the
comment listing with pages of canned comments, as `gh api --paginate` prints them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

MARKER = "<!-- shipyard:plan -->"
REPO = "acme/models"
PR = "42"
PLAN = f"{MARKER}\n### ✅ Shipyard plan: 1 spec passes its gates\n\n| Spec |\n|---|\n"

FAKE_GH = """\
#!{python}
import json, os, sys
args = sys.argv[1:]
method = args[args.index("--method") + 1] if "--method" in args else "GET"
stdin = sys.stdin.read() if "--input" in args else ""
with open(os.environ["FAKE_GH_LOG"], "a") as log:
    log.write(json.dumps({{"args": args, "method": method, "stdin": stdin}}) + "\\n")
if method == "GET":
    for page in json.load(open(os.environ["FAKE_GH_PAGES"])):
        print(json.dumps(page))
else:
    print(json.dumps({{"id": 1}}))
"""


def comment(id_: int, body: str) -> dict[str, Any]:
    return {"id": id_, "body": body, "user": {"login": "github-actions[bot]"}}


def run_script(
    repo: Path,
    tmp_path: Path,
    pages: list[list[dict[str, Any]]],
    body: str | None = PLAN,
    env: dict[str, str] | None = None,
    stderr: str | None = None,
) -> tuple[subprocess.CompletedProcess[str], list[dict[str, Any]]]:
    fakes = tmp_path / "bin"
    fakes.mkdir()
    (fakes / "gh").write_text(FAKE_GH.format(python=sys.executable), encoding="utf-8")
    (fakes / "gh").chmod(0o755)
    (tmp_path / "pages.json").write_text(json.dumps(pages), encoding="utf-8")
    args = [str(tmp_path / "plan.md")]
    if body is not None:
        (tmp_path / "plan.md").write_text(body, encoding="utf-8")
    if stderr is not None:
        (tmp_path / "plan.err").write_text(stderr, encoding="utf-8")
        args.append(str(tmp_path / "plan.err"))
    log = tmp_path / "gh.log"
    result = subprocess.run(
        ["bash", str(repo / ".ci" / "pr-comment"), *args],
        env={
            "PATH": f"{fakes}:/usr/bin:/bin",
            "FAKE_GH_LOG": str(log),
            "FAKE_GH_PAGES": str(tmp_path / "pages.json"),
            "GITHUB_REPOSITORY": REPO,
            "PR_NUMBER": PR,
            "GH_TOKEN": "fake-token",
            **(env or {}),
        },
        capture_output=True,
        text=True,
    )
    calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return result, calls


def listing(call: dict[str, Any]) -> None:
    assert call["method"] == "GET"
    assert call["args"] == ["api", "--paginate", f"repos/{REPO}/issues/{PR}/comments?per_page=100"]


def test_an_existing_plan_comment_is_edited(repo: Path, tmp_path: Path) -> None:
    pages = [
        [comment(11, "LGTM"), comment(12, f"quoting the bot:\n{MARKER}")],
        [comment(13, f"{MARKER}\nold plan"), comment(14, f"{MARKER}\nan even older one")],
    ]
    result, calls = run_script(repo, tmp_path, pages)
    assert result.returncode == 0, result.stderr
    assert len(calls) == 2
    listing(calls[0])
    assert calls[1]["method"] == "PATCH"
    assert calls[1]["args"][-3:] == [f"repos/{REPO}/issues/comments/13", "--input", "-"]
    assert json.loads(calls[1]["stdin"]) == {"body": PLAN}
    assert f"updated comment 13 on {REPO}#{PR}" in result.stdout


def test_without_a_plan_comment_one_is_posted(repo: Path, tmp_path: Path) -> None:
    pages: list[list[dict[str, Any]]] = [[comment(11, "LGTM")], []]
    result, calls = run_script(repo, tmp_path, pages)
    assert result.returncode == 0, result.stderr
    assert len(calls) == 2
    listing(calls[0])
    assert calls[1]["method"] == "POST"
    assert calls[1]["args"][-3:] == [f"repos/{REPO}/issues/{PR}/comments", "--input", "-"]
    assert json.loads(calls[1]["stdin"]) == {"body": PLAN}
    assert f"posted a comment on {REPO}#{PR}" in result.stdout


def test_a_plan_that_could_not_run_still_replaces_the_comment(repo: Path, tmp_path: Path) -> None:
    """Bad input (exit 2) prints no Markdown: the comment says so, quoting the error."""
    error = "error: 1 problem(s) in spec: specs/x.yaml:3:1: metadata.name: missing\n"
    result, calls = run_script(
        repo,
        tmp_path,
        [[comment(7, f"{MARKER}\nthe last good plan")]],
        body="",
        env={"PLAN_EXIT_CODE": "2"},
        stderr=error,
    )
    assert result.returncode == 0, result.stderr
    assert calls[1]["method"] == "PATCH"
    assert calls[1]["args"][-3] == f"repos/{REPO}/issues/comments/7"
    posted = json.loads(calls[1]["stdin"])["body"]
    assert posted.splitlines()[:2] == [MARKER, "### ⚠️ Shipyard plan could not run (exit 2)"]
    assert f"~~~\n{error}~~~\n" in posted


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"PR_NUMBER": "42; rm -rf /"}, "PR_NUMBER must be a pull-request number"),
        ({"GITHUB_REPOSITORY": "../../orgs"}, "GITHUB_REPOSITORY must be owner/name"),
    ],
    ids=["pr-number", "repository"],
)
def test_bad_environment_is_refused_before_any_call(
    repo: Path, tmp_path: Path, env: dict[str, str], message: str
) -> None:
    result, calls = run_script(repo, tmp_path, [[]], env=env)
    assert result.returncode == 2
    assert message in result.stderr
    assert calls == []
