"""What one monitor run found and did, as every report of it reads it: one environment of one
spec watched over one window, and the actions it set off."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from pipelines.core.errors import EXIT_FAILED
from pipelines.monitor import checks
from pipelines.monitor.logs import ReadStats
from pipelines.monitor.metrics import Point
from validators.gates.result import GateResult


@dataclass(frozen=True)
class Taken:
    """One action: done or not, what happened, files written."""

    action: str
    done: bool
    detail: str
    files: tuple[str, ...] = ()


def drifting(result: GateResult) -> list[dict[str, object]]:
    """The features over the threshold in a drift result, highest score first."""
    limit = result.threshold
    return [
        {"feature": f["feature"], "score": f["score"]}
        for f in result.evidence.get("features", [])
        if isinstance(f.get("score"), int | float) and limit is not None and f["score"] > limit
    ]


@dataclass(frozen=True)
class MonitorRun:
    """One environment of one spec watched over one window."""

    spec: str
    env: str
    model: str = ""
    start: float = 0.0
    end: float = 0.0
    method: str = ""
    rows: int = 0
    results: list[GateResult] = field(default_factory=list)
    edges: list[float] = field(default_factory=list)  # time bins of the series
    rows_series: list[int] = field(default_factory=list)
    drift_series: dict[str, list[float | None]] = field(default_factory=dict)
    slo_series: list[Point] = field(default_factory=list)
    read: ReadStats = field(default_factory=ReadStats)
    actions: list[Taken] = field(default_factory=list)
    skipped: str = ""
    seconds: float = 0.0

    @property
    def breached(self) -> list[GateResult]:
        return checks.breaches(self.results)

    @property
    def errors(self) -> list[GateResult]:
        return [r for r in self.results if r.error]

    @property
    def drifting(self) -> list[dict[str, object]]:
        return [f for r in self.results if r.gate == "drift" for f in drifting(r)]


@dataclass(frozen=True)
class MonitorResult:
    runs: list[MonitorRun]

    @property
    def exit_code(self) -> int:
        bad = any(run.breached or run.errors for run in self.runs)
        return EXIT_FAILED if bad else 0


@dataclass(frozen=True)
class Options:
    env: str = "production"
    window: str | None = None  # overrides monitoring.window
    feedback: Path | None = None
    act: bool = True
    now: float | None = None
