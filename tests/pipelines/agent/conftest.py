"""An agent over a Git repository holding one spec (tests/fixtures' minimal.yaml, nothing
deployed), with a real SQLite state store; and its API served on a free port."""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest

from pipelines.agent.api import serve
from pipelines.agent.loop import Agent, AgentOptions
from pipelines.core.workspace import Workspace
from pipelines.state.store import forget_stores

FIXTURE = Path(__file__).resolve().parents[2] / "fixtures" / "spec" / "repo" / "specs"


@pytest.fixture
def agent(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Agent]:
    repo = tmp_path / "repo"
    (repo / "specs").mkdir(parents=True)
    shutil.copy(FIXTURE / "minimal.yaml", repo / "specs" / "minimal.yaml")
    for args in (
        ["init", "-q", "-b", "main"],
        ["add", "-A"],
        ["-c", "user.name=Dev", "-c", "user.email=d@example.com", "commit", "-q", "-m", "x"],
    ):
        subprocess.run(["git", "-C", str(repo), *args], check=True)
    home = Workspace.at(tmp_path / "home")
    # the agent sets what its applies share in its own process' environment: keep it here
    for key, value in {
        "SHIPYARD_STATE_URL": f"sqlite:///{tmp_path / 'state.db'}",
        "MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path / 'mlflow.db'}",
        "BENTOML_HOME": str(tmp_path / "bentoml"),
        "SHIPYARD_LOCAL_HOME": str(tmp_path / "local"),
        "PULUMI_BACKEND_URL": (tmp_path / "pulumi").as_uri(),
        "PULUMI_CONFIG_PASSPHRASE": "p",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.chdir(tmp_path)  # a tick works in the agent's checkout: come back after
    found = Agent(home, AgentOptions(repo=str(repo), interval=1.0), lambda _: None)
    yield found
    forget_stores()


@pytest.fixture
def api(agent: Agent) -> Iterator[str]:
    server: ThreadingHTTPServer = serve(agent, "127.0.0.1", 0)
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
