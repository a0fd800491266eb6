"""Run the demo spec's offline gates against each demo model: the good one passes, each
other variant fails exactly the gate it was built to fail."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from pipelines.gates.run import GateRun, run_offline_gates
from validators.gates.result import fmt

EXPECTED_FAILURE = {
    "good": set(),
    "regressed": {"model"},
    "biased": {"fairness"},
    "drifted": {"drift"},
}


def gate_variants(ws: Workspace, versions: dict[str, str], say: Callable[[str], None]) -> bool:
    """Print one line per variant and write the HTML report; True when all behave."""
    from pipelines.report.html import render_html

    spec = load_spec(ws.root / "specs" / "credit-risk.yaml", ws.root)
    runs: list[GateRun] = []
    as_expected = True
    for variant, version in versions.items():
        uri = f"models:/credit-risk/{version}"
        model = spec.model.model_copy(update={"uri": uri})
        run = run_offline_gates(spec.model_copy(update={"model": model}), ws)
        runs.append(run)
        failed = {r.gate for r in run.failed}
        as_expected &= failed == EXPECTED_FAILURE.get(variant, failed)
        say(f"{variant:<10} {uri:<22} {_verdict(run)}")
    report = ws.state / "reports" / "demo-gates.html"
    report.parent.mkdir(parents=True, exist_ok=True)
    report.write_text(render_html(runs, title="Shipyard demo: offline gates"), encoding="utf-8")
    say(f"report: {report}")
    return as_expected


def _verdict(run: GateRun) -> str:
    if run.passed:
        return f"PASS  all {len(run.results)} checks"
    parts = []
    for r in run.failed:
        if r.error:
            parts.append(f"{r.gate}: {r.error}")
        elif r.measured is not None and r.threshold is not None:
            parts.append(
                f"{r.gate} {r.name} {fmt(r.measured)} (limit {r.comparison} {fmt(r.threshold)})"
            )
    return "FAIL  " + "; ".join(parts)
