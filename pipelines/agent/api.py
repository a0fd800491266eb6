"""The agent's HTTP API, for operators and their tools:

- `GET /healthz`: 200 while the agent runs (`leader` says whether it leads or stands by);
- `GET /status`: JSON per spec and environment — the commit applied, what runs, the weights,
  the rollout's phase, step and last verdict with its reasons, a failed mark;
- `GET /metrics`: Prometheus text (reconciles and their duration, applies by outcome,
  rollbacks, heals, problems, leader, and each environment's rollout phase);
- `POST /webhook`: a push happened (GitHub's push event; checked against
  `SHIPYARD_WEBHOOK_SECRET` with X-Hub-Signature-256 when that is set): tick now;
- `POST /rollouts/{spec}/{env}/{promote|abort|pause|resume|retry}`: an operator's command,
  with `Authorization: Bearer $SHIPYARD_AGENT_TOKEN` (refused without a token configured).

Served by a thread of the agent's process (`serve`); nothing here changes a target itself —
commands go through the state store to the run that drives the rollout.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from pipelines.core.errors import ShipyardError
from pipelines.release.control import Command, request, wait_done

if TYPE_CHECKING:
    from pipelines.agent.loop import Agent

TOKEN_ENV = "SHIPYARD_AGENT_TOKEN"
SECRET_ENV = "SHIPYARD_WEBHOOK_SECRET"
ANSWER_WAIT = 10.0  # seconds a command waits for the rollout's run to answer
MAX_BODY = 1024 * 1024


def status_json(agent: Agent) -> dict[str, Any]:
    """What /status answers (and `shipyard status` shows of an agent)."""
    from pipelines.agent.heal import observe
    from pipelines.core.targets import target_for
    from pipelines.core.workspace import Workspace

    last = agent.last()
    services = []
    specs = agent.head_specs()
    ws = Workspace.at(agent.source.checkout)
    applied = agent.applied() if agent.leader or last else None
    for spec, _ in specs:
        name = spec.metadata.name
        for env in agent.owned(spec):
            rollout = agent.store.rollout(name, env)
            try:
                seen = observe(target_for(spec, env, ws), rollout is not None)
                running: dict[str, Any] = {"slots": seen.slots, "weights": seen.weights}
                running["ready"] = seen.stable_ready
            except ShipyardError as exc:
                running = {"error": exc.message}
            verdicts = (rollout or {}).get("analysis") or []
            steps = _steps(spec, env)
            services.append(
                {
                    "spec": name,
                    "env": env,
                    "commit": applied,
                    **running,
                    "phase": _phase(rollout, agent.failed(name, env), running.get("slots")),
                    "step": (rollout or {}).get("step"),
                    "steps": steps,
                    "last_verdict": verdicts[-1] if verdicts else None,
                    "failed": agent.failed(name, env),
                }
            )
    return {
        "leader": agent.leader,
        "envs": list(agent.options.envs),
        "repo": agent.options.repo,
        "branch": agent.options.branch,
        "head": last.head if last else None,
        "last_tick": _tick_json(last),
        "services": services,
    }


def _steps(spec: Any, env: str) -> int:
    from validators.spec.resolved import with_defaults

    for resolved in with_defaults(spec).environments:
        if resolved.name == env:
            return len(resolved.rollout.steps)
    return 0


def _phase(
    rollout: dict[str, Any] | None, failed: dict[str, Any] | None, slots: dict[str, str] | None
) -> str:
    """Argo Rollouts' words: Progressing, Paused, Degraded, Healthy; NotDeployed."""
    if rollout is not None:
        return "Paused" if rollout.get("status") == "paused" else "Progressing"
    if failed:
        return "Degraded"
    return "Healthy" if slots else "NotDeployed"


def _tick_json(tick: Any) -> dict[str, Any] | None:
    if tick is None:
        return None
    return {
        "head": tick.head,
        "applied": tick.applied,
        "outcomes": tick.outcomes,
        "healed": tick.healed,
        "monitored": tick.monitored,
        "problems": tick.problems,
        "seconds": round(tick.seconds, 3),
    }


