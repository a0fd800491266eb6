"""`shipyard rollback SPEC --env ENV [--to VERSION]`: back to the last good release (or a
named model version), through the same target calls as an automatic rollback. The release
brought back is checked against its signatures first, as apply checks a new one.
`rollback_canary` is the one way a canary is taken out, for an operator and for apply's own
recovery alike."""

from __future__ import annotations

from pathlib import Path

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.errors import ShipyardError, UsageError
from pipelines.core.locks import environment_lock
from pipelines.core.output import Say
from pipelines.core.specs import load_spec
from pipelines.core.targets import environment, target_for
from pipelines.core.workspace import Workspace
from pipelines.release.alias import set_alias
from pipelines.release.context import ApplyOptions, ReleaseContext
from pipelines.release.verify import verify_artifact
from stacks.target import Release, Slot, Target


def rollback(spec_file: Path, env_name: str, to: str | None, ws: Workspace, say: Say) -> str:
    spec = load_spec(spec_file, ws.root)
    env = environment(spec, env_name)
    ctx = ReleaseContext(spec, spec_file, ws, ApplyOptions(), say)
    name = ctx.name
    with environment_lock(ws.state, name, env.name, 900, say):
        target = target_for(spec, env.name, ws)
        state = target.state()
        if Slot.CANARY in state.slots:
            rollback_canary(ctx, env.name, target, "rollback requested")
            return f"{name}/{env.name}: canary removed; all traffic on the stable release"
        current = state.slots.get(Slot.STABLE)
        release = _wanted(ws, name, env.name, to, current.release.bento if current else None)
        if release is None:
            raise UsageError(
                f"no earlier release of {name} in {env.name} to roll back to",
                hint="name one: shipyard rollback SPEC --env ENV --to VERSION",
            )
        if release.bento != (current.release.bento if current else None):
            refused = verify_artifact(ctx, env.name, release)
            if refused is not None:  # nothing changed: the current release keeps serving
                raise ShipyardError(
                    f"refused to roll back {name}/{env.name} to {release.model}: {refused.detail}",
                    hint="restore that Bento from a trusted store, or roll back to another "
                    "version: shipyard rollback SPEC --env ENV --to VERSION",
                )
            target.deploy(Slot.STABLE, release)
        set_alias(ws, release, env.name)
        ctx.record(
            LedgerKind.ROLLBACK,
            env.name,
            model=release.model,
            bento=release.bento,
            requested=True,
            previous=current.release.model if current else None,
        )
        return f"{name}/{env.name}: now serving {release.model} ({release.bento})"


def rollback_canary(ctx: ReleaseContext, env: str, target: Target, reason: str) -> None:
    """All traffic back on stable and the canary torn down, whatever state a run left."""
    stable = target.state().slots.get(Slot.STABLE)
    if stable is not None and (stable.weight == 0 or not target.slot_client(Slot.STABLE).ready()):
        # A run killed while promoting (the canary had all the traffic) may have left the
        # stable slot restarting, or half-way to the canary's release: make it run its
        # recorded release again, and be ready, before it takes the traffic back.
        target.deploy(Slot.STABLE, stable.release)
    target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
    target.teardown(Slot.CANARY)
    ctx.record(LedgerKind.ROLLBACK, env, reason=reason)


def _wanted(
    ws: Workspace, spec: str, env: str, to: str | None, current: str | None
) -> Release | None:
    """The release to restore: `to` (a model version) from the ledger's records, else the
    latest promoted release that is not the current one."""
    promoted = [
        e
        for e in ledger_of(ws).entries()
        if e.spec == spec
        and e.kind in (LedgerKind.PROMOTED, LedgerKind.BUILD)
        and "bento" in e.details
    ]
    for entry in reversed(promoted):
        model, bento = str(entry.details.get("model", "")), str(entry.details["bento"])
        labels = entry.details.get("labels") or {}
        version = model.rsplit("/", 1)[-1] if model else str(labels.get("shipyard.model-version"))
        if to is not None:
            if version == to.removeprefix("v"):
                # a build entry names its model in the Bento's labels (the registered model
                # need not be named as the spec is)
                name = labels.get("shipyard.model-name") or spec
                return Release(bento, model or f"models:/{name}/{version}")
        elif entry.kind == LedgerKind.PROMOTED and entry.env == env and bento != current:
            return Release(bento, model)
    return None
