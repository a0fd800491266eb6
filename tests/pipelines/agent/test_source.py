"""The agent's view of a repository, on real Git: a bare remote and pushes to it. The first
sync clones; commits since the last applied come oldest first along first parents; a
rewritten branch gives just its head; each commit's changed spec files; the checkout moved
exactly to a commit; the shared state an apply of the checkout uses."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipelines.agent.source import Source, SourceError, shared_environment
from pipelines.core.workspace import Workspace


def git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    done = subprocess.run([*command, *args], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def commit(dev: Path, files: dict[str, str | None], message: str) -> str:
    for name, text in files.items():
        path = dev / name
        if text is None:
            git(dev, "rm", "-q", name)
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        git(dev, "add", name)
    git(dev, "commit", "-q", "-m", message)
    git(dev, "push", "-q", "origin", "HEAD:main")
    return git(dev, "rev-parse", "HEAD")


@pytest.fixture
def places(tmp_path: Path) -> tuple[Path, Path]:
    remote = tmp_path / "remote.git"
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    dev = tmp_path / "dev"
    subprocess.run(["git", "clone", "-q", str(remote), str(dev)], check=True, capture_output=True)
    return remote, dev


def test_commits_since_the_last_applied_oldest_first(
    places: tuple[Path, Path], tmp_path: Path
) -> None:
    remote, dev = places
    first = commit(dev, {"specs/a.yaml": "a: 1\n", "README.md": "x\n"}, "first")
    source = Source(str(remote), "main", tmp_path / "agent" / "checkout")
    assert source.sync() == first
    assert source.commits(None, first) == [first]  # nothing applied yet: the head
    assert source.commits(first, first) == []
    second = commit(dev, {"specs/b.yaml": "b: 1\n"}, "add b")
    third = commit(dev, {"specs/a.yaml": "a: 2\n", "specs/b.yaml": None}, "edit a, drop b")
    fourth = commit(dev, {"README.md": "y\n"}, "docs only")
    head = source.sync()
    assert head == fourth
    assert source.commits(first, head) == [second, third, fourth]
    assert [c.path for c in source.changed(first, second)] == ["specs/b.yaml"]
    changes = {c.path: c.after for c in source.changed(second, third)}
    assert changes == {"specs/a.yaml": "a: 2\n", "specs/b.yaml": None}
    assert source.changed(third, fourth) == []
    assert [c.path for c in source.changed(None, third)] == ["specs/a.yaml"]  # all, at third
    assert source.subject(third) == "edit a, drop b"


def test_the_checkout_is_moved_exactly_to_a_commit(
    places: tuple[Path, Path], tmp_path: Path
) -> None:
    remote, dev = places
    first = commit(dev, {"specs/a.yaml": "a: 1\n"}, "first")
    second = commit(dev, {"specs/a.yaml": "a: 2\n"}, "second")
    source = Source(str(remote), "main", tmp_path / "checkout")
    source.sync()
    source.move_to(first)
    (source.checkout / "specs" / "a.yaml").write_text("edited by hand\n", encoding="utf-8")
    (source.checkout / "stray.txt").write_text("left\n", encoding="utf-8")
    (source.checkout / ".shipyard").mkdir()
    (source.checkout / ".shipyard" / "kept").write_text("state\n", encoding="utf-8")
    source.move_to(second)
    assert source.at() == second
    assert (source.checkout / "specs" / "a.yaml").read_text(encoding="utf-8") == "a: 2\n"
    assert not (source.checkout / "stray.txt").exists()
    assert (source.checkout / ".shipyard" / "kept").exists()


def test_a_rewritten_branch_gives_its_head(places: tuple[Path, Path], tmp_path: Path) -> None:
    remote, dev = places
    first = commit(dev, {"specs/a.yaml": "a: 1\n"}, "first")
    source = Source(str(remote), "main", tmp_path / "checkout")
    source.sync()
    git(dev, "checkout", "-q", "--orphan", "other")
    (dev / "specs" / "a.yaml").write_text("a: 9\n", encoding="utf-8")
    git(dev, "add", "specs/a.yaml")
    git(dev, "commit", "-q", "-m", "rewritten")
    git(dev, "push", "-q", "-f", "origin", "HEAD:main")
    head = source.sync()
    assert source.commits(first, head) == [head]
    assert source.has(first)
    assert not source.has("0" * 40)


def test_a_repository_that_cannot_be_fetched_is_a_clear_error(tmp_path: Path) -> None:
    source = Source(str(tmp_path / "nowhere.git"), "main", tmp_path / "checkout")
    with pytest.raises(SourceError, match=r"^git clone"):
        source.sync()


def test_applies_of_the_checkout_use_the_home_projects_state(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("SHIPYARD_STATE_URL", "MLFLOW_TRACKING_URI", "BENTOML_HOME"):
        monkeypatch.delenv(key, raising=False)  # (a build earlier in the process sets some)
    home = Workspace.at(tmp_path / "home")
    found = shared_environment(home, {})
    assert found == {
        "SHIPYARD_STATE_URL": f"sqlite:///{home.state / 'state.db'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{home.state / 'mlflow.db'}",
        "BENTOML_HOME": str(home.state / "bentoml"),
        "SHIPYARD_LOCAL_HOME": str(home.state / "local"),
        "PULUMI_BACKEND_URL": (home.state / "pulumi" / "state").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE_FILE": str(home.state / "pulumi" / "passphrase"),
    }
    team = {
        "SHIPYARD_STATE_URL": "postgresql+psycopg://db/shipyard",
        "PULUMI_CONFIG_PASSPHRASE": "p",
    }
    kept = shared_environment(home, team)
    assert "SHIPYARD_STATE_URL" not in kept
    assert "PULUMI_CONFIG_PASSPHRASE_FILE" not in kept
