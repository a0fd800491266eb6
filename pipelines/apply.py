"""`shipyard apply`: take each spec through its environments in order — offline gates
(cached from plan), build, provision, serving gates, approvals, canary with analysis —
promoting or rolling back automatically. Re-running converges: what already runs is kept.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.approval_sources import (
    ApprovalCheck,
    GitHub,
    github_approvals,
    local_approvals,
)
from pipelines.approvals import Approval, spec_digest
from pipelines.errors import EXIT_FAILED
from pipelines.gitrevs import resolve
from pipelines.ledger import Ledger
from pipelines.workspace import Workspace
from stacks.target import Release, Slot, Target
from validators.spec.model import Environment, ModelDeployment

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

    name, ledger = spec.metadata.name, ledger_of(ws)
    outcome = SpecOutcome(name, "promoted")
    started = time.monotonic()
    gates = run_offline_gates(spec, ws)
    outcome.stages["offline gates"] = time.monotonic() - started
    ledger.append(
        "gates",
        name,
        model=gates.model,
        data=gates.data,
        passed=gates.passed,
        failed=[r.summary() for r in gates.failed],
        cached=gates.cached,
    )
    if not gates.passed:
        failed = "; ".join(f"{r.gate}: {r.summary()}" for r in gates.failed)
        ledger.append("blocked", name, model=gates.model, reason=failed)
        say(f"{name}: blocked before staging — offline gates failed: {failed}")
        return SpecOutcome(name, "blocked", detail=failed, stages=outcome.stages)
    say(
        f"{name}: offline gates pass ({len(gates.results)} checks"
        f"{', cached from plan' if gates.cached else ''})"
    )
    started = time.monotonic()
    built = build_bento(spec, spec_file, ws, say)
    outcome.stages["build"] = time.monotonic() - started
    ledger.append("build", name, bento=built.tag, reused=built.reused, labels=built.labels)
    release = Release(built.tag, gates.model, built.labels)
    from pipelines.environments import reconcile_environment

    envs = [e for e in spec.environments if options.only_env in (None, e.name)]
    check = approval_check(spec, spec_file, ws, options, envs)
    for env in envs:
        started = time.monotonic()
        result = reconcile_environment(spec, env, release, built.columns, ws, options, check, say)
        outcome.stages[env.name] = time.monotonic() - started
        outcome.envs.append(result)
        if result.outcome not in ("promoted", "unchanged"):
            later = [e.name for e in envs][len(outcome.envs) :]
            untouched = f"; {', '.join(later)} untouched" if later else ""
            outcome.outcome, outcome.detail = result.outcome, result.detail + untouched
            break
    else:
        if all(e.outcome == "unchanged" for e in outcome.envs):
            outcome.outcome = "unchanged"
    return outcome


def target_release(target: Target) -> Release | None:
    stable = target.state().slots.get(Slot.STABLE)
    return stable.release if stable else None


def approval_check(
    spec: ModelDeployment,
    spec_file: Path,
    ws: Workspace,
    options: ApplyOptions,
    envs: list[Environment],
) -> ApprovalCheck:
    """The approvals of this exact spec file from the chosen source (GitHub is asked only
    when an environment to apply needs approvals)."""

    digest = spec_digest(spec_file.read_bytes())
    given = [Approval(who, digest, "--approved-by") for who in options.approved_by]
    if not any(env.approvals for env in envs):
        return ApprovalCheck(digest, given)
    if options.approvals == "github":
        github = GitHub.from_env()
        sha = resolve(ws.root, options.head or "HEAD")
        path = spec_file.resolve().relative_to(ws.root).as_posix()
        found, author = github_approvals(github, sha, path)
        return ApprovalCheck(digest, found + given, author, "github", github=github)
    return ApprovalCheck(digest, local_approvals(ws, spec.metadata.name) + given)
