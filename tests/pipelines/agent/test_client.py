"""The CLI's side of the agent's API, against a real agent's API on a free port: no token is
a usage error; an agent that cannot be reached, or refuses, is a clear one-line error; a
retry is requested."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.agent.client import agent_url, ask_agent
from pipelines.agent.loop import Agent
from pipelines.core.errors import ShipyardError, UsageError
from pipelines.core.workspace import Workspace
from pipelines.release.control import Command, current
from tests.fakes.bento_server import free_port


def checkout(agent: Agent) -> tuple[Workspace, Path]:
    ws = Workspace.at(agent.source.checkout)
    return ws, ws.root / "specs" / "minimal.yaml"


def test_a_retry_through_the_agent(agent: Agent, api: str, monkeypatch: pytest.MonkeyPatch) -> None:
    agent.tick()
    ws, spec = checkout(agent)
    monkeypatch.setenv("SHIPYARD_AGENT_URL", api)
    assert agent_url() == api
    with pytest.raises(
        UsageError, match="SHIPYARD_AGENT_URL is set but SHIPYARD_AGENT_TOKEN is not"
    ):
        ask_agent(api, ws, spec, "staging", Command.RETRY, "alice")
    monkeypatch.setenv("SHIPYARD_AGENT_TOKEN", "t0ken")
    answer = ask_agent(api, ws, spec, "staging", Command.RETRY, "alice")
    assert answer.startswith("retry requested (id ")
    asked = current(agent.store, "minimal", "staging")
    assert asked is not None
    assert (asked.command, asked.by) == (Command.RETRY, "alice")
    with pytest.raises(ShipyardError, match=r"refused promote: no rollout of minimal in staging"):
        ask_agent(api, ws, spec, "staging", Command.PROMOTE, "alice")


def test_an_agent_that_cannot_be_reached(agent: Agent, monkeypatch: pytest.MonkeyPatch) -> None:
    agent.tick()
    ws, spec = checkout(agent)
    monkeypatch.setenv("SHIPYARD_AGENT_TOKEN", "t0ken")
    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ShipyardError, match=rf"^cannot reach the agent at {url}: ") as caught:
        ask_agent(url, ws, spec, "staging", Command.ABORT, "alice")
    assert "unset it to act through the state store" in caught.value.hint
