"""The agent's API over a real agent (one tick of a Git repository holding one spec, nothing
deployed) and a real SQLite state store, through real HTTP on a free port: health, status,
metrics, the webhook with and without its secret, and operators' commands — refused without
a configured token, with a wrong one, for an unknown command or service, or with no rollout
in flight; a retry is stored for the agent's next tick."""

from __future__ import annotations

import hashlib
import hmac
import json
import urllib.error
import urllib.request
from typing import Any

import pytest

from pipelines.agent.loop import Agent
from pipelines.release.control import Command, current


def call(
    url: str, method: str = "GET", body: bytes = b"", headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    asked = urllib.request.Request(
        url, data=body if method == "POST" else None, method=method, headers=headers or {}
    )
    try:
        with urllib.request.urlopen(asked, timeout=10) as answer:
            raw = answer.read()
            kind = answer.headers.get("Content-Type", "")
            return answer.status, json.loads(raw) if "json" in kind else raw.decode()
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


def test_health_status_and_metrics_after_a_tick(agent: Agent, api: str) -> None:
    assert call(f"{api}/healthz") == (200, {"ok": True, "leader": False})
    tick = agent.tick()
    assert [p.split(": ", 1)[1] for p in tick.problems] == [
        "data: the spec has no data section; offline gates need evaluation data"
    ]  # its apply failed (said, not raised); the agent goes on
    status, body = call(f"{api}/status")
    assert status == 200
    assert body["head"] == tick.head
    assert body["last_tick"]["applied"] == [tick.head]
    assert [(s["spec"], s["env"], s["phase"], s["slots"]) for s in body["services"]] == [
        ("minimal", "staging", "NotDeployed", {})
    ]
    status, metrics = call(f"{api}/metrics")
    assert status == 200
    assert "shipyard_agent_reconciles_total 1.0" in metrics
    assert "shipyard_agent_reconcile_duration_seconds_count 1.0" in metrics
    notdeployed = 'shipyard_agent_rollout_phase{env="staging",phase="NotDeployed",spec="minimal"}'
    assert f"{notdeployed} 1.0" in metrics
    assert call(f"{api}/nowhere")[0] == 404


def test_the_webhook_wakes_the_agent_and_checks_its_secret(
    agent: Agent, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert call(f"{api}/webhook", "POST", b"{}") == (202, {"tick": "now"})
    assert agent.wake.is_set()
    agent.wake.clear()
    monkeypatch.setenv("SHIPYARD_WEBHOOK_SECRET", "s3cret")
    push = b'{"ref": "refs/heads/main"}'
    wrong = {"X-Hub-Signature-256": "sha256=" + "0" * 64}
    assert call(f"{api}/webhook", "POST", push, wrong)[0] == 401
    assert not agent.wake.is_set()
    signed = "sha256=" + hmac.new(b"s3cret", push, hashlib.sha256).hexdigest()
    assert call(f"{api}/webhook", "POST", push, {"X-Hub-Signature-256": signed})[0] == 202
    assert agent.wake.is_set()


def test_commands_need_a_token_a_known_service_and_a_rollout(
    agent: Agent, api: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent.tick()
    path = f"{api}/rollouts/minimal/staging"
    status, body = call(f"{path}/abort", "POST")
    assert (status, body["error"]) == (
        403,
        "the agent has no SHIPYARD_AGENT_TOKEN: it takes no commands over HTTP",
    )
    monkeypatch.setenv("SHIPYARD_AGENT_TOKEN", "t0ken")
    good = {"Authorization": "Bearer t0ken", "X-Shipyard-User": "oncall"}
    assert call(f"{path}/abort", "POST", headers={"Authorization": "Bearer nope"})[0] == 401
    assert call(f"{path}/explode", "POST", headers=good)[0] == 404
    assert call(f"{api}/rollouts/other/staging/abort", "POST", headers=good)[0] == 404
    assert call(f"{api}/rollouts/minimal/production/abort", "POST", headers=good)[0] == 404
    status, body = call(f"{path}/promote", "POST", headers=good)
    assert (status, body["error"]) == (409, "no rollout of minimal in staging is in flight")
    status, body = call(f"{path}/retry", "POST", headers=good)
    assert (status, body["command"]) == (202, "retry")
    asked = current(agent.store, "minimal", "staging")
    assert asked is not None
    assert (asked.command, asked.by, asked.id) == (Command.RETRY, "oncall", body["requested"])
