"""One pass over a window of prediction logs: bucket counts per time bin (and samples when
the drift method needs raw values), labelled outputs when a feedback file is given, then the
drift verdicts. This is the part whose cost grows with traffic (`benchmarks/monitor.py`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.monitor import checks
from pipelines.monitor.baseline import Baseline
from pipelines.monitor.feedback import Feedback
from pipelines.monitor.logs import MAX_ROWS, ReadStats, log_files, read_window
from pipelines.monitor.stream import OUTPUT, RAW_METHODS, Accumulator, Window
from validators.gates.result import GateResult
from validators.spec.model import DriftGate

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Scan:
    """What one pass found: the accumulator and what reading cost."""

    acc: Accumulator
    read: ReadStats

    @property
    def rows(self) -> int:
        """Predictions counted (a sample of 1 in `read.every` of a large window)."""
        return int(self.acc.rows.sum())

    @property
    def predictions(self) -> int:
        """Predictions in the window (estimated from the sample when one was taken)."""
        return self.rows * self.read.every


def scan(
    directories: list[Path],
    baseline: Baseline,
    window: Window,
    method: str,
    feedback: Feedback | None = None,
    max_rows: int | None = MAX_ROWS,
) -> Scan:
    """Stream the window; every line when a feedback file must be joined."""
    acc = Accumulator(baseline.profile, baseline.output, window, raw=method in RAW_METHODS)
    stats = ReadStats()
    files = log_files(directories, window.start)
    limit = None if feedback is not None else max_rows
    for chunk in read_window(
        files, baseline.kinds, window.start, window.end, stats, max_rows=limit
    ):
        acc.add(chunk)
        if feedback is not None:
            feedback.match(chunk.inputs, chunk.outputs, baseline.kinds)
    return Scan(acc, stats)


def drift_results(found: Scan, baseline: Baseline, method: str, limit: float) -> list[GateResult]:
    """Input drift (the offline gate's statistic) and output shift over the whole window."""
    gate = DriftGate(method=method, max=limit, features=list(baseline.profile.features))  # type: ignore[arg-type]
    acc, rows = found.acc, found.rows
    if method in RAW_METHODS:
        sample = acc.sample.frame()
        inputs = checks.sampled_drift(baseline.reference, _inputs(sample), gate, rows)
    else:
        totals = {name: acc.total(name) for name in baseline.profile.features}
        inputs = checks.input_drift(baseline.profile, totals, gate, rows)
    output = checks.output_shift(baseline.output, acc.total(OUTPUT), method, limit, rows)
    return [inputs, output]


def _inputs(sample: pd.DataFrame | None) -> pd.DataFrame | None:
    return None if sample is None else sample.drop(columns=[OUTPUT])
