"""`shipyard apply`: take each spec through its environments in order — offline gates
(cached from plan), build, provision, serving gates, approvals, canary with analysis —
promoting or rolling back automatically. Re-running converges: what already runs is kept.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.approvals.rules import Approval, spec_digest
from pipelines.approvals.sources import ApprovalCheck, GitHub, github_approvals, local_approvals
from pipelines.audit.ledger import LedgerKind
from pipelines.core.errors import ShipyardError
from pipelines.core.git import resolve
from pipelines.core.outcomes import Outcome
from pipelines.core.output import Say
from pipelines.core.workspace import Workspace
from pipelines.release.context import ApplyOptions, ReleaseContext
from pipelines.release.outcome import EnvOutcome, SpecOutcome
from stacks.target import Release
from validators.spec.model import Environment, ModelDeployment

if TYPE_CHECKING:
    from pipelines.approvals.waivers import WaiverDecision
    from pipelines.gates.run import GateRun


def apply_spec(
    spec: ModelDeployment, spec_file: Path, ws: Workspace, options: ApplyOptions, say: Say
) -> SpecOutcome:
    from pipelines.build.bento import build_bento
    from pipelines.build.signing import SignatureError
    from pipelines.gates.run import run_offline_gates

    ctx = ReleaseContext(spec, spec_file, ws, options, say)
    name = ctx.name
    outcome = SpecOutcome(name, Outcome.PROMOTED)
    started = time.monotonic()
    gates = run_offline_gates(spec, ws)
    outcome.stages["offline gates"] = time.monotonic() - started
    envs = [e for e in spec.environments if options.only_env in (None, e.name)]
    check, waived, blocked = _judge_gates(ctx, envs, gates)
    if blocked:
        return SpecOutcome(name, Outcome.BLOCKED, detail=blocked, stages=outcome.stages)
    started = time.monotonic()
    try:
        built = build_bento(spec, spec_file, ws, say)
    except SignatureError as exc:  # a reused Bento that changed since it was signed
        ctx.record(LedgerKind.REFUSED, model=gates.model, reason=exc.message)
        say(f"{name}: REFUSED — {exc.message}")
        return SpecOutcome(name, Outcome.BLOCKED, detail=exc.message, stages=outcome.stages)
    outcome.stages["build"] = time.monotonic() - started
    ctx.record(
        LedgerKind.BUILD,
        bento=built.tag,
        reused=built.reused,
        labels=built.labels,
        signature=built.signature,
    )
    release = Release(built.tag, gates.model, built.labels)
    check = check or approval_check(ctx, envs)
    _run_envs(ctx, envs, release, built.columns, check, waived, outcome)
    if outcome.outcome == Outcome.ROLLED_BACK:
        _propose(ctx, outcome)
    return outcome


def _judge_gates(
    ctx: ReleaseContext, envs: list[Environment], gates: GateRun
) -> tuple[ApprovalCheck | None, WaiverDecision | None, str]:
    """Record the offline gates; a failure blocks the spec before staging unless waivers
    open the first environment to apply. (approvals fetched, waivers, why blocked or "")."""
    ctx.record(
        LedgerKind.GATES,
        model=gates.model,
        data=gates.data,
        passed=gates.passed,
        failed=[r.summary() for r in gates.failed],
        cached=gates.cached,
    )
    if gates.passed:
        cached = ", cached from plan" if gates.cached else ""
        ctx.say(f"{ctx.name}: offline gates pass ({len(gates.results)} checks{cached})")
        return None, None, ""
    check, waived = _waivers(ctx, envs, gates)
    if waived is not None and envs and not waived.blocking(envs[0].name):
        return check, waived, ""
    failed = (
        waived.explain_block(envs[0].name)
        if waived is not None and envs
        else "; ".join(f"{r.gate}: {r.summary()}" for r in gates.failed)
    )
    ctx.record(LedgerKind.BLOCKED, model=gates.model, reason=failed)
    ctx.say(f"{ctx.name}: blocked before staging — offline gates failed: {failed}")
    return check, waived, failed


def _run_envs(
    ctx: ReleaseContext,
    envs: list[Environment],
    release: Release,
    columns: list[dict[str, Any]],
    check: ApprovalCheck,
    waived: WaiverDecision | None,
    outcome: SpecOutcome,
) -> None:
    """Each environment in order; the first that does not end promoted or unchanged stops
    the ones after it."""
    from pipelines.release.environment import reconcile_environment

    for env in envs:
        started = time.monotonic()
        if waived is not None and waived.blocking(env.name):
            result = _gate_blocked(ctx, env, release, waived)
        else:
            if waived is not None:
                _record_waivers(ctx, env, release, waived, check.digest)
            result = reconcile_environment(ctx, env, release, columns, check)
        outcome.stages[env.name] = time.monotonic() - started
        outcome.envs.append(result)
        if not result.outcome.ok:
            later = [e.name for e in envs][len(outcome.envs) :]
            untouched = f"; {', '.join(later)} untouched" if later else ""
            outcome.outcome, outcome.detail = result.outcome, result.detail + untouched
            return
    if all(e.outcome == Outcome.UNCHANGED for e in outcome.envs):
        outcome.outcome = Outcome.UNCHANGED


def _waivers(
    ctx: ReleaseContext, envs: list[Environment], gates: GateRun
) -> tuple[ApprovalCheck | None, WaiverDecision | None]:
    """The waivers of the failed gates (None when no environment could waive them: then
    approvals are not even fetched)."""
    from pipelines.approvals.waivers import has_waiver_rules

    if not has_waiver_rules(ctx.spec.environments, gates.results):
        return None, None
    check = approval_check(ctx, envs, ctx.spec.environments)
    return check, check.waivers(gates.results, ctx.spec.environments)


def _gate_blocked(
    ctx: ReleaseContext, env: Environment, release: Release, waived: WaiverDecision
) -> EnvOutcome:
    reason = waived.explain_block(env.name)
    ctx.record(LedgerKind.BLOCKED, env.name, model=release.model, reason=reason)
    ctx.say(f"{ctx.name}/{env.name}: blocked — offline gates failed: {reason}")
    return EnvOutcome(env.name, Outcome.BLOCKED, release.model, reason)


def _record_waivers(
    ctx: ReleaseContext, env: Environment, release: Release, waived: WaiverDecision, digest: str
) -> None:
    for waiver in waived.used(env.name):
        checks = [f.check for f in waived.failures if f.family == waiver.family]
        ctx.record(
            LedgerKind.WAIVER,
            env.name,
            model=release.model,
            gate=waiver.family,
            rule_env=waiver.env,
            waived_by=list(waiver.by),
            reasons=list(waiver.reasons),
            failed=checks,
            digest=digest,
        )
        ctx.say(
            f"{ctx.name}/{env.name}: the failed {waiver.family} gate is WAIVED by "
            f"{', '.join(waiver.reasons)} ({'; '.join(checks)})"
        )


def _propose(ctx: ReleaseContext, outcome: SpecOutcome) -> None:
    """After a rollback: a proposal that brings the spec back in line with what runs."""
    from pipelines.release.revert import propose_revert

    rolled = outcome.envs[-1]
    if rolled.restored is None:
        ctx.say(f"{ctx.name}: nothing ran in {rolled.env} before; no revert proposed")
        return
    try:
        message = propose_revert(
            ctx.ws,
            ctx.spec,
            ctx.spec_file,
            rolled.env,
            rolled.version,
            rolled.restored,
            rolled.detail,
        )
    except (ShipyardError, OSError) as exc:
        message = f"could not write a revert proposal: {exc}"
    ctx.say(f"{ctx.name}: {message}")


def approval_check(
    ctx: ReleaseContext, envs: list[Environment], rules_of: list[Environment] | None = None
) -> ApprovalCheck:
    """The approvals of this exact spec file from the chosen source (GitHub is asked only
    when an environment of `rules_of`, default `envs`, has approval or waiver rules)."""
    options, ws = ctx.options, ctx.ws
    digest = spec_digest(ctx.spec_file.read_bytes())
    given = [Approval(who, digest, "--approved-by") for who in options.approved_by]
    if not any(env.approvals for env in (envs if rules_of is None else rules_of)):
        return ApprovalCheck(digest, given)
    if options.approvals == "github":
        github = GitHub.from_env()
        sha = resolve(ws.root, options.head or "HEAD")
        path = ctx.spec_file.resolve().relative_to(ws.root).as_posix()
        found, author = github_approvals(github, sha, path)
        return ApprovalCheck(digest, found + given, author, "github", github=github)
    return ApprovalCheck(digest, local_approvals(ws, ctx.name) + given)
