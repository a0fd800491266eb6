"""Environments as a release leaves them, for `shipyard status` and friends, without a real
server: on the in-process memory target (tests/fakes/memory_target.py: a deployed slot is
ready), or on the local target with its desired state written and its stable slot's port
held closed (bound, never listening), so its readiness probe is refused at once — deployed,
but down."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from pipelines.core.specs import load_spec
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from stacks.desired import Desired
from stacks.target import Release, Slot
from tests.fakes.memory_target import NAME

# production has a canary rollout of four steps; staging is direct
MEMORY_SPEC = f"""\
apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {{name: credit, owners: ["@ml"]}}
model: {{uri: "models:/credit/4"}}
environments:
  - {{name: staging, target: {NAME}}}
  - name: production
    target: {NAME}
    rollout:
      steps:
        - weight: 10
        - pause: 30s
        - weight: 50
        - weight: 100
"""
STABLE = Release("credit:aaa", "models:/credit/3")
CANARY = Release("credit:bbb", "models:/credit/4")
# the in-flight record a canary of CANARY keeps in the state store after its first step
IN_FLIGHT = {
    "release": {"bento": CANARY.bento, "model": CANARY.model},
    "step": 1,
    "weights": {"stable": 90, "canary": 10},
    "analysis": [{"phase": "Successful", "seq": 3}, {"phase": "Inconclusive", "seq": 4}],
    "status": "progressing",
}
OWNER = "ci-runner-7 pid 4242"


def deploy(ws: Workspace, spec_file: Path, env: str, canary: bool = False) -> None:
    """STABLE (and CANARY at 10%) running in `env`, as apply leaves it."""
    target = target_for(load_spec(spec_file, ws.root), env, ws)
    target.deploy(Slot.STABLE, STABLE)
    if canary:
        target.deploy(Slot.CANARY, CANARY)
        target.set_weights({Slot.STABLE: 90, Slot.CANARY: 10})


@contextmanager
def closed_port() -> Iterator[int]:
    """A 127.0.0.1 port nobody listens on, held for the duration: a connection is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        yield int(sock.getsockname()[1])


def local_spec_down(name: str, port: int) -> str:
    """A spec of `name` with one `local` environment, production, whose stable slot listens
    on `port` (the local target puts stable one above the spec's `local.port`)."""
    return f"""\
apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {{name: {name}, owners: ["@ml"]}}
model: {{uri: "models:/{name}/1"}}
environments:
  - {{name: production, target: local, local: {{port: {port - 1}}}}}
"""


def deploy_local(ws: Workspace, spec_file: Path, env: str) -> None:
    """The local target's desired state of `env` written with STABLE on the stable slot, as a
    release would leave it; no server is started."""
    target = target_for(load_spec(spec_file, ws.root), env, ws)
    Desired({"stable": {"bento": STABLE.bento, "model": STABLE.model}}, {"stable": 100}).save(
        target.desired_path  # type: ignore[attr-defined]  # the local target's file
    )


def canary_in_flight(ws: Workspace, spec_file: Path) -> None:
    """MEMORY_SPEC's staging serving STABLE, and production one step into a canary of
    CANARY, its in-flight record (IN_FLIGHT, by OWNER) in the state store."""
    from pipelines.state.store import open_store

    deploy(ws, spec_file, "staging")
    deploy(ws, spec_file, "production", canary=True)
    open_store(ws.state_url).put_rollout("credit", "production", OWNER, IN_FLIGHT)
