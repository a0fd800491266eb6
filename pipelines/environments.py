"""Reconcile one environment of a spec with a release: idempotent steps over observed state."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from pipelines.apply import ApplyOptions, EnvOutcome, Say, ledger_of
from pipelines.approval_sources import ApprovalCheck
from pipelines.approvals import handle
from pipelines.locks import environment_lock
from pipelines.workspace import Workspace
from stacks.target import Release, Slot, Target
from validators.spec.model import Environment, ModelDeployment
from validators.spec.resolved import with_defaults


def reconcile_environment(
    spec: ModelDeployment,
    env: Environment,
    release: Release,
    columns: list[dict[str, Any]],
    ws: Workspace,
    options: ApplyOptions,
    check: ApprovalCheck,
    say: Say,
) -> EnvOutcome:
    from pipelines.targets import target_for

    name = spec.metadata.name
    with environment_lock(ws.state, name, env.name, options.lock_timeout, say):
        target = target_for(spec, env.name, ws)
        state = target.state()
        if Slot.CANARY in state.slots:  # a run died mid-canary: back to stable first
            _rollback_canary(target, spec, env, "a previous apply stopped during its canary", ws)
            state = target.state()
        stable = state.slots.get(Slot.STABLE)
        if stable and stable.release.bento == release.bento:
            _set_alias(ws, release, env.name)
            say(f"{name}/{env.name}: already serves {release.model} — unchanged")
            return EnvOutcome(env.name, "unchanged", release.model)
        missing, verdicts = check.missing(env)
        if missing:
            ledger_of(ws).append(
                "blocked", name, env.name, model=release.model, reason=missing, digest=check.digest
            )
            say(f"{name}/{env.name}: waiting for approval — {missing}")
            return EnvOutcome(env.name, "blocked", release.model, missing)
        if verdicts:
            counted = list(dict.fromkeys(who for v in verdicts for who in v.counted))
            ledger_of(ws).append(
                "approval",
                name,
                env.name,
                model=release.model,
                approved_by=counted,
                digest=check.digest,
                author=check.author,
                sources=sorted({a.source for a in check.approvals if handle(a.who) in counted}),
                not_counted=[i for v in verdicts for i in v.ignored],
            )
        refused = _verify_artifact(spec, env, release, ws, say)
        if refused is not None:
            return refused
        rows = _rows(spec, ws.root, columns)
        rollout = (
            with_defaults(spec)
            .environments[[e.name for e in spec.environments].index(env.name)]
            .rollout
        )
        if rollout.strategy == "direct" or stable is None:
            return _direct(
                spec, env, target, release, stable.release if stable else None, rows, ws, say
            )
        from pipelines.promote import canary_release

        result = canary_release(spec, env, target, release, rollout, rows, ws, options, say)
        if result.outcome == "rolled back":
            result.restored = stable.release.model
        return result


def _verify_artifact(
    spec: ModelDeployment, env: Environment, release: Release, ws: Workspace, say: Say
) -> EnvOutcome | None:
    """Check the Bento and its models against their signatures before provisioning; a
    blocked outcome (and a `refused` ledger entry) when they do not match."""
    import os

    from pipelines.build import bentoml_env
    from pipelines.signing import SignatureError, verify_bento

    name = spec.metadata.name
    os.environ.update(bentoml_env(ws))
    try:
        verified = verify_bento(release.bento, ws.bentoml_home)
    except SignatureError as exc:
        ledger_of(ws).append(
            "refused", name, env.name, model=release.model, bento=release.bento, reason=exc.message
        )
        say(f"{name}/{env.name}: REFUSED — {exc.message}")
        return EnvOutcome(env.name, "blocked", release.model, exc.message)
    ledger_of(ws).append("verified", name, env.name, model=release.model, **verified)
    say(
        f"{name}/{env.name}: signature of {release.bento} verified "
        f"(sha256 {verified['signature'][:12]}, key {verified['key']})"
    )
    return None


def _rows(spec: ModelDeployment, root: Path, columns: list[dict[str, Any]]) -> list[dict[str, Any]]:
    from pipelines.serving import sample_rows

    return sample_rows(spec, root, [c["name"] for c in columns], 500)


def _direct(
    spec: ModelDeployment,
    env: Environment,
    target: Target,
    release: Release,
    previous: Release | None,
    rows: list[dict[str, Any]],
    ws: Workspace,
    say: Say,
) -> EnvOutcome:
    from pipelines.serving import serving_gates

    name, ledger = spec.metadata.name, ledger_of(ws)
    started = time.monotonic()
    say(f"{name}/{env.name}: deploying {release.model} ({release.bento})")
    slot = target.deploy(Slot.STABLE, release)
    ledger.append("deploy", name, env.name, slot="stable", model=release.model, bento=release.bento)
    endpoint = target.state().endpoint or slot.url
    results = serving_gates(spec, endpoint, rows)
    failed = [r for r in results if not r.passed]
    ledger.append(
        "serving", name, env.name, passed=not failed, results=[r.to_json() for r in results]
    )
    for r in results:
        say(f"  {'ok  ' if r.passed else 'FAIL'} serving {r.name}: {r.summary()}")
    if failed:
        reason = "; ".join(f"serving {r.name}: {r.summary()}" for r in failed)
        if previous is not None:
            target.deploy(Slot.STABLE, previous)
        else:  # a first deploy that fails its gates leaves nothing running
            target.destroy()
        ledger.append(
            "rollback",
            name,
            env.name,
            model=release.model,
            reason=reason,
            restored=previous.model if previous else None,
        )
        say(
            f"{name}/{env.name}: serving gates failed — "
            f"{'restored ' + previous.model if previous else 'removed the new deployment'}"
        )
        return EnvOutcome(
            env.name,
            "rolled back",
            release.model,
            reason,
            time.monotonic() - started,
            previous.model if previous else None,
        )
    _set_alias(ws, release, env.name)
    ledger.append(
        "promoted", name, env.name, model=release.model, bento=release.bento, strategy="direct"
    )
    say(f"{name}/{env.name}: {release.model} is live at {endpoint}")
    return EnvOutcome(env.name, "promoted", release.model, "", time.monotonic() - started)


def _rollback_canary(
    target: Target, spec: ModelDeployment, env: Environment, reason: str, ws: Workspace
) -> None:
    from validators.serving import ready

    stable = target.state().slots.get(Slot.STABLE)
    if stable is not None and (stable.weight == 0 or not ready(stable.url)):
        # A run killed while promoting (the canary had all the traffic) may have left the
        # stable slot restarting, or half-way to the canary's release: make it run its
        # recorded release again, and be ready, before it takes the traffic back.
        target.deploy(Slot.STABLE, stable.release)
    target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
    target.teardown(Slot.CANARY)
    ledger_of(ws).append("rollback", spec.metadata.name, env.name, reason=reason)


def _set_alias(ws: Workspace, release: Release, alias: str) -> None:
    from validators.registry import Registry

    model_name, _, version = release.model.removeprefix("models:/").partition("/")
    Registry(ws.mlflow_uri).set_alias(model_name, alias, version)
