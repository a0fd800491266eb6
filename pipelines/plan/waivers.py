"""The waivers a plan shows: for each spec whose offline gates fail, the waivers recorded
for its digest at the head revision (local records, or the pull request's reviews)."""

from __future__ import annotations

from collections.abc import Mapping

from pipelines.approvals.rules import spec_digest
from pipelines.approvals.sources import ApprovalCheck, GitHub, github_approvals, local_approvals
from pipelines.approvals.waivers import WaiverDecision
from pipelines.core.git import resolve, show
from pipelines.core.workspace import Workspace
from pipelines.gates.run import GateRun
from pipelines.plan.planner import SpecSide


def plan_waivers(
    ws: Workspace,
    head: str | None,
    after: Mapping[str, SpecSide],
    runs: Mapping[str, GateRun],
    source: str = "local",
) -> dict[str, WaiverDecision]:
    """For `shipyard plan`: the waivers of each spec whose gates fail, at the spec's digest at
    `head` — recorded by `shipyard approve --waive` (local), or given in the reviews of the
    pull request that holds `head` (github: `/waive GATE: reason` in an approving review)."""
    github = (
        GitHub.from_env()
        if source == "github" and any(not run.passed for run in runs.values())
        else None
    )
    out = {}
    for name, run in runs.items():
        side = after.get(name)
        text = show(ws.root, head, side.path) if side is not None else None
        if side is None or text is None or run.passed:
            continue
        check = ApprovalCheck(spec_digest(text), local_approvals(ws, name))
        if github is not None:
            sha = resolve(ws.root, head or "HEAD")
            found, author = github_approvals(github, sha, side.path)
            check = ApprovalCheck(check.digest, found, author, "github", github=github)
        out[name] = check.waivers(run.results, side.spec.environments)
    return out
