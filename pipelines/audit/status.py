"""`shipyard status`: per spec and environment, what runs, its traffic, its health, its
rollout in flight and the last thing the ledger recorded of it.

`collect(root)` does the I/O (specs, each environment's target and readiness probe, the
ledger's heads, the state store's in-flight rollouts) once; `env_status` and `rollout_view`
build the plain `StatusReport` from what it read, and `status_text` and `status_json` render
that one report — both pure, tested on literals.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from pipelines.audit.ledger import ledger_of
from pipelines.core.errors import EXIT_FAILED
from pipelines.core.output import document
from pipelines.core.specs import SPECS_DIR, load_all
from pipelines.core.workspace import Workspace
from pipelines.state.store import LedgerRow
from stacks.target import Slot, TargetState
from validators.spec.model import ModelDeployment

HEADER = f"{'spec':<16} {'env':<12} {'version':<24} {'weights':<22} {'health':<8} last run"


class Health(StrEnum):
    """The readiness probe of an environment's stable slot."""

    READY = "ready"
    DOWN = "down"


class ServicePhase(StrEnum):
    """An environment at a glance, in Argo Rollouts' words."""

    HEALTHY = "Healthy"  # the stable slot is ready and no rollout is in flight
    PROGRESSING = "Progressing"  # a rollout is in flight
    PAUSED = "Paused"  # a rollout is in flight, held by an operator
    DEGRADED = "Degraded"  # deployed, but the stable slot fails its readiness probe
    NOT_DEPLOYED = "NotDeployed"  # nothing runs: it does not count for the exit code


@dataclass(frozen=True)
class SlotView:
    model: str
    bento: str
    weight: int

    @property
    def version(self) -> str:
        return self.model.rsplit("/", 1)[-1]


@dataclass(frozen=True)
class LastEntry:
    """The newest ledger entry of an environment."""

    kind: str
    ts: float
    seq: int


@dataclass(frozen=True)
class RolloutView:
    """The in-flight rollout of an environment, from the state store's record."""

    model: str
    bento: str
    step: int  # the last step taken, from 1 (0: the canary is still being deployed)
    steps: int  # how many the spec's rollout has
    weights: dict[str, int]
    verdict: str | None  # the phase of the newest analysis result, if any yet
    status: str  # deploying, progressing, promoting, ...
    owner: str  # the host and pid driving it
    analysis: tuple[dict[str, Any], ...] = ()
    updated: float | None = None

    @property
    def paused(self) -> bool:
        return self.status == "paused"


@dataclass(frozen=True)
class EnvStatus:
    spec: str
    env: str
    slots: dict[str, SlotView]  # in the target's order
    health: Health | None  # None: nothing deployed, nothing probed
    last: LastEntry | None
    rollout: RolloutView | None = None

    @property
    def weights(self) -> dict[str, int]:
        return {slot: view.weight for slot, view in self.slots.items()}

    @property
    def down(self) -> bool:
        return self.health == Health.DOWN

    @property
    def phase(self) -> ServicePhase:
        if self.down:
            return ServicePhase.DEGRADED
        if self.rollout is not None:
            return ServicePhase.PAUSED if self.rollout.paused else ServicePhase.PROGRESSING
        return ServicePhase.HEALTHY if self.health else ServicePhase.NOT_DEPLOYED


@dataclass(frozen=True)
class StatusReport:
    services: list[EnvStatus]

    @property
    def down(self) -> list[EnvStatus]:
        return [s for s in self.services if s.down]

    @property
    def healthy(self) -> bool:
        """Every deployed environment's stable slot is ready (those never deployed don't
        count)."""
        return not self.down

    @property
    def exit_code(self) -> int:
        return 0 if self.healthy else EXIT_FAILED


# --- building the report, pure ----------------------------------------------------------------


def env_status(
    spec: str,
    env: str,
    state: TargetState,
    ready: bool | None,
    head: LedgerRow | None,
    rollout: RolloutView | None = None,
) -> EnvStatus:
    """One environment from what its target runs, its stable slot's probe (None: not
    probed, nothing deployed), its newest ledger row and its rollout in flight."""
    slots = {
        slot.value: SlotView(s.release.model, s.release.bento, s.weight)
        for slot, s in state.slots.items()
    }
    health = None if ready is None else Health.READY if ready else Health.DOWN
    last = LastEntry(head.kind, head.ts, head.seq) if head is not None else None
    return EnvStatus(spec, env, slots, health, last, rollout)


