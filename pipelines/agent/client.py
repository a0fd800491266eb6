"""The CLI's side of the agent's API: an operator's command sent to a running agent
(`SHIPYARD_AGENT_URL`, `SHIPYARD_AGENT_TOKEN`), with a clear error for every way it fails."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from pathlib import Path

from pipelines.agent.api import TOKEN_ENV
from pipelines.core.errors import ShipyardError, UsageError
from pipelines.core.workspace import Workspace
from pipelines.release.control import Command

URL_ENV = "SHIPYARD_AGENT_URL"


def agent_url() -> str | None:
    return os.environ.get(URL_ENV) or None


def ask_agent(url: str, ws: Workspace, spec_file: Path, env: str, command: Command, by: str) -> str:
    """POST the command to the agent; its answer in one line."""
    from pipelines.core.specs import load_spec

    name = load_spec(spec_file, ws.root).metadata.name
    token = os.environ.get(TOKEN_ENV)
    if not token:
        raise UsageError(
            f"{URL_ENV} is set but {TOKEN_ENV} is not", hint="export the agent's token"
        )
    target = f"{url.rstrip('/')}/rollouts/{name}/{env}/{command.value}"
    asked = urllib.request.Request(
        target,
        data=b"{}",
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "X-Shipyard-User": by,
            "Content-Type": "application/json",
        },
    )
    try:
        with urllib.request.urlopen(asked, timeout=30) as answer:
            payload = json.loads(answer.read() or b"{}")
    except urllib.error.HTTPError as exc:
        detail = _error(exc)
        raise ShipyardError(f"the agent at {url} refused {command}: {detail}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ShipyardError(
            f"cannot reach the agent at {url}: {reason}",
            hint=f"check {URL_ENV}, or unset it to act through the state store",
        ) from None
    if "done" in payload:
        return f"{payload['done']} (through the agent at {url})"
    return f"{command} requested (id {payload.get('requested')}); the agent acts at its next check"


def _error(exc: urllib.error.HTTPError) -> str:
    try:
        return str(json.loads(exc.read()).get("error") or exc.reason)
    except (ValueError, OSError):
        return f"HTTP {exc.code} {exc.reason}"
