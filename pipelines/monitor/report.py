"""The monitor's reports: a terminal summary, JSON, and the retrain proposal (a JSON event
and Markdown ready to open as an issue or pull request). The HTML page is in `html.py`."""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict
from typing import TYPE_CHECKING, Any

from pipelines.report.terminal import MARK
from validators.gates.result import GateResult, fmt

if TYPE_CHECKING:
    from pipelines.monitor.run import MonitorResult, MonitorRun


def stamp(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%SZ", time.gmtime(ts))


def _measured(r: GateResult) -> str:
    if r.measured is None or r.threshold is None or r.comparison is None:
        return ""
    return f"{fmt(r.measured)} {r.comparison} {fmt(r.threshold)}"


def render_text(result: MonitorResult) -> str:
    blocks = [_run_text(run) for run in result.runs]
    bad = [f"{r.spec}/{r.env}" for r in result.runs if r.breached]
    errors = [f"{r.spec}/{r.env}" for r in result.runs if r.errors and not r.breached]
    summary = f"{len(result.runs)} spec(s): "
    summary += f"breach in {', '.join(bad)}" if bad else "no breach"
    if errors:
        summary += f"; could not measure {', '.join(errors)}"
    return "\n\n".join([*blocks, summary])


def _run_text(run: MonitorRun) -> str:
    if run.skipped:
        return f"{run.spec}/{run.env}  skipped: {run.skipped}"
    verdict = f"BREACH ({len(run.breached)})" if run.breached else "ok"
    head = (
        f"{run.spec}/{run.env}  {run.model}  {verdict}\n"
        f"  window {stamp(run.start)} .. {stamp(run.end)}: {run.rows} predictions read "
        f"({run.read.files} log file(s), {run.read.bytes / 1e6:.1f} MB, "
        f"{run.read.unreadable} unreadable line(s)) in {run.seconds:.1f}s"
    )
    if run.read.every > 1:
        head += f"\n  a large window: 1 log segment in {run.read.every} read (a systematic sample)"
    lines = [head]
    width = max((len(r.name) for r in run.results), default=10)
    for r in run.results:
        lines.append(
            f"  {MARK[r.verdict]}  {r.gate:<8} {r.name:<{width}}  {_measured(r):<22} "
            f"{r.error or r.note}".rstrip()
        )
    for taken in run.actions:
        mark = "done" if taken.done else "FAILED"
        lines.append(f"  action {taken.action}: {mark}: {taken.detail}")
        lines += [f"    wrote {f}" for f in taken.files]
    return "\n".join(lines)


def _finite(value: Any) -> Any:
    return value if not isinstance(value, float) or math.isfinite(value) else None


def run_json(run: MonitorRun) -> dict[str, Any]:
    return {
        "spec": run.spec,
        "env": run.env,
        "model": run.model,
        "skipped": run.skipped or None,
        "window": {"start": run.start, "end": run.end, "method": run.method},
        "predictions": run.rows,
        "read": asdict(run.read),
        "breach": bool(run.breached),
        "results": [r.to_json() for r in run.results],
        "drifting": run.drifting,
        "actions": [asdict(t) for t in run.actions],
        "series": {
            "edges": run.edges,
            "predictions": run.rows_series,
            "drift": run.drift_series,
            "slo": [{k: _finite(v) for k, v in asdict(p).items()} for p in run.slo_series],
        },
        "seconds": run.seconds,
    }


def render_json(result: MonitorResult) -> str:
    return json.dumps([run_json(run) for run in result.runs], indent=2, default=str)


def retrain_event(run: MonitorRun) -> dict[str, Any]:
    """The machine-readable proposal: what drifted, on which release, over which window."""
    return {
        "event": "shipyard.retrain_proposed",
        "spec": run.spec,
        "env": run.env,
        "model": run.model,
        "window": {"start": run.start, "end": run.end, "predictions": run.rows},
        "drifting_features": run.drifting,
        "breaches": [
            {"family": r.gate, "check": r.name, "measured": r.measured, "threshold": r.threshold}
            for r in run.breached
        ],
    }


def retrain_markdown(run: MonitorRun) -> str:
    """A Markdown report to open as an issue or PR: the breaches and the drifting features."""
    lines = [
        f"# Retrain proposed: {run.spec} ({run.env})",
        "",
        f"`shipyard monitor` found live traffic of `{run.model}` in **{run.env}** out of line "
        f"with its baseline over {stamp(run.start)} .. {stamp(run.end)} "
        f"({run.rows} predictions).",
        "",
        "## Breaches",
        "",
        "| Check | Measured | Threshold | Note |",
        "| --- | --- | --- | --- |",
    ]
    for r in run.breached:
        measured = fmt(r.measured) if r.measured is not None else "—"
        threshold = fmt(r.threshold) if r.threshold is not None else "—"
        lines.append(f"| {r.gate}: {r.name} | {measured} | {threshold} | {r.note} |")
    lines += ["", "## Drifting features", ""]
    if run.drifting:
        lines += ["| Feature | Score |", "| --- | --- |"]
        lines += [f"| `{f['feature']}` | {fmt(float(str(f['score'])))} |" for f in run.drifting]
    else:
        lines.append("No input feature is over the threshold (the output or accuracy moved).")
    lines += [
        "",
        "## Next steps",
        "",
        "1. Add recent data (with labels) to the training set and retrain the model.",
        "2. Register the new version in MLflow and point `model.uri` of the spec at it.",
        "3. Open a pull request: `shipyard plan` runs the offline gates on the new version.",
        "",
    ]
    return "\n".join(lines)