def rollout_view(record: dict[str, Any], steps: int) -> RolloutView:
    """The state store's in-flight record of a rollout (`Store.rollout`) whose spec has
    `steps` rollout steps."""
    release = record.get("release") or {}
    analysis = tuple(record.get("analysis") or ())
    return RolloutView(
        model=str(release.get("model", "?")),
        bento=str(release.get("bento", "?")),
        step=int(record.get("step") or 0),
        steps=steps,
        weights={str(k): int(v) for k, v in sorted((record.get("weights") or {}).items())},
        verdict=analysis[-1].get("phase") if analysis else None,
        status=str(record.get("status", "?")),
        owner=str(record.get("owner", "?")),
        analysis=analysis,
        updated=record.get("updated"),
    )


# --- the two renderings -----------------------------------------------------------------------


def status_text(report: StatusReport, now: float) -> list[str]:
    """The table: a header, one line per environment (and under one with a rollout in
    flight, its step, weights, last verdict and owner); last, which are down, if any."""
    lines = [HEADER]
    for s in report.services:
        version = ", ".join(f"{slot}={v.version}" for slot, v in s.slots.items())
        when = f"{s.last.kind} {_ago(s.last.ts, now)}" if s.last else "never"
        lines.append(
            f"{s.spec:<16} {s.env:<12} {version or 'not deployed':<24} "
            f"{_weights(s.weights):<22} {s.health or '-':<8} {when}"
        )
        if s.rollout is not None:
            lines.append(_rollout_line(s.rollout))
    down = report.down
    if down:
        names = ", ".join(f"{s.spec}/{s.env}" for s in down)
        lines.append(f"down: {names} (the stable slot fails its readiness probe)")
    return lines


def _rollout_line(r: RolloutView) -> str:
    return (
        f"  rollout of {r.model.rsplit('/', 1)[-1]}: step {r.step}/{r.steps}, "
        f"{_weights(r.weights)}, last verdict {r.verdict or 'none yet'}, {r.status}, "
        f"by {r.owner}"
    )


def _weights(weights: dict[str, int]) -> str:
    return " ".join(f"{slot}:{w}%" for slot, w in weights.items()) or "-"


def status_json(report: StatusReport) -> dict[str, Any]:
    """The report as one JSON object: {"services": [...], "healthy": bool}."""
    return {
        "services": [
            {
                "spec": s.spec,
                "env": s.env,
                "slots": {
                    slot: {"model": v.model, "bento": v.bento, "version": v.version}
                    for slot, v in s.slots.items()
                },
                "weights": s.weights,
                "health": None if s.health is None else str(s.health),
                "phase": str(s.phase),
                "last": {"kind": s.last.kind, "ts": s.last.ts, "seq": s.last.seq}
                if s.last
                else None,
                "rollout": _rollout_json(s.rollout),
            }
            for s in report.services
        ],
        "healthy": report.healthy,
    }


def _rollout_json(r: RolloutView | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {
        "release": {"model": r.model, "bento": r.bento},
        "step": r.step,
        "steps": r.steps,
        "weights": r.weights,
        "verdict": r.verdict,
        "analysis": list(r.analysis),
        "status": r.status,
        "owner": r.owner,
        "updated": r.updated,
    }


def _ago(ts: float, now: float) -> str:
    seconds = now - ts
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"


# --- the I/O ------------------------------------------------------------------------------------


def collect(root: Path) -> StatusReport:
    """Read every valid spec's environments: target state, stable readiness, ledger head,
    in-flight rollout (one query each for the ledger and the rollouts)."""
    from pipelines.core.targets import target_for

    ws = Workspace.at(root)
    store = ledger_of(ws).store
    heads = store.ledger_heads()
    rollouts = {(r["spec"], r["env"]): r for r in store.rollouts()}
    services = []
    for report in load_all([ws.root / SPECS_DIR], root=ws.root):
        spec = report.spec
        if spec is None:
            continue
        name = spec.metadata.name
        for env in spec.environments:
            target = target_for(spec, env.name, ws)
            state = target.state()
            ready = None
            if Slot.STABLE in state.slots:
                ready = target.slot_client(Slot.STABLE).ready()
            record = rollouts.get((name, env.name))
            rollout = None if record is None else rollout_view(record, _steps(spec, env.name))
            services.append(
                env_status(name, env.name, state, ready, heads.get((name, env.name)), rollout)
            )
    return StatusReport(services)


def _steps(spec: ModelDeployment, env: str) -> int:
    from validators.spec.resolved import with_defaults

    resolved = with_defaults(spec)
    return next(len(e.rollout.steps) for e in resolved.environments if e.name == env)


def show_status(root: Path, fmt: str) -> tuple[str, int]:
    """`shipyard status` in the format `fmt` (text or json), and its exit code."""
    report = collect(root)
    if fmt == "json":
        return document(status_json(report)), report.exit_code
    return "\n".join(status_text(report, time.time())), report.exit_code


def status_lines(root: Path) -> list[str]:
    """The status table of the project at `root`, as `shipyard status` prints it."""
    return status_text(collect(root), time.time())
