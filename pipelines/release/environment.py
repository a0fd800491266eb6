"""Reconcile one environment of a spec with a release: idempotent steps over observed state —
resume the canary of this release a dead run left (or else recover it: traffic back on
stable), keep what already runs, check approvals and signatures, then take the environment's
strategy (direct, or canary)."""

from __future__ import annotations

from typing import Any

from pipelines.approvals.rules import handle
from pipelines.approvals.sources import ApprovalCheck
from pipelines.audit.ledger import LedgerKind
from pipelines.core.outcomes import Outcome
from pipelines.release.alias import set_alias
from pipelines.release.context import EnvRelease, ReleaseContext
from pipelines.release.inflight import ResumePoint, resume_point
from pipelines.release.outcome import EnvOutcome
from pipelines.release.rollback import recover
from pipelines.release.verify import verify_artifact
from pipelines.state.locks import environment_lock
from stacks.target import Release, Slot, Target
from validators.spec.model import Environment
from validators.spec.resolved import with_defaults


def reconcile_environment(
    ctx: ReleaseContext,
    env: Environment,
    release: Release,
    columns: list[dict[str, Any]],
    check: ApprovalCheck,
) -> EnvOutcome:
    from pipelines.core.targets import target_for

    ws, where = ctx.ws, f"{ctx.name}/{env.name}"
    with environment_lock(ws, ctx.name, env.name, ctx.options.lock_timeout, ctx.say):
        target = target_for(ctx.spec, env.name, ws)
        rollout = with_defaults(ctx.spec).environments[ctx.spec.environments.index(env)].rollout
        point = _resume_point(ctx, env.name, target, release, rollout.strategy)
        if point is None:
            recover(ctx, env.name, target)  # a run died mid-canary: back to stable first
        stable = target.state().slots.get(Slot.STABLE)
        if point is None and stable and stable.release.bento == release.bento:
            set_alias(ws, release, env.name)
            ctx.say(f"{where}: already serves {release.model} — unchanged")
            return EnvOutcome(env.name, Outcome.UNCHANGED, release.model)
        stopped = _approved(ctx, env, release, check) or verify_artifact(ctx, env.name, release)
        if stopped is not None:
            if point is not None:  # no resuming what may no longer go on: stable first
                recover(ctx, env.name, target)
            return stopped
        rows = _rows(ctx, [c["name"] for c in columns])
        er = EnvRelease(ctx, env, release, target, check, rows)
        if point is not None and stable is not None:
            from pipelines.release.canary import canary_release

            resumed = canary_release(er, rollout, point)
            if resumed.outcome == Outcome.ROLLED_BACK:
                resumed.restored = stable.release.model
            return resumed
        if rollout.strategy == "direct" or stable is None:
            from pipelines.release.direct import direct_release

            return direct_release(er, stable.release if stable else None)
        from pipelines.release.canary import canary_release

        result = canary_release(er, rollout)
        if result.outcome == Outcome.ROLLED_BACK:
            result.restored = stable.release.model
        return result


def _resume_point(
    ctx: ReleaseContext, env: str, target: Target, release: Release, strategy: str
) -> ResumePoint | None:
    """The point to resume a dead run's canary of `release` from (under the environment's
    lock: that run is gone); None, saying why, when there is none to resume."""
    from pipelines.release.serving import slot_ready

    left = ctx.ledger.store.rollout(ctx.name, env)
    if not left:
        return None
    canary = target.state().slots.get(Slot.CANARY)
    ready = canary is not None and slot_ready(target, Slot.CANARY)
    point, why = resume_point(left, release.bento, canary.release.bento if canary else None, ready)
    if point is None or strategy != "canary":
        why = why or f"the environment's strategy is now {strategy}"
        ctx.say(f"{ctx.name}/{env}: the rollout a dead run left is not resumed: {why}")
        return None
    return point


def _approved(
    ctx: ReleaseContext, env: Environment, release: Release, check: ApprovalCheck
) -> EnvOutcome | None:
    """A blocked outcome while approvals are missing; else the approvals that count are
    recorded and None returned."""
    missing, verdicts = check.missing(env)
    if missing:
        ctx.record(
            LedgerKind.BLOCKED, env.name, model=release.model, reason=missing, digest=check.digest
        )
        ctx.say(f"{ctx.name}/{env.name}: waiting for approval — {missing}")
        return EnvOutcome(env.name, Outcome.BLOCKED, release.model, missing)
    if verdicts:
        counted = list(dict.fromkeys(who for v in verdicts for who in v.counted))
        ctx.record(
            LedgerKind.APPROVAL,
            env.name,
            model=release.model,
            approved_by=counted,
            digest=check.digest,
            author=check.author,
            sources=sorted({a.source for a in check.approvals if handle(a.who) in counted}),
            not_counted=[i for v in verdicts for i in v.ignored],
        )
    return None


def _rows(ctx: ReleaseContext, columns: list[str]) -> list[dict[str, Any]]:
    from pipelines.release.serving import sample_rows

    return sample_rows(ctx.spec, ctx.ws.root, columns, 500)
