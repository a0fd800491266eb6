"""Fairness gates: a disparity limit per sensitive feature, computed with fairlearn.

Labels are 0/1 with 1 the favourable (positive) outcome. Missing values of a sensitive feature
form their own group, `(missing)`; group values are compared as strings. Groups smaller than
`min_group_size` rows, or without positive or negative labels (TPR or FPR undefined; fairlearn
then counts the rate as 0), are named in the note because their rates are unreliable.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from fairlearn.metrics import (  # type: ignore[import-untyped]
    MetricFrame,
    count,
    demographic_parity_difference,
    demographic_parity_ratio,
    equalized_odds_difference,
    equalized_odds_ratio,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)
from numpy.typing import ArrayLike
from sklearn.metrics import accuracy_score

from validators.gates.result import Comparison, Gate, GateResult, compare, fmt, stopwatch
from validators.spec.model import FairnessGate

MIN_GROUP_SIZE = 30
MISSING = "(missing)"
DISPARITY: dict[str, Callable[..., float]] = {
    "demographic_parity_difference": demographic_parity_difference,
    "demographic_parity_ratio": demographic_parity_ratio,
    "equalized_odds_difference": equalized_odds_difference,
    "equalized_odds_ratio": equalized_odds_ratio,
}
RATES = {
    "count": count,
    "selection_rate": selection_rate,
    "true_positive_rate": true_positive_rate,
    "false_positive_rate": false_positive_rate,
    "accuracy": accuracy_score,
}


def groups_of(column: pd.Series) -> pd.Series:
    """The sensitive column as strings, with missing values as their own group."""
    text = column.astype(object).where(column.notna(), MISSING).astype(str)
    return text.rename(str(column.name))


def group_table(y_true: ArrayLike, y_pred: ArrayLike, groups: pd.Series) -> dict[str, Any]:
    """Per group: count, selection rate, TPR, FPR and accuracy (NaN as None)."""
    frame = MetricFrame(metrics=RATES, y_true=y_true, y_pred=y_pred, sensitive_features=groups)
    table: dict[str, Any] = {}
    for group, row in frame.by_group.iterrows():
        table[str(group)] = {
            key: (int(value) if key == "count" else _finite(value)) for key, value in row.items()
        }
    return table


def _finite(value: Any) -> float | None:
    number = float(value)
    return number if math.isfinite(number) else None


def _driving_rate(metric: str, table: dict[str, Any]) -> str:
    """The rate whose gap between groups the disparity measures."""
    if metric.startswith("demographic_parity"):
        return "selection_rate"
    spread: dict[str, float] = {}
    for rate in ("true_positive_rate", "false_positive_rate"):
        values = [row[rate] for row in table.values() if row[rate] is not None]
        if metric.endswith("_difference"):
            spread[rate] = max(values) - min(values) if values else 0.0
        else:
            spread[rate] = -(min(values) / max(values)) if values and max(values) > 0 else -1.0
    return max(spread, key=lambda rate: spread[rate])


def _warnings(y_true: np.ndarray[Any, Any], groups: pd.Series, min_size: int) -> list[str]:
    found: list[str] = []
    labels = pd.Series(y_true, index=groups.index)
    for group, sizes in labels.groupby(groups).agg(["size", "sum"]).iterrows():
        size, positives = int(sizes["size"]), int(sizes["sum"])
        if size < min_size:
            found.append(f"{group}: only {size} rows")
        elif positives in (0, size):
            found.append(f"{group}: no {'positive' if positives == 0 else 'negative'} labels")
    return found


def fairness_results(
    y_true: ArrayLike,
    y_pred_labels: ArrayLike,
    sensitive: pd.DataFrame,
    gates: list[FairnessGate],
    min_group_size: int = MIN_GROUP_SIZE,
) -> list[GateResult]:
    """One result per gate: the disparity of `gate.metric` over the groups of `gate.feature`.

    `y_true` and `y_pred_labels` are 0/1 labels (threshold probabilities first, e.g. at
    `validators.gates.metrics.THRESHOLD`); `sensitive` holds the data.sensitive_features columns,
    row-aligned. Differences pass when `<= gate.max`, ratios when `>= gate.min`. A feature that
    is not a column of `sensitive` gives a result with `error` set.
    """
    truth = np.asarray(y_true).astype(np.int64)
    predicted = np.asarray(y_pred_labels).astype(np.int64)
    if not len(truth) == len(predicted) == len(sensitive):
        raise ValueError(
            f"lengths differ: y_true {len(truth)}, y_pred_labels {len(predicted)}, "
            f"sensitive {len(sensitive)}"
        )
    results = []
    for gate in gates:
        with stopwatch() as elapsed:
            result = _one(truth, predicted, sensitive, gate, min_group_size)
        results.append(result.timed(elapsed[0]))
    return results


def _one(
    y_true: np.ndarray[Any, Any],
    y_pred: np.ndarray[Any, Any],
    sensitive: pd.DataFrame,
    gate: FairnessGate,
    min_size: int,
) -> GateResult:
    ratio = gate.metric.endswith("_ratio")
    threshold = gate.min if ratio else gate.max
    comparison: Comparison = ">=" if ratio else "<="
    name = f"{gate.feature}: {gate.metric}"
    error = ""
    if gate.feature not in sensitive.columns:
        have = ", ".join(str(c) for c in sensitive.columns) or "none"
        error = f"fairness feature {gate.feature!r} is not in data.sensitive_features ({have})"
    elif threshold is None:
        error = f"{gate.metric} needs `{'min' if ratio else 'max'}` in gates.fairness"
    if error or threshold is None:
        return GateResult(Gate.FAIRNESS, name, False, None, threshold, comparison, error=error)
    groups = groups_of(sensitive[gate.feature].reset_index(drop=True))
    measured = float(DISPARITY[gate.metric](y_true, y_pred, sensitive_features=groups))
    if not math.isfinite(measured):
        error = f"{gate.metric} is undefined here (a rate is 0 in every group of {gate.feature})"
        return GateResult(Gate.FAIRNESS, name, False, None, threshold, comparison, error=error)
    table = group_table(y_true, y_pred, groups)
    rate = _driving_rate(gate.metric, table)
    ranked = sorted(table, key=lambda g: -(table[g][rate] or 0.0))
    warnings = _warnings(y_true, groups, min_size)
    evidence = {
        "feature": gate.feature,
        "metric": gate.metric,
        "groups": table,
        "compared_rate": rate,
        "most_favoured": ranked[0],
        "least_favoured": ranked[-1],
        "warnings": warnings,
    }
    high, low = table[ranked[0]][rate] or 0.0, table[ranked[-1]][rate] or 0.0
    note = f"{rate} {ranked[0]} {fmt(high)} vs {ranked[-1]} {fmt(low)}"
    if len(table) < 2:
        note = f"only one group ({ranked[0]}): no disparity to measure"
    if warnings:
        note += "; small or one-class groups, rates unreliable: " + "; ".join(warnings)
    passed = compare(measured, comparison, threshold)
    return GateResult(
        Gate.FAIRNESS, name, passed, measured, threshold, comparison, evidence, note=note
    )
