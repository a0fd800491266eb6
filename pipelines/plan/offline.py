"""`shipyard plan`: what applying the specs would do, and whether their gates pass.

At this stage a plan holds the offline gate results of each spec (data, model, champion per
environment, fairness, drift). The git diff of specs, the Pulumi preview and approvals join
it with the GitOps work.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import EXIT_FAILED, UsageError
from pipelines.core.specs import SPECS_DIR, load_all
from pipelines.core.workspace import Workspace
from pipelines.gates.run import GateRun, run_offline_gates
from validators.spec.findings import SpecError


@dataclass(frozen=True)
class PlanResult:
    runs: list[GateRun]

    @property
    def exit_code(self) -> int:
        return 0 if all(run.passed for run in self.runs) else EXIT_FAILED


def plan_specs(paths: list[Path], ws: Workspace, use_cache: bool = True) -> PlanResult:
    """Validate every spec under `paths` (default: specs/), then run their offline gates."""
    reports = load_all(paths or [ws.root / SPECS_DIR], root=ws.root)
    if not reports:
        raise UsageError(f"no spec files under {', '.join(map(str, paths)) or SPECS_DIR}")
    findings = [f for report in reports for f in report.findings]
    if findings:
        raise SpecError(findings)
    runs = [run_offline_gates(r.spec, ws, use_cache) for r in reports if r.spec is not None]
    return PlanResult(runs)
