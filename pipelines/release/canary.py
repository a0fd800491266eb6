"""The canary strategy of an environment: deploy the canary, smoke it, walk the rollout steps
with analysis, then promote — or roll back at once, saying which measurement failed. A dead
run's canary of the same release (`ResumePoint`) is smoked again and taken up after the last
step it reached instead of being deployed anew."""

from __future__ import annotations

import time

from pipelines.audit.ledger import LedgerKind
from pipelines.core.outcomes import Outcome
from pipelines.core.signals import Interrupted
from pipelines.release.alias import set_alias
from pipelines.release.context import EnvRelease
from pipelines.release.control import StoreControl
from pipelines.release.inflight import ResumePoint, Tracked
from pipelines.release.outcome import EnvOutcome
from pipelines.release.serving import SMOKE_ROWS
from pipelines.release.traffic import Replay
from stacks.target import Slot
from validators.spec.resolved import ResolvedRollout, with_defaults


def canary_release(
    er: EnvRelease, rollout: ResolvedRollout, resume: ResumePoint | None = None
) -> EnvOutcome:
    """The canary, tracked in the state store while it runs; on SIGTERM/SIGINT all traffic
    goes back to stable at once and `interrupted` is recorded before the signal ends the run."""
    tracked = Tracked(er, resume)
    # commands given from here on count, also those given while the canary deploys
    control = StoreControl(er.ctx.ledger.store, er.ctx.name, er.env.name)
    try:
        return _canary(er, rollout, tracked, control, resume)
    except Interrupted as stop:
        _interrupted(er, stop, tracked)
        raise
    finally:
        tracked.done()


def _interrupted(er: EnvRelease, stop: Interrupted, tracked: Tracked) -> None:
    """Stable first (the clients), then the record, then the canary's servers."""
    from stacks.errors import StackError

    started, problems = time.monotonic(), []
    try:
        if tracked.state["status"] == "promoting":  # stable may be restarting: make it ready
            from pipelines.release.rollback import restore_stable

            restore_stable(er.target)
        er.target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
    except StackError as exc:
        problems.append(f"setting weights: {exc}")
    switched = time.monotonic() - started
    er.record(
        LedgerKind.INTERRUPTED,
        model=er.release.model,
        signal=stop.name,
        step=tracked.state["step"],
        switch_s=round(switched, 3),
        problems=problems,
    )
    er.say(
        f"{er.where}: {stop.name}: all traffic back on stable {switched:.2f}s after the "
        f"signal; the canary of {er.release.model} is being removed"
    )
    try:
        er.target.teardown(Slot.CANARY)
    except StackError as exc:
        er.say(f"{er.where}: the canary could not be removed ({exc}); the next apply will")


def _canary(
    er: EnvRelease,
    rollout: ResolvedRollout,
    tracked: Tracked,
    control: StoreControl,
    resume: ResumePoint | None,
) -> EnvOutcome:
    from pipelines.release.steps import run_canary
    from pipelines.release.verdict import Policy
    from validators.gates.serving import smoke

    spec, target, release, started = er.ctx.spec, er.target, er.release, time.monotonic()
    api = with_defaults(spec).service.api
    if resume is None:
        er.say(f"{er.where}: canary of {release.model} ({release.bento})")
        target.deploy(Slot.CANARY, release)
        tracked(LedgerKind.DEPLOY, slot="canary", model=release.model, bento=release.bento)
    client = target.slot_client(Slot.CANARY)
    check = smoke(lambda body: client.post(api, body), er.rows[:SMOKE_ROWS])
    if not check.passed:
        return _rolled_back(er, f"canary smoke: {check.summary()}", started)
    if resume is not None:
        _resumed(er, rollout, resume)
    serving = spec.gates.serving if spec.gates else None
    policy = Policy(
        min_requests=rollout.analysis.min_requests,
        error_rate_max=(
            serving.error_rate_max if serving and serving.error_rate_max is not None else 0.01
        ),
        latency_p95_ms=serving.latency_p95_ms if serving else None,
    )
    replay = _traffic(er, api)
    try:
        result = run_canary(target, rollout, policy, api, er.say, tracked, control, resume)
    finally:
        if replay is not None:
            replay.stop()
    if not result.passed:
        er.record(
            LedgerKind.ROLLBACK,
            model=release.model,
            reason=result.reason,
            switch_s=result.rollback_s,
        )
        er.say(
            f"{er.where}: ROLLED BACK {release.model} — {result.reason}; traffic was "
            f"back on stable {result.rollback_s or 0:.2f}s after the verdict"
        )
        return EnvOutcome(
            er.env.name,
            Outcome.ROLLED_BACK,
            release.model,
            result.reason,
            time.monotonic() - started,
        )
    tracked.status("promoting")
    target.promote()
    set_alias(er.ctx.ws, release, er.env.name)
    entry = er.record(
        LedgerKind.PROMOTED,
        model=release.model,
        bento=release.bento,
        strategy="canary",
        measurements=result.measurements,
        **({"promoted_by": result.promoted_by} if result.promoted_by else {}),
    )
    er.ctx.released(er.env.name, release, "canary", entry)
    er.say(
        f"{er.where}: promoted {release.model} after {result.measurements} "
        f"measurements ({result.canary_requests:.0f} canary requests)"
    )
    return EnvOutcome(er.env.name, Outcome.PROMOTED, release.model, "", time.monotonic() - started)


def _resumed(er: EnvRelease, rollout: ResolvedRollout, point: ResumePoint) -> None:
    """The dead run's weights set again (they should still be), and the resume recorded."""
    weights = point.weights
    er.target.set_weights({Slot.STABLE: weights["stable"], Slot.CANARY: weights["canary"]})
    er.record(
        LedgerKind.RESUMED,
        model=er.release.model,
        step=point.step,
        weights=weights,
        failures=point.failures,
        served=point.served,
        left_by=point.left_by,
    )
    left, by = len(rollout.steps) - point.step, point.left_by or "a dead run"
    er.say(
        f"{er.where}: RESUMED the canary of {er.release.model} left by {by}"
        f" after step {point.step} of {len(rollout.steps)} (canary at {weights['canary']}%, "
        f"{point.failures} failed measurements so far; {left} step(s) to go)"
    )


def _traffic(er: EnvRelease, api: str) -> Replay | None:
    """Synthetic production traffic through the environment's endpoint (demo, tests)."""
    if er.ctx.options.traffic_rps <= 0 or not er.rows:
        return None
    if er.target.state().endpoint is None:
        return None
    client = er.target.slot_client(None)
    return Replay(lambda body: client.post(api, body), er.rows, er.ctx.options.traffic_rps).start()


def _rolled_back(er: EnvRelease, reason: str, started: float) -> EnvOutcome:
    er.target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})  # a resumed canary had traffic
    er.target.teardown(Slot.CANARY)
    er.record(LedgerKind.ROLLBACK, model=er.release.model, reason=reason)
    er.say(f"{er.where}: ROLLED BACK {er.release.model} — {reason}")
    return EnvOutcome(
        er.env.name, Outcome.ROLLED_BACK, er.release.model, reason, time.monotonic() - started
    )
