"""Spec files at two revisions of a real Git repository made here: what a change touches
(added, edited, renamed, deleted, untracked), each side's text, and clear errors."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipelines.core.errors import UsageError
from pipelines.core.git import FETCH_HINT, SpecFileChange, resolve, show, spec_changes


def git(root: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(root), *args], check=True, capture_output=True, text=True
    ).stdout.strip()


def commit(root: Path, files: dict[str, str | None], message: str) -> str:
    """Write (or, for None, remove) the files and commit them; the new commit's SHA."""
    for name, text in files.items():
        path = root / name
        if text is None:
            path.unlink()
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    git(root, "add", "-A")
    git(root, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", message)
    return git(root, "rev-parse", "HEAD")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    commit(
        tmp_path,
        {
            "specs/a.yaml": "name: a\n",
            "specs/b.yaml": "name: b\n",
            "specs/old.yml": "name: old\n" * 20,
            "specs/README.md": "specs\n",
            "other/c.yaml": "name: c\n",
        },
        "base",
    )
    return tmp_path


def test_each_kind_of_change_between_two_commits(repo: Path) -> None:
    base = resolve(repo, "HEAD")
    head = commit(
        repo,
        {
            "specs/a.yaml": "name: a\nedited: true\n",
            "specs/b.yaml": None,
            "specs/new.yaml": "name: new\n",
            "specs/old.yml": None,
            "specs/renamed.yml": "name: old\n" * 20,
            "specs/README.md": "specs, edited\n",
            "other/c.yaml": "name: c2\n",
        },
        "change",
    )
    assert spec_changes(repo, base, head) == [
        SpecFileChange("specs/a.yaml", "name: a\n", "name: a\nedited: true\n"),
        SpecFileChange("specs/b.yaml", "name: b\n", None),
        SpecFileChange("specs/new.yaml", None, "name: new\n"),
        SpecFileChange(
            "specs/renamed.yml", "name: old\n" * 20, "name: old\n" * 20, "specs/old.yml"
        ),
    ]


def test_the_working_tree_as_head_includes_edits_and_untracked_specs(repo: Path) -> None:
    (repo / "specs" / "a.yaml").write_text("name: a\nuncommitted: true\n")
    (repo / "specs" / "fresh.yaml").write_text("name: fresh\n")
    (repo / "specs" / "notes.txt").write_text("not a spec\n")
    assert spec_changes(repo, "HEAD", None) == [
        SpecFileChange("specs/a.yaml", "name: a\n", "name: a\nuncommitted: true\n"),
        SpecFileChange("specs/fresh.yaml", None, "name: fresh\n"),
    ]


def test_no_change_is_an_empty_list(repo: Path) -> None:
    assert spec_changes(repo, "HEAD", "HEAD") == []


def test_show_reads_a_revision_or_the_working_tree(repo: Path) -> None:
    (repo / "specs" / "a.yaml").write_text("now\n")
    assert show(repo, "HEAD", "specs/a.yaml") == "name: a\n"
    assert show(repo, None, "specs/a.yaml") == "now\n"
    assert show(repo, "HEAD", "specs/absent.yaml") is None
    assert show(repo, None, "specs/absent.yaml") is None


def test_resolve_gives_the_full_sha(repo: Path) -> None:
    sha = git(repo, "rev-parse", "HEAD")
    assert resolve(repo, "HEAD") == sha
    assert resolve(repo, sha[:8]) == sha


def test_an_unknown_revision_says_how_to_fetch_it(repo: Path) -> None:
    with pytest.raises(
        UsageError, match=r"^git rev-parse --verify --quiet nope\^\{commit\}"
    ) as caught:
        spec_changes(repo, "nope", None)
    assert caught.value.hint == FETCH_HINT
    assert caught.value.exit_code == 2
