"""The canary path of an environment: deploy the canary, smoke it, walk the rollout steps
with analysis, then promote — or roll back at once, saying which measurement failed."""

from __future__ import annotations

import time
from typing import Any

from pipelines.apply import ApplyOptions, EnvOutcome, Say, ledger_of
from pipelines.workspace import Workspace
from stacks.target import Release, Slot, Target
from validators.spec.model import Environment, ModelDeployment
from validators.spec.resolved import ResolvedRollout, with_defaults


def canary_release(
    spec: ModelDeployment,
    env: Environment,
    target: Target,
    release: Release,
    rollout: ResolvedRollout,
    rows: list[dict[str, Any]],
    ws: Workspace,
    options: ApplyOptions,
    say: Say,
) -> EnvOutcome:
    from pipelines.canary import run_canary
    from pipelines.environments import _set_alias
    from pipelines.rollout import Policy
    from validators.serving import smoke

    name, ledger, started = spec.metadata.name, ledger_of(ws), time.monotonic()
    api = with_defaults(spec).service.api
    say(f"{name}/{env.name}: canary of {release.model} ({release.bento})")
    slot = target.deploy(Slot.CANARY, release)
    ledger.append("deploy", name, env.name, slot="canary", model=release.model, bento=release.bento)
    check = smoke(slot.url, api, rows[:20])
    if not check.passed:
        return _rolled_back(
            target, spec, env, release, f"canary smoke: {check.summary()}", ws, say, started
        )
    serving = spec.gates.serving if spec.gates else None
    policy = Policy(
        min_requests=rollout.analysis.min_requests,
        error_rate_max=(
            serving.error_rate_max if serving and serving.error_rate_max is not None else 0.01
        ),
        latency_p95_ms=serving.latency_p95_ms if serving else None,
    )
    replay = _traffic(target, api, rows, options)
    try:
        result = run_canary(
            target,
            rollout,
            policy,
            api,
            say,
            lambda kind, data: ledger.append(kind, name, env.name, **data),
        )
    finally:
        if replay is not None:
            replay.stop()
    if not result.passed:
        ledger.append(
            "rollback",
            name,
            env.name,
            model=release.model,
            reason=result.reason,
            switch_s=result.rollback_s,
        )
        say(
            f"{name}/{env.name}: ROLLED BACK {release.model} — {result.reason}; traffic was "
            f"back on stable {result.rollback_s or 0:.2f}s after the verdict"
        )
        return EnvOutcome(
            env.name, "rolled back", release.model, result.reason, time.monotonic() - started
        )
    target.promote()
    _set_alias(ws, release, env.name)
    ledger.append(
        "promoted",
        name,
        env.name,
        model=release.model,
        bento=release.bento,
        strategy="canary",
        measurements=result.measurements,
    )
    say(
        f"{name}/{env.name}: promoted {release.model} after {result.measurements} "
        f"measurements ({result.canary_requests:.0f} canary requests)"
    )
    return EnvOutcome(env.name, "promoted", release.model, "", time.monotonic() - started)


def _traffic(target: Target, api: str, rows: list[dict[str, Any]], options: ApplyOptions) -> Any:
    if options.traffic_rps <= 0 or not rows:
        return None
    from pipelines.traffic import Replay
    from validators.serving import api_url

    endpoint = target.state().endpoint
    if endpoint is None:
        return None
    return Replay(api_url(endpoint, api), rows, options.traffic_rps).start()


def _rolled_back(
    target: Target,
    spec: ModelDeployment,
    env: Environment,
    release: Release,
    reason: str,
    ws: Workspace,
    say: Say,
    started: float,
) -> EnvOutcome:
    target.teardown(Slot.CANARY)
    ledger_of(ws).append(
        "rollback", spec.metadata.name, env.name, model=release.model, reason=reason
    )
    say(f"{spec.metadata.name}/{env.name}: ROLLED BACK {release.model} — {reason}")
    return EnvOutcome(env.name, "rolled back", release.model, reason, time.monotonic() - started)
