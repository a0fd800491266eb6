"""Fairness gates on small literal arrays whose disparities are computed by hand."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from validators.gates.fairness import fairness_results, group_table, groups_of
from validators.spec.model import FairnessGate

# Group a (4 rows): y [1, 1, 0, 0], predicted [1, 0, 0, 0]
#   selection 1/4, TPR 1/2, FPR 0/2, accuracy 3/4
# Group b (5 rows): y [1, 1, 0, 0, 0], predicted [1, 1, 1, 0, 0]
#   selection 3/5, TPR 2/2, FPR 1/3, accuracy 4/5
Y_TRUE = np.array([1, 1, 0, 0, 1, 1, 0, 0, 0])
Y_PRED = np.array([1, 0, 0, 0, 1, 1, 1, 0, 0])
SENSITIVE = pd.DataFrame({"sex": ["a"] * 4 + ["b"] * 5})


def run(gate: FairnessGate, min_group_size: int = 1) -> dict[str, object]:
    [result] = fairness_results(Y_TRUE, Y_PRED, SENSITIVE, [gate], min_group_size)
    json.dumps(result.to_json(), allow_nan=False)
    return result.to_json()


def test_demographic_parity_difference() -> None:
    result = run(FairnessGate(metric="demographic_parity_difference", feature="sex", max=0.4))
    # |3/5 - 1/4| = 0.35
    assert result["measured"] == pytest.approx(0.35)
    assert result["passed"] is True
    assert (result["gate"], result["name"]) == ("fairness", "sex: demographic_parity_difference")
    assert (result["comparison"], result["threshold"]) == ("<=", 0.4)
    assert result["note"] == "selection_rate b 0.6 vs a 0.25"


def test_demographic_parity_ratio() -> None:
    result = run(FairnessGate(metric="demographic_parity_ratio", feature="sex", min=0.8))
    # (1/4) / (3/5) = 5/12
    assert result["measured"] == pytest.approx(5 / 12)
    assert result["passed"] is False
    assert (result["comparison"], result["threshold"]) == (">=", 0.8)


def test_equalized_odds_difference_is_driven_by_tpr() -> None:
    result = run(FairnessGate(metric="equalized_odds_difference", feature="sex", max=0.1))
    # max(|1 - 1/2|, |1/3 - 0|) = 1/2, from the TPR
    assert result["measured"] == pytest.approx(0.5)
    assert result["passed"] is False
    evidence = result["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["compared_rate"] == "true_positive_rate"
    assert (evidence["most_favoured"], evidence["least_favoured"]) == ("b", "a")


def test_equalized_odds_ratio_is_driven_by_fpr() -> None:
    result = run(FairnessGate(metric="equalized_odds_ratio", feature="sex", min=0.5))
    # min((1/2) / 1, 0 / (1/3)) = 0, from the FPR
    assert result["measured"] == 0.0
    assert result["passed"] is False
    evidence = result["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["compared_rate"] == "false_positive_rate"


def test_evidence_has_the_per_group_table() -> None:
    table = group_table(Y_TRUE, Y_PRED, SENSITIVE["sex"])
    assert table["a"] == pytest.approx(
        {
            "count": 4,
            "selection_rate": 0.25,
            "true_positive_rate": 0.5,
            "false_positive_rate": 0.0,
            "accuracy": 0.75,
        }
    )
    assert table["b"] == pytest.approx(
        {
            "count": 5,
            "selection_rate": 0.6,
            "true_positive_rate": 1.0,
            "false_positive_rate": 1 / 3,
            "accuracy": 0.8,
        }
    )
    assert isinstance(table["a"]["count"], int)


def test_small_groups_are_flagged() -> None:
    result = run(FairnessGate(metric="demographic_parity_difference", feature="sex", max=0.4), 30)
    assert "only 4 rows" in str(result["note"])
    assert "only 5 rows" in str(result["note"])
    evidence = result["evidence"]
    assert isinstance(evidence, dict)
    assert evidence["warnings"] == ["a: only 4 rows", "b: only 5 rows"]


def test_groups_without_positive_labels_are_flagged() -> None:
    y_true = np.array([0, 0, 0, 1, 0])
    sensitive = pd.DataFrame({"sex": ["a", "a", "b", "b", "b"]})
    gate = FairnessGate(metric="equalized_odds_difference", feature="sex", max=0.5)
    [result] = fairness_results(y_true, np.array([1, 0, 0, 1, 1]), sensitive, [gate], 1)
    assert result.evidence["warnings"] == ["a: no positive labels"]


def test_feature_not_among_the_sensitive_features_is_an_error() -> None:
    gate = FairnessGate(metric="demographic_parity_difference", feature="race", max=0.1)
    [result] = fairness_results(Y_TRUE, Y_PRED, SENSITIVE, [gate])
    assert result.verdict == "error"
    assert result.error == "fairness feature 'race' is not in data.sensitive_features (sex)"


def test_missing_values_form_their_own_group() -> None:
    groups = groups_of(pd.Series(["a", None, "b", np.nan], name="sex"))
    assert groups.tolist() == ["a", "(missing)", "b", "(missing)"]
    assert groups.name == "sex"


def test_one_result_per_gate_in_order() -> None:
    gates = [
        FairnessGate(metric="demographic_parity_ratio", feature="sex", min=0.4),
        FairnessGate(metric="demographic_parity_difference", feature="sex", max=0.3),
    ]
    results = fairness_results(Y_TRUE, Y_PRED, SENSITIVE, gates)
    assert [r.name for r in results] == [
        "sex: demographic_parity_ratio",
        "sex: demographic_parity_difference",
    ]
    assert [r.passed for r in results] == [True, False]


def test_a_single_group_has_no_disparity() -> None:
    gate = FairnessGate(metric="demographic_parity_difference", feature="sex", max=0.1)
    sensitive = pd.DataFrame({"sex": ["a"] * 9})
    [result] = fairness_results(Y_TRUE, Y_PRED, sensitive, [gate], 1)
    assert result.measured == 0.0
    assert result.note == "only one group (a): no disparity to measure"


def test_a_ratio_with_no_selections_is_an_error() -> None:
    gate = FairnessGate(metric="demographic_parity_ratio", feature="sex", min=0.8)
    [result] = fairness_results(Y_TRUE, np.zeros(9, dtype=int), SENSITIVE, [gate])
    assert result.error.startswith("demographic_parity_ratio is undefined")


def test_lengths_must_match() -> None:
    with pytest.raises(ValueError, match="lengths differ"):
        fairness_results(Y_TRUE[:3], Y_PRED, SENSITIVE, [])
