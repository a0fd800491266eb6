"""Gate results as a terminal table: one line per check, failures first to the eye."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from validators.gates.result import Gate, GateResult, fmt

if TYPE_CHECKING:
    from pipelines.gates.run import GateRun

MARK = {"passed": "ok  ", "failed": "FAIL", "error": "ERR "}


def _measured(result: GateResult) -> str:
    if result.gate == Gate.DATA and result.evidence.get("results"):
        records = result.evidence["results"]
        good = sum(1 for r in records if r.get("success"))
        return f"{good}/{len(records)} expectations"
    if result.measured is None or result.threshold is None or result.comparison is None:
        return ""
    return f"{fmt(result.measured)} {result.comparison} {fmt(result.threshold)}"


def render_run(run: GateRun) -> str:
    failed = len(run.failed)
    verdict = "PASSED" if run.passed else f"FAILED ({failed} of {len(run.results)} checks)"
    cached = " (cached)" if run.cached else ""
    lines = [f"{run.spec}  {run.model}  {verdict}{cached}"]
    width = max((len(r.name) for r in run.results), default=10)
    for result in run.results:
        detail = result.error or result.note
        lines.append(
            f"  {MARK[result.verdict]}  {result.gate:<9} {result.name:<{width}}  "
            f"{_measured(result):<24} {detail}".rstrip()
        )
    return "\n".join(lines)


def render_runs(runs: Sequence[GateRun]) -> str:
    blocks = [render_run(run) for run in runs]
    bad = [run.spec for run in runs if not run.passed]
    summary = (
        f"{len(runs)} spec(s): all gates pass"
        if not bad
        else f"{len(runs)} spec(s): {len(bad)} fail their gates ({', '.join(bad)})"
    )
    return "\n\n".join([*blocks, summary])
