"""The one result type of every gate, so the terminal, the PR comment, the HTML report and the
audit ledger all render the same thing."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from enum import StrEnum
from typing import Any, Literal

Comparison = Literal[">=", "<=", "=="]
VIOLATED = {">=": "<", "<=": ">", "==": "!="}


class Gate(StrEnum):
    """The families of checks. Offline: data, model, champion, fairness, drift; on a running
    slot: serving; after release (the monitor): output, accuracy, slo (and drift again)."""

    DATA = "data"
    MODEL = "model"
    CHAMPION = "champion"
    FAIRNESS = "fairness"
    DRIFT = "drift"
    SERVING = "serving"
    OUTPUT = "output"
    ACCURACY = "accuracy"
    SLO = "slo"


@dataclass(frozen=True)
class GateResult:
    """One check of one gate.

    `gate` is the family (`data`, `model`, `champion`, `fairness`, `drift`, `serving`); `name`
    says what was checked (`roc_auc`, `sex: demographic_parity_difference`). `measured` is
    compared to `threshold` with `comparison`; `evidence` holds what a reviewer needs to trust
    the verdict (per-group values, per-feature scores, per-expectation results) and must be
    JSON-serializable. `error` is set when the gate could not be evaluated at all.
    """

    gate: str  # a Gate value
    name: str
    passed: bool
    measured: float | None
    threshold: float | None
    comparison: Comparison | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    duration_s: float = 0.0
    note: str = ""
    error: str = ""

    @property
    def verdict(self) -> Literal["passed", "failed", "error"]:
        if self.error:
            return "error"
        return "passed" if self.passed else "failed"

    def summary(self) -> str:
        """`roc_auc 0.842 >= 0.800` or the error."""
        if self.error:
            return self.error
        if self.measured is None or self.threshold is None or self.comparison is None:
            return self.note
        relation = self.comparison if self.passed else VIOLATED[self.comparison]
        text = f"{self.name} {fmt(self.measured)} {relation} {fmt(self.threshold)}"
        return f"{text} ({self.note})" if self.note else text

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> GateResult:
        return cls(**data)

    def timed(self, duration_s: float) -> GateResult:
        return replace(self, duration_s=duration_s)


def compare(measured: float, comparison: Comparison, threshold: float) -> bool:
    """Whether `measured comparison threshold` holds (NaN never passes)."""
    if math.isnan(measured):
        return False
    if comparison == ">=":
        return measured >= threshold
    if comparison == "<=":
        return measured <= threshold
    return measured == threshold


def fmt(value: float) -> str:
    """A measurement as a person reads it: 4 significant digits."""
    return f"{value:.4g}"


@contextmanager
def stopwatch() -> Iterator[list[float]]:
    """`with stopwatch() as t: ...` then `t[0]` is the elapsed seconds."""
    elapsed: list[float] = [0.0]
    started = time.perf_counter()
    try:
        yield elapsed
    finally:
        elapsed[0] = time.perf_counter() - started
