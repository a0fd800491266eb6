"""`shipyard plan --base REV [--head REV]`: the plan of a pull request. Reads the changed specs
at both revisions, what runs now in each environment, the offline gates of each changed spec
and, unless skipped, the `pulumi preview` of each environment that changes; the decisions are
`changeplan.build_plan`'s.

Only changed specs are loaded and evaluated: the other specs of the repository are counted,
not read.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from pipelines.approvals.waivers import WaiverDecision
from pipelines.core.errors import EXIT_FAILED, ShipyardError
from pipelines.core.git import SPEC_SUFFIXES, SpecFileChange, spec_changes
from pipelines.core.specs import SPECS_DIR, load_file, load_text
from pipelines.core.workspace import Workspace
from pipelines.gates.run import GateRun, run_offline_gates
from pipelines.plan.planner import Plan, SpecSide, build_plan
from pipelines.plan.waivers import plan_waivers
from stacks.errors import StackError
from stacks.target import PreviewSummary, Release, Slot
from validators.errors import ValidatorError
from validators.spec.findings import Finding, SpecError
from validators.spec.model import ModelDeployment


@dataclass(frozen=True)
class ChangePlan:
    base: str
    head: str  # a revision, or "working tree"
    plan: Plan
    gates: dict[str, GateRun] = field(default_factory=dict)  # spec name -> gates at head
    previews: dict[tuple[str, str], PreviewSummary | str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    waivers: dict[str, WaiverDecision] = field(default_factory=dict)  # specs failing gates

    def waived(self, name: str) -> bool:
        """The spec's gates fail, and waivers let the release into its first environment."""
        decision = self.waivers.get(name)
        return decision is not None and decision.opens_first

    @property
    def passed(self) -> bool:
        """Every changed spec's gates pass, or its failed checks are waived."""
        return all(run.passed or self.waived(name) for name, run in self.gates.items())

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else EXIT_FAILED


def plan_change(
    ws: Workspace,
    base: str,
    head: str | None,
    *,
    preview: bool = True,
    use_cache: bool = True,
    approvals: str = "local",
) -> ChangePlan:
    files = spec_changes(ws.root, base, head)
    before, after, notes = _sides(ws, files, head)
    running, unknown = _running(ws, [*before.values(), *after.values()])
    notes += unknown
    from pipelines.state.engine import ephemeral_warning

    lost = ephemeral_warning(ws.state_url, ws.root, os.environ)
    if lost:
        notes.append(f"State: {lost}")
    total = sum(1 for p in (ws.root / SPECS_DIR).rglob("*") if p.suffix in SPEC_SUFFIXES)
    plan = build_plan(before, after, running, unchanged=max(0, total - len(after)))
    gates = {
        s.name: run_offline_gates(after[s.name].spec, ws, use_cache)
        for s in plan.changed
        if s.name in after
    }
    previews = _previews(ws, plan, after) if preview else {}
    waivers = plan_waivers(ws, head, after, gates, approvals)
    return ChangePlan(base, head or "working tree", plan, gates, previews, tuple(notes), waivers)


def _sides(
    ws: Workspace, files: list[SpecFileChange], head: str | None
) -> tuple[dict[str, SpecSide], dict[str, SpecSide], list[str]]:
    before: dict[str, SpecSide] = {}
    after: dict[str, SpecSide] = {}
    notes: list[str] = []
    findings: list[Finding] = []
    for change in files:
        if change.after is not None:
            report = (
                load_file(ws.root / change.path, ws.root)
                if head is None
                else load_text(change.after, change.path)
            )
            findings += report.findings
            if report.spec is not None:
                after[report.spec.metadata.name] = SpecSide(change.path, report.spec)
        if change.before is not None:
            old = load_text(change.before, change.before_path or change.path)
            if old.spec is None:
                notes.append(f"{old.file} was not a valid spec at the base; shown as added")
            else:
                before[old.spec.metadata.name] = SpecSide(old.file, old.spec)
    if findings:
        raise SpecError(findings)
    return before, after, notes


def _running(
    ws: Workspace, sides: list[SpecSide]
) -> tuple[dict[tuple[str, str], str | None], list[str]]:
    """The model each environment's stable slot serves now (None: nothing runs there)."""
    from pipelines.core.targets import target_for

    running: dict[tuple[str, str], str | None] = {}
    unknown: list[str] = []
    for side in sides:
        for env in side.spec.environments:
            key = (side.spec.metadata.name, env.name)
            if key in running:
                continue
            try:
                stable = target_for(side.spec, env.name, ws).state().slots.get(Slot.STABLE)
            except (StackError, ShipyardError, ValidatorError, OSError) as exc:
                running[key] = None
                unknown.append(f"{key[0]}/{key[1]}: cannot tell what runs now ({exc})")
                continue
            running[key] = stable.release.model if stable else None
    return running, unknown


def _previews(
    ws: Workspace, plan: Plan, after: dict[str, SpecSide]
) -> dict[tuple[str, str], PreviewSummary | str]:
    """`pulumi preview` of the first change each environment would see (the canary slot
    when a canary runs, else the stable slot); a failure is reported, not raised."""
    from pipelines.build.bento import planned_tag
    from pipelines.core.targets import target_for

    out: dict[tuple[str, str], PreviewSummary | str] = {}
    for spec_plan in plan.changed:
        side = after.get(spec_plan.name)
        if side is None:
            continue
        spec: ModelDeployment = side.spec
        try:
            release = Release(planned_tag(spec, ws.root / side.path, ws), spec.model.uri)
        except (ShipyardError, ValidatorError, OSError) as exc:
            for env in spec_plan.envs:
                out[(spec_plan.name, env.name)] = f"no preview: {exc}"
            continue
        for env in spec_plan.envs:
            if env.action not in ("deploy", "update"):
                continue
            slot = Slot.CANARY if env.strategy == "canary" else Slot.STABLE
            try:
                out[(spec_plan.name, env.name)] = target_for(spec, env.name, ws).preview(
                    slot, release
                )
            except (StackError, ShipyardError, ValidatorError, OSError) as exc:
                out[(spec_plan.name, env.name)] = f"no preview: {exc}"
    return out
