"""Render a plan in the format asked for, and write the HTML report beside it."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pipelines.gates.run import GateRun


def write_plan(runs: Sequence[GateRun], fmt: str, html: Path | None) -> str:
    """The plan as text, Markdown or JSON; with `html`, also that file."""
    if html is not None:
        from pipelines.report.html import render_html

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(list(runs)), encoding="utf-8")
    if fmt == "markdown":
        from pipelines.report.markdown import render_markdown

        return render_markdown(list(runs), report_url=str(html) if html else None)
    if fmt == "json":
        return json.dumps([run_json(run) for run in runs], indent=2)
    from pipelines.report.terminal import render_runs

    return render_runs(runs)


def run_json(run: GateRun) -> dict[str, object]:
    return {
        "spec": run.spec,
        "model": run.model,
        "data": run.data,
        "passed": run.passed,
        "cached": run.cached,
        "results": [r.to_json() for r in run.results],
    }
