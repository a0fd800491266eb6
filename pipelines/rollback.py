"""`shipyard rollback SPEC --env ENV [--to VERSION]`: back to the last good release (or a
named model version), through the same target calls as an automatic rollback. The release
brought back is checked against its signatures first, as apply checks a new one."""

from __future__ import annotations

from pathlib import Path

from pipelines.apply import Say, ledger_of
from pipelines.environments import _rollback_canary, _set_alias, _verify_artifact
from pipelines.errors import ShipyardError, UsageError
from pipelines.locks import environment_lock
from pipelines.targets import environment, target_for
from pipelines.workspace import Workspace
from stacks.target import Release, Slot
from validators.spec.loader import load_spec


def rollback(spec_file: Path, env_name: str, to: str | None, ws: Workspace, say: Say) -> str:
    spec = load_spec(spec_file, ws.root)
    env = environment(spec, env_name)
    name, ledger = spec.metadata.name, ledger_of(ws)
    with environment_lock(ws.state, name, env.name, 900, say):
        target = target_for(spec, env.name, ws)
        state = target.state()
        if Slot.CANARY in state.slots:
            _rollback_canary(target, spec, env, "rollback requested", ws)
            return f"{name}/{env.name}: canary removed; all traffic on the stable release"
        current = state.slots.get(Slot.STABLE)
        release = _wanted(ws, name, env.name, to, current.release.bento if current else None)
        if release is None:
            raise UsageError(
                f"no earlier release of {name} in {env.name} to roll back to",
                hint="name one: shipyard rollback SPEC --env ENV --to VERSION",
            )
        if release.bento != (current.release.bento if current else None):
            refused = _verify_artifact(spec, env, release, ws, say)
            if refused is not None:  # nothing changed: the current release keeps serving
                raise ShipyardError(
                    f"refused to roll back {name}/{env.name} to {release.model}: {refused.detail}",
                    hint="restore that Bento from a trusted store, or roll back to another "
                    "version: shipyard rollback SPEC --env ENV --to VERSION",
                )
            target.deploy(Slot.STABLE, release)
        _set_alias(ws, release, env.name)
        ledger.append(
            "rollback",
            name,
            env.name,
            model=release.model,
            bento=release.bento,
            requested=True,
            previous=current.release.model if current else None,
        )
        return f"{name}/{env.name}: now serving {release.model} ({release.bento})"


def _wanted(
    ws: Workspace, spec: str, env: str, to: str | None, current: str | None
) -> Release | None:
    """The release to restore: `to` (a model version) from the ledger's records, else the
    latest promoted release that is not the current one."""
    promoted = [
        e
        for e in ledger_of(ws).entries()
        if e.spec == spec and e.kind in ("promoted", "build") and "bento" in e.details
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
        elif entry.kind == "promoted" and entry.env == env and bento != current:
            return Release(bento, model)
    return None