def serve(agent: Agent, host: str, port: int) -> ThreadingHTTPServer:
    """Start the API on (host, port) in a daemon thread; `shutdown()` stops it."""

    class Handler(_Handler):
        pass

    Handler.agent = agent
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, name="agent-api", daemon=True).start()
    return server


class _Handler(BaseHTTPRequestHandler):
    agent: Agent
    server_version = "shipyard-agent"

    def log_message(self, format: str, *args: Any) -> None:
        return None  # the agent's log is its own lines, not one per request

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._json(HTTPStatus.OK, {"ok": True, "leader": self.agent.leader})
        elif self.path == "/status":
            self._json(HTTPStatus.OK, status_json(self.agent))
        elif self.path == "/metrics":  # each scrape sees the phases as they are now
            self.agent.metrics.phases(status_json(self.agent)["services"])
            body = self.agent.metrics.text()
            self._send(HTTPStatus.OK, body, "text/plain; version=0.0.4; charset=utf-8")
        else:
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no such path: {self.path}"})

    def do_POST(self) -> None:
        body = self._body()
        if body is None:
            return
        if self.path == "/webhook":
            self._webhook(body)
            return
        parts = self.path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "rollouts":
            self._command(parts[1], parts[2], parts[3])
            return
        self._json(HTTPStatus.NOT_FOUND, {"error": f"no such path: {self.path}"})

    def _webhook(self, body: bytes) -> None:
        secret = os.environ.get(SECRET_ENV)
        if secret:
            signed = self.headers.get("X-Hub-Signature-256", "")
            wanted = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            if not hmac.compare_digest(signed, wanted):
                self._json(HTTPStatus.UNAUTHORIZED, {"error": "X-Hub-Signature-256 does not match"})
                return
        self.agent.wake.set()
        self._json(HTTPStatus.ACCEPTED, {"tick": "now"})

    def _command(self, spec: str, env: str, action: str) -> None:
        token = os.environ.get(TOKEN_ENV)
        if not token:
            self._json(
                HTTPStatus.FORBIDDEN,
                {"error": f"the agent has no {TOKEN_ENV}: it takes no commands over HTTP"},
            )
            return
        given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        if not hmac.compare_digest(given.encode(), token.encode()):
            self._json(HTTPStatus.UNAUTHORIZED, {"error": "wrong or missing bearer token"})
            return
        if action not in set(Command):
            known = ", ".join(c.value for c in Command)
            self._json(HTTPStatus.NOT_FOUND, {"error": f"no command {action!r}; known: {known}"})
            return
        if not any(
            s.metadata.name == spec and env in self.agent.owned(s)
            for s, _ in self.agent.head_specs()
        ):
            self._json(HTTPStatus.NOT_FOUND, {"error": f"this agent does not run {spec}/{env}"})
            return
        command, store = Command(action), self.agent.store
        by = self.headers.get("X-Shipyard-User") or f"api {self.client_address[0]}"
        in_flight = store.rollout(spec, env) is not None
        if command == Command.RETRY:
            given_command = request(store, spec, env, command, by)
            self.agent.wake.set()
            self._json(HTTPStatus.ACCEPTED, {"requested": given_command.id, "command": action})
            return
        if not in_flight:
            self._json(
                HTTPStatus.CONFLICT, {"error": f"no rollout of {spec} in {env} is in flight"}
            )
            return
        asked = request(store, spec, env, command, by)
        answer = wait_done(store, spec, env, asked, ANSWER_WAIT)
        if answer is None:
            self._json(HTTPStatus.ACCEPTED, {"requested": asked.id, "command": action})
        else:
            self._json(HTTPStatus.OK, {"done": answer, "command": action})

    def _body(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            self._json(HTTPStatus.REQUEST_ENTITY_TOO_LARGE, {"error": "body too large"})
            return None
        return self.rfile.read(length) if length else b""

    def _json(self, status: HTTPStatus, payload: dict[str, Any]) -> None:
        self._send(status, json.dumps(payload, default=str).encode(), "application/json")

    def _send(self, status: HTTPStatus, body: bytes, kind: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
