"""`shipyard init` keeps `.shipyard/` out of Git (local state must never be committed): it is
added to .gitignore once, left alone when Git already ignores it, and nothing is written
outside a Git repository. (The rest of init runs in every demo and apply fixture.)"""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipelines.core.workspace import Workspace
from pipelines.demo.init import ignore_state


def repo(path: Path) -> Workspace:
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    return Workspace.at(path)


def test_state_is_added_to_gitignore_once(tmp_path: Path) -> None:
    ws = repo(tmp_path)
    (tmp_path / ".gitignore").write_text("*.log", encoding="utf-8")  # no newline at the end
    said: list[str] = []
    ignore_state(ws, said.append)
    ignore_state(ws, said.append)
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == (
        "*.log\n# Shipyard's local state (shipyard init)\n.shipyard/\n"
    )
    assert said == ["git:    .shipyard/ added to .gitignore"]
    ignored = subprocess.run(["git", "-C", str(tmp_path), "check-ignore", "-q", ".shipyard/x"])
    assert ignored.returncode == 0


def test_an_ignore_that_covers_it_already_is_left_alone(tmp_path: Path) -> None:
    ws = repo(tmp_path)
    (tmp_path / ".gitignore").write_text(".*/\n", encoding="utf-8")
    ignore_state(ws, print)
    assert (tmp_path / ".gitignore").read_text(encoding="utf-8") == ".*/\n"


def test_outside_git_nothing_is_written(tmp_path: Path) -> None:
    ignore_state(Workspace.at(tmp_path), print)
    assert not (tmp_path / ".gitignore").exists()
