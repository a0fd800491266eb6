"""`shipyard apply`: take each spec through its environments in order — offline gates
(cached from plan), build, provision, serving gates, approvals, canary with analysis —
promoting or rolling back automatically. Re-running converges: what already runs is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.approval_sources import (
    ApprovalCheck,
    GitHub,
    github_approvals,
    local_approvals,
)
from pipelines.approvals import Approval, spec_digest
from pipelines.errors import EXIT_FAILED, ShipyardError
from pipelines.gitrevs import resolve
from pipelines.ledger import Ledger
from pipelines.workspace import Workspace
from stacks.target import Release, Slot, Target
from validators.spec.model import Environment, ModelDeployment

if TYPE_CHECKING:
    from pipelines.gates import GateRun
    from pipelines.waivers import WaiverDecision

Say = Callable[[str], None]


@dataclass
class ApplyOptions:
    approved_by: tuple[str, ...] = ()  # an operator's word (demos, break-glass), recorded so
    lock_timeout: float = 900.0
    traffic_rps: float = 0.0  # synthetic traffic during canaries (demo, tests)
    approvals: str = "local"  # where approvals come from: local (`shipyard approve`), github
    head: str | None = None  # the commit being applied (GitHub approvals); default: HEAD
    only_env: str | None = None  # apply to this environment only (CI: one job per environment)


@dataclass
class EnvOutcome:
    env: str
    outcome: str  # promoted, unchanged, rolled back, blocked
    version: str
    detail: str = ""
    seconds: float = 0.0
    restored: str | None = None  # after a rollback: the model serving again (None: nothing)


@dataclass
class SpecOutcome:
    spec: str
    outcome: str
    envs: list[EnvOutcome] = field(default_factory=list)
    detail: str = ""
    stages: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.outcome in ("promoted", "unchanged")


@dataclass
class ApplyResult:
    specs: list[SpecOutcome]

    @property
    def exit_code(self) -> int:
        return 0 if all(s.ok for s in self.specs) else EXIT_FAILED


def ledger_of(ws: Workspace) -> Ledger:
    return Ledger(ws.state / "ledger.jsonl")


def apply_spec(
    spec: ModelDeployment, spec_file: Path, ws: Workspace, options: ApplyOptions, say: Say
) -> SpecOutcome:
    from pipelines.build import build_bento
    from pipelines.gates import run_offline_gates
    from pipelines.signing import SignatureError

    name, ledger = spec.metadata.name, ledger_of(ws)
    outcome = SpecOutcome(name, "promoted")
    started = time.monotonic()
    gates = run_offline_gates(spec, ws)
    outcome.stages["offline gates"] = time.monotonic() - started
    envs = [e for e in spec.environments if options.only_env in (None, e.name)]
    check, waived, blocked = _judge_gates(spec, spec_file, ws, options, envs, gates, say)
    if blocked:
        return SpecOutcome(name, "blocked", detail=blocked, stages=outcome.stages)
    started = time.monotonic()
    try:
        built = build_bento(spec, spec_file, ws, say)
    except SignatureError as exc:  # a reused Bento that changed since it was signed
        ledger.append("refused", name, model=gates.model, reason=exc.message)
        say(f"{name}: REFUSED — {exc.message}")
        return SpecOutcome(name, "blocked", detail=exc.message, stages=outcome.stages)
    outcome.stages["build"] = time.monotonic() - started
    ledger.append(
        "build",
        name,
        bento=built.tag,
        reused=built.reused,
        labels=built.labels,
        signature=built.signature,
    )
    release = Release(built.tag, gates.model, built.labels)
    check = check or approval_check(spec, spec_file, ws, options, envs)
    _run_envs(spec, envs, release, built.columns, ws, options, check, waived, outcome, say)
    if outcome.outcome == "rolled back":
        _propose(spec, spec_file, ws, outcome, say)
    return outcome


def _judge_gates(
    spec: ModelDeployment,
    spec_file: Path,
    ws: Workspace,
    options: ApplyOptions,
    envs: list[Environment],
    gates: GateRun,
    say: Say,
) -> tuple[ApprovalCheck | None, WaiverDecision | None, str]:
    """Record the offline gates; a failure blocks the spec before staging unless waivers
    open the first environment to apply. (approvals fetched, waivers, why blocked or "")."""
    name, ledger = spec.metadata.name, ledger_of(ws)
    ledger.append(
        "gates",
        name,
        model=gates.model,
        data=gates.data,
        passed=gates.passed,
        failed=[r.summary() for r in gates.failed],
        cached=gates.cached,
    )
    if gates.passed:
        cached = ", cached from plan" if gates.cached else ""
        say(f"{name}: offline gates pass ({len(gates.results)} checks{cached})")
        return None, None, ""
    check, waived = _waivers(spec, spec_file, ws, options, envs, gates)
    if waived is not None and envs and not waived.blocking(envs[0].name):
        return check, waived, ""
    failed = (
        waived.explain_block(envs[0].name)
        if waived is not None and envs
        else "; ".join(f"{r.gate}: {r.summary()}" for r in gates.failed)
    )
    ledger.append("blocked", name, model=gates.model, reason=failed)
    say(f"{name}: blocked before staging — offline gates failed: {failed}")
    return check, waived, failed


def _run_envs(
    spec: ModelDeployment,
    envs: list[Environment],
    release: Release,
    columns: list[dict[str, Any]],
    ws: Workspace,
    options: ApplyOptions,
    check: ApprovalCheck,
    waived: WaiverDecision | None,
    outcome: SpecOutcome,
    say: Say,
) -> None:
    """Each environment in order; the first that does not end promoted or unchanged stops
    the ones after it."""
    from pipelines.environments import reconcile_environment

    for env in envs:
        started = time.monotonic()
        if waived is not None and waived.blocking(env.name):
            result = _gate_blocked(spec, env, release, waived, ws, say)
        else:
            if waived is not None:
                _record_waivers(spec, env, release, waived, check.digest, ws, say)
            result = reconcile_environment(spec, env, release, columns, ws, options, check, say)
        outcome.stages[env.name] = time.monotonic() - started
        outcome.envs.append(result)
        if result.outcome not in ("promoted", "unchanged"):
            later = [e.name for e in envs][len(outcome.envs) :]
            untouched = f"; {', '.join(later)} untouched" if later else ""
            outcome.outcome, outcome.detail = result.outcome, result.detail + untouched
            return
    if all(e.outcome == "unchanged" for e in outcome.envs):
        outcome.outcome = "unchanged"


def _waivers(
    spec: ModelDeployment,
    spec_file: Path,
    ws: Workspace,
    options: ApplyOptions,
    envs: list[Environment],
    gates: GateRun,
) -> tuple[ApprovalCheck | None, WaiverDecision | None]:
    """The waivers of the failed gates (None when no environment could waive them: then
    approvals are not even fetched)."""
    from pipelines.waivers import has_waiver_rules

    if not has_waiver_rules(spec.environments, gates.results):
        return None, None
    check = approval_check(spec, spec_file, ws, options, envs, spec.environments)
    return check, check.waivers(gates.results, spec.environments)


def _gate_blocked(
    spec: ModelDeployment,
    env: Environment,
    release: Release,
    waived: WaiverDecision,
    ws: Workspace,
    say: Say,
) -> EnvOutcome:
    reason = waived.explain_block(env.name)
    ledger_of(ws).append(
        "blocked", spec.metadata.name, env.name, model=release.model, reason=reason
    )
    say(f"{spec.metadata.name}/{env.name}: blocked — offline gates failed: {reason}")
    return EnvOutcome(env.name, "blocked", release.model, reason)


def _record_waivers(
    spec: ModelDeployment,
    env: Environment,
    release: Release,
    waived: WaiverDecision,
    digest: str,
    ws: Workspace,
    say: Say,
) -> None:
    for waiver in waived.used(env.name):
        checks = [f.check for f in waived.failures if f.family == waiver.family]
        ledger_of(ws).append(
            "waiver",
            spec.metadata.name,
            env.name,
            model=release.model,
            gate=waiver.family,
            rule_env=waiver.env,
            waived_by=list(waiver.by),
            reasons=list(waiver.reasons),
            failed=checks,
            digest=digest,
        )
        say(
            f"{spec.metadata.name}/{env.name}: the failed {waiver.family} gate is WAIVED by "
            f"{', '.join(waiver.reasons)} ({'; '.join(checks)})"
        )


def _propose(
    spec: ModelDeployment, spec_file: Path, ws: Workspace, outcome: SpecOutcome, say: Say
) -> None:
    """After a rollback: a proposal that brings the spec back in line with what runs."""
    from pipelines.proposals import propose_revert

    rolled = outcome.envs[-1]
    if rolled.restored is None:
        say(f"{spec.metadata.name}: nothing ran in {rolled.env} before; no revert proposed")
        return
    try:
        message = propose_revert(
            ws, spec, spec_file, rolled.env, rolled.version, rolled.restored, rolled.detail
        )
    except (ShipyardError, OSError) as exc:
        message = f"could not write a revert proposal: {exc}"
    say(f"{spec.metadata.name}: {message}")


def target_release(target: Target) -> Release | None:
    stable = target.state().slots.get(Slot.STABLE)
    return stable.release if stable else None


def approval_check(
    spec: ModelDeployment,
    spec_file: Path,
    ws: Workspace,
    options: ApplyOptions,
    envs: list[Environment],
    rules_of: list[Environment] | None = None,
) -> ApprovalCheck:
    """The approvals of this exact spec file from the chosen source (GitHub is asked only
    when an environment of `rules_of`, default `envs`, has approval or waiver rules)."""

    digest = spec_digest(spec_file.read_bytes())
    given = [Approval(who, digest, "--approved-by") for who in options.approved_by]
    if not any(env.approvals for env in (envs if rules_of is None else rules_of)):
        return ApprovalCheck(digest, given)
    if options.approvals == "github":
        github = GitHub.from_env()
        sha = resolve(ws.root, options.head or "HEAD")
        path = spec_file.resolve().relative_to(ws.root).as_posix()
        found, author = github_approvals(github, sha, path)
        return ApprovalCheck(digest, found + given, author, "github", github=github)
    return ApprovalCheck(digest, local_approvals(ws, spec.metadata.name) + given)
