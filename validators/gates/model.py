"""The model gate: the spec's metrics on the evaluation data against min/max thresholds."""

from __future__ import annotations

from typing import Any

import numpy as np

from validators.gates.metrics import metric
from validators.gates.result import Comparison, Gate, GateResult, compare
from validators.spec.model import MetricGate


def metric_results(
    y_true: np.ndarray[Any, Any], output: np.ndarray[Any, Any], gates: list[MetricGate]
) -> list[GateResult]:
    """One result per threshold (`min` and `max` each); `max_regression` is the champion's."""
    results = []
    values: dict[str, float] = {}
    for gate in gates:
        if gate.min is None and gate.max is None:
            continue
        m = metric(gate.metric)
        if gate.metric not in values:
            values[gate.metric] = m(y_true, output)
        value = values[gate.metric]
        bounds: list[tuple[Comparison, float]] = []
        if gate.min is not None:
            bounds.append((">=", gate.min))
        if gate.max is not None:
            bounds.append(("<=", gate.max))
        for comparison, threshold in bounds:
            results.append(
                GateResult(
                    gate=Gate.MODEL,
                    name=gate.metric,
                    passed=compare(value, comparison, threshold),
                    measured=value,
                    threshold=threshold,
                    comparison=comparison,
                    evidence={"rows": len(y_true), "positives": _positives(m, y_true)},
                    note="" if value == value else "undefined on this data (one class only?)",
                )
            )
    return results


def _positives(m: Any, y_true: np.ndarray[Any, Any]) -> int | None:
    return int(np.sum(y_true == 1)) if m.classification else None
