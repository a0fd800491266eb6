"""Starting an agent: a bad --listen or --interval, or no repository to follow, is a clear
error before anything runs; a good start serves the API, leads, ticks and stops."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from pipelines.agent.run import AgentArgs, interval_seconds, listen_address, run_agent
from pipelines.core.errors import UsageError
from tests.fakes.agent import commit_all

SHARED = (
    "SHIPYARD_STATE_URL",
    "BENTOML_HOME",
    "SHIPYARD_LOCAL_HOME",
    "MLFLOW_TRACKING_URI",
    "PULUMI_BACKEND_URL",
)


def args(root: Path, **changes: object) -> AgentArgs:
    given: dict[str, object] = {
        "root": root,
        "repo": None,
        "branch": "main",
        "envs": (),
        "interval": "1s",
        "listen": None,
        "approvals": "local",
        "ticks": 1,
    }
    return AgentArgs(**{**given, **changes})  # type: ignore[arg-type]


def test_listen_and_interval_are_checked() -> None:
    assert listen_address("127.0.0.1:8686") == ("127.0.0.1", 8686)
    assert interval_seconds("2m") == 120.0
    for bad in ("8686", "host:", "host:99999", ":80"):
        with pytest.raises(UsageError, match=r"--listen .*: not HOST:PORT"):
            listen_address(bad)
    with pytest.raises(UsageError, match=r"^--interval soon: "):
        interval_seconds("soon")
    with pytest.raises(UsageError, match=r"at least 1s"):
        interval_seconds("0s")


def test_a_folder_that_is_not_a_repository_needs_repo(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"is not a Git repository, and no --repo was given"):
        run_agent(args(tmp_path))


def test_an_agent_of_the_projects_own_checkout_leads_and_ticks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in (*SHARED, "PULUMI_CONFIG_PASSPHRASE_FILE", "PULUMI_CONFIG_PASSPHRASE"):
        monkeypatch.setenv(key, "")  # empty: the agent fills it in; restored afterwards
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "README.md").write_text("no spec yet\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q", "-b", "main", str(tmp_path)], check=True)
    commit_all(tmp_path, "no spec yet")
    monkeypatch.chdir(tmp_path)  # a tick works in the agent's checkout: come back after
    said: list[str] = []
    assert run_agent(args(tmp_path, listen="127.0.0.1:0"), said.append) == 0
    assert said[0].startswith("agent API on http://127.0.0.1:")
    assert said[1] == f"agent: following {tmp_path} main every 1s for every environment"
    assert "leader of *" in said
    assert (tmp_path / ".shipyard" / "agent" / "all" / "specs" / "README.md").exists()
    assert (tmp_path / ".shipyard" / "state.db").exists()  # the embedded default store
