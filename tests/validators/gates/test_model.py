"""The model gate on literal labels and scores: one result per bound, with its evidence."""

from __future__ import annotations

import math

import numpy as np

from validators.gates.model import metric_results
from validators.spec.model import MetricGate

Y = np.array([0, 0, 1, 1, 1, 0, 1, 0])
# labels at the 0.5 cut-off: 0 0 1 1 0 0 1 1 -> 6 of 8 right
S = np.array([0.1, 0.2, 0.9, 0.8, 0.4, 0.3, 0.7, 0.6])


def test_min_and_max_are_each_a_result_on_one_computed_value() -> None:
    gates = [MetricGate(metric="accuracy", min=0.7, max=0.74)]
    low, high = metric_results(Y, S, gates)
    assert (low.gate, low.name, low.comparison, low.threshold) == ("model", "accuracy", ">=", 0.7)
    assert low.measured == high.measured == 0.75
    assert low.passed
    assert (high.comparison, high.threshold, high.passed) == ("<=", 0.74, False)
    assert low.evidence == {"rows": 8, "positives": 4}
    assert low.note == ""


def test_a_loss_is_bounded_from_above_and_counts_no_positives() -> None:
    y = np.array([1.0, 2.0, 3.0])
    (result,) = metric_results(y, np.array([1.0, 2.0, 5.0]), [MetricGate(metric="mae", max=0.5)])
    assert math.isclose(result.measured or 0, 2 / 3)
    assert result.passed is False
    assert result.evidence == {"rows": 3, "positives": None}


def test_a_gate_with_only_max_regression_is_left_to_the_champion_gate() -> None:
    assert metric_results(Y, S, [MetricGate(metric="roc_auc", max_regression=0.01)]) == []


def test_an_undefined_metric_fails_with_a_note() -> None:
    one_class, scores = np.array([1, 1, 1, 1]), np.array([0.9, 0.8, 0.7, 0.6])
    (result,) = metric_results(one_class, scores, [MetricGate(metric="roc_auc", min=0.5)])
    assert result.measured is not None
    assert math.isnan(result.measured)
    assert result.passed is False
    assert result.note == "undefined on this data (one class only?)"
