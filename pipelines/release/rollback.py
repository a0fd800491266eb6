"""`shipyard rollback SPEC --env ENV [--to VERSION]`: back to the last good release (or a
named model version), through the same target calls as an automatic rollback. The release
brought back is checked against its signatures first, as apply checks a new one.
`rollback_canary` is the one way a canary is taken out, for an operator and for apply's own
recovery alike."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.errors import ShipyardError, UsageError
from pipelines.core.output import Say
from pipelines.core.specs import load_spec
from pipelines.core.targets import environment, target_for
from pipelines.core.workspace import Workspace
from pipelines.release.alias import set_alias
from pipelines.release.context import ApplyOptions, ReleaseContext
from pipelines.release.verify import verify_artifact
from pipelines.state.locks import environment_lock
from stacks.target import Release, Slot, Target

RECOVERED = "a previous apply stopped during its canary"


@dataclass(frozen=True)
class RollbackResult:
    """What `shipyard rollback` did: took a canary out (the stable release keeps serving),
    or put an earlier release on the stable slot."""

    spec: str
    env: str
    canary_removed: bool
    model: str | None  # what serves now (None: not known)
    bento: str | None
    previous: str | None = None  # the model it replaced, on a restore
    seq: int | None = None  # the ledger entry of the restore

    @property
    def message(self) -> str:
        if self.canary_removed:
            return f"{self.spec}/{self.env}: canary removed; all traffic on the stable release"
        return f"{self.spec}/{self.env}: now serving {self.model} ({self.bento})"


def rollback_json(result: RollbackResult) -> dict[str, Any]:
    return {
        "spec": result.spec,
        "env": result.env,
        "action": "canary removed" if result.canary_removed else "restored",
        "model": result.model,
        "bento": result.bento,
        "previous": result.previous,
        "ledger_seq": result.seq,
        "message": result.message,
    }


def rollback(
    spec_file: Path, env_name: str, to: str | None, ws: Workspace, say: Say
) -> RollbackResult:
    from pipelines.audit.checkpoint import sealed

    with sealed(ws, "rollback", say):
        return _rollback(spec_file, env_name, to, ws, say)


def _rollback(
    spec_file: Path, env_name: str, to: str | None, ws: Workspace, say: Say
) -> RollbackResult:
    spec = load_spec(spec_file, ws.root)
    env = environment(spec, env_name)
    ctx = ReleaseContext(spec, spec_file, ws, ApplyOptions(), say)
    name = ctx.name
    with environment_lock(ws, name, env.name, 900, say, "rollback"):
        target = target_for(spec, env.name, ws)
        had_canary = Slot.CANARY in target.state().slots
        recovered = recover(ctx, env.name, target)
        current = target.state().slots.get(Slot.STABLE)
        model, bento = (current.release.model, current.release.bento) if current else (None, None)
        if recovered and had_canary:  # that was the rollback asked for
            return RollbackResult(name, env.name, True, model, bento)
        release = _wanted(ws, name, env.name, to, bento)
        if release is None:
            raise UsageError(
                f"no earlier release of {name} in {env.name} to roll back to",
                hint="name one: shipyard rollback SPEC --env ENV --to VERSION",
            )
        if release.bento != bento:
            refused = verify_artifact(ctx, env.name, release)
            if refused is not None:  # nothing changed: the current release keeps serving
                raise ShipyardError(
                    f"refused to roll back {name}/{env.name} to {release.model}: {refused.detail}",
                    hint="restore that Bento from a trusted store, or roll back to another "
                    "version: shipyard rollback SPEC --env ENV --to VERSION",
                )
            target.deploy(Slot.STABLE, release)
        set_alias(ws, release, env.name)
        entry = ctx.record(
            LedgerKind.ROLLBACK,
            env.name,
            model=release.model,
            bento=release.bento,
            requested=True,
            previous=model,
        )
        ctx.released(env.name, release, "rollback", entry)
        return RollbackResult(name, env.name, False, release.model, release.bento, model, entry.seq)


def rollback_canary(
    ctx: ReleaseContext, env: str, target: Target, reason: str, **details: Any
) -> None:
    """All traffic back on stable and the canary torn down, whatever state a run left."""
    restore_stable(target)
    target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
    target.teardown(Slot.CANARY)
    ctx.record(LedgerKind.ROLLBACK, env, reason=reason, **details)


def recover(ctx: ReleaseContext, env: str, target: Target) -> bool:
    """Before anything else, under the environment's lock: undo what a run that died left —
    a canary still running, or an in-flight record in the state store (written by any
    machine sharing it). True when there was something to recover."""
    from pipelines.state.store import open_store

    store = open_store(ctx.ws.state_url)
    left = store.rollout(ctx.name, env)
    canary = Slot.CANARY in target.state().slots
    if not (canary or left):
        return False
    seen = _left_by(left)
    if canary:
        ctx.say(f"{ctx.name}/{env}: {RECOVERED}{seen}: all traffic back on stable first")
        rollback_canary(ctx, env, target, RECOVERED, left=left)
    else:  # it died after the canary was gone: only the record is left
        ctx.record(LedgerKind.RECOVERED, env, reason=f"{RECOVERED}{seen}", left=left)
    store.clear_rollout(ctx.name, env)
    return True


def _left_by(left: dict[str, Any] | None) -> str:
    if not left:
        return ""
    model = (left.get("release") or {}).get("model", "?")
    return f" ({left.get('owner')}, {model} at step {left.get('step')}, {left.get('status')})"


def restore_stable(target: Target) -> None:
    """A run stopped while promoting (the canary had all the traffic) may have left the
    stable slot restarting, or half-way to the canary's release: make it run its recorded
    release again, and be ready, before it takes the traffic back."""
    stable = target.state().slots.get(Slot.STABLE)
    if stable is not None and (stable.weight == 0 or not target.slot_client(Slot.STABLE).ready()):
        target.deploy(Slot.STABLE, stable.release)


def _history(ws: Workspace, spec: str, env: str) -> list[dict[str, Any]]:
    """The releases of (spec, env), oldest first: the store's release history, or — for a
    ledger brought in by `audit import`, which has none — its promotions."""
    from pipelines.state.store import open_store

    history = open_store(ws.state_url).releases(spec, env)
    if history:
        return history
    promoted = ledger_of(ws).entries(spec, env, (LedgerKind.PROMOTED,))
    return [dict(e.details) for e in promoted if "bento" in e.details and "model" in e.details]


def _wanted(
    ws: Workspace, spec: str, env: str, to: str | None, current: str | None
) -> Release | None:
    """The release to restore: `to` (a model version) from the ledger's records, else the
    latest release of the environment's history (state store) that is not the current one."""
    if to is None:
        for past in reversed(_history(ws, spec, env)):
            if past["bento"] != current:
                return Release(str(past["bento"]), str(past["model"]))
        return None
    kinds = (LedgerKind.PROMOTED, LedgerKind.BUILD)
    recorded = [e for e in ledger_of(ws).entries(spec, kinds=kinds) if "bento" in e.details]
    for entry in reversed(recorded):
        model, bento = str(entry.details.get("model", "")), str(entry.details["bento"])
        labels = entry.details.get("labels") or {}
        version = model.rsplit("/", 1)[-1] if model else str(labels.get("shipyard.model-version"))
        if version == to.removeprefix("v"):
            # a build entry names its model in the Bento's labels (the registered model
            # need not be named as the spec is)
            name = labels.get("shipyard.model-name") or spec
            return Release(bento, model or f"models:/{name}/{version}")
    return None
