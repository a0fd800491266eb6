"""Drift: PSI and JS on hand-computed counts, bucketing, per-feature statistics, the gate."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from validators.gates.drift import (
    FeatureProfile,
    Profile,
    drift_gate,
    feature_drift,
    is_categorical,
    js_distance,
    psi,
)
from validators.spec.model import DriftGate


def counts(*values: int) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


# --- psi and js_distance -----------------------------------------------------------------------


def test_psi_two_buckets_by_hand() -> None:
    # p_ref = [.5, .5], p_cur = [.25, .75]:
    # (.25 - .5) ln(.25/.5) + (.75 - .5) ln(.75/.5) = .25 ln 2 + .25 ln 1.5 = .25 ln 3
    assert psi(counts(50, 50), counts(25, 75)) == pytest.approx(0.25 * math.log(3))


def test_psi_is_zero_for_equal_proportions() -> None:
    assert psi(counts(10, 20, 30), counts(10, 20, 30)) == 0.0
    assert psi(counts(10, 20, 30), counts(100, 200, 300)) == pytest.approx(0.0, abs=1e-15)


def test_psi_is_symmetric() -> None:
    a, b = counts(10, 30, 60), counts(40, 40, 20)
    assert psi(a, b) == pytest.approx(psi(b, a))
    assert psi(a, b) > 0


def test_psi_floors_an_empty_bucket_at_eps() -> None:
    # p_ref = [1, 0 -> 1e-4], p_cur = [.5, .5]:
    # (.5 - 1) ln(.5/1) + (.5 - 1e-4) ln(.5/1e-4) = .5 ln 2 + .4999 ln 5000
    expected = 0.5 * math.log(2) + 0.4999 * math.log(5000)
    assert psi(counts(100, 0), counts(50, 50)) == pytest.approx(expected)
    # A larger eps makes the empty bucket count for less: .5 ln 2 + .49 ln 50
    assert psi(counts(100, 0), counts(50, 50), eps=0.01) == pytest.approx(
        0.5 * math.log(2) + 0.49 * math.log(50)
    )


def test_psi_rejects_bad_counts() -> None:
    with pytest.raises(ValueError, match="positive total"):
        psi(counts(0, 0), counts(1, 1))
    with pytest.raises(ValueError, match="differ in length"):
        psi(counts(1, 1), counts(1, 1, 1))


def test_js_distance_by_hand() -> None:
    assert js_distance(counts(3, 7), counts(30, 70)) == pytest.approx(0.0, abs=1e-7)
    assert js_distance(counts(1, 0), counts(0, 1)) == pytest.approx(1.0)
    # P = [.5, .5], Q = [1, 0], M = [.75, .25]
    # KL(P||M) = .5 log2(.5/.75) + .5 log2(.5/.25); KL(Q||M) = log2(1/.75)
    divergence = 0.5 * (0.5 * math.log2(2 / 3) + 0.5 * 1 + math.log2(4 / 3))
    assert js_distance(counts(1, 1), counts(1, 0)) == pytest.approx(math.sqrt(divergence))


# --- profiles ----------------------------------------------------------------------------------


def test_numeric_buckets_are_open_ended_with_missing_last() -> None:
    reference = pd.Series([float(v) for v in range(1, 11)], name="x")
    profile = FeatureProfile.build(reference, bins=2)  # median 5.5 is the one edge
    assert profile.kind == "numeric"
    assert profile.edges == (5.5,)
    assert profile.reference_counts == (5, 5, 0)
    assert profile.labels() == ["[-inf, 5.5)", "[5.5, inf)", "(missing)"]
    # 0 is below the reference range, 100 above it; 5.5 sits on the edge (goes up); NaN apart.
    current = pd.Series([0.0, 5.5, 100.0, np.nan])
    assert profile.counts(current).tolist() == [1, 2, 1]


def test_numeric_edges_are_deduplicated() -> None:
    profile = FeatureProfile.build(pd.Series([1, 1, 1, 1, 2], name="x"), bins=4)
    assert profile.edges == (1.0,)  # quantiles .25/.5/.75 are all 1
    assert profile.reference_counts == (0, 5, 0)


def test_categorical_unseen_values_go_to_other() -> None:
    profile = FeatureProfile.build(pd.Series(["a", "a", "b", None], name="c"))
    assert profile.kind == "categorical"
    assert profile.categories == ("a", "b")
    assert profile.labels() == ["a", "b", "(other)", "(missing)"]
    assert profile.reference_counts == (2, 1, 0, 1)
    assert profile.counts(pd.Series(["a", "c", "c", None, "b"])).tolist() == [1, 1, 2, 1]


def test_categories_beyond_the_cap_count_as_other() -> None:
    reference = pd.Series(["a"] * 3 + ["b"] * 2 + ["c"], name="c")
    profile = FeatureProfile.build(reference, max_categories=2)
    assert profile.categories == ("a", "b")
    assert profile.reference_counts == (3, 2, 1, 0)


def test_kind_follows_the_dtype() -> None:
    assert is_categorical(pd.Series([True, False]))
    assert is_categorical(pd.Series(["x", "y"], dtype="string"))
    assert is_categorical(pd.Series(["x", "y"], dtype="category"))
    assert not is_categorical(pd.Series([0, 1, 0]))  # few values, but numeric
    assert not is_categorical(pd.Series(pd.to_datetime(["2024-01-01", "2024-01-02"])))


def test_datetimes_are_binned_as_numbers() -> None:
    stamps = pd.Series(pd.to_datetime(["2024-01-01", "2024-01-03", None]), name="t")
    profile = FeatureProfile.build(stamps, bins=2)
    assert profile.kind == "numeric"
    assert profile.reference_counts == (1, 1, 1)


def test_profile_counts_add_up_chunk_by_chunk() -> None:
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"x": rng.normal(size=1000), "c": rng.choice(["a", "b", "z"], 1000)})
    profile = Profile.from_frame(frame.iloc[:600])
    whole = profile.counts(frame)
    first, second = profile.counts(frame.iloc[:300]), profile.counts(frame.iloc[300:])
    for name in ("x", "c"):
        assert (first[name] + second[name]).tolist() == whole[name].tolist()
        assert int(whole[name].sum()) == 1000


# --- feature_drift -----------------------------------------------------------------------------


def test_numeric_feature_drift_by_hand() -> None:
    reference = pd.Series([1.0, 2.0, 3.0, 4.0, 5.0], name="x")
    current = pd.Series([6.0, 7.0, 8.0, 9.0, 10.0], name="x")
    found = feature_drift(reference, current, FeatureProfile.build(reference, bins=2))
    # Edge at the median 3: reference [2, 3, 0], current [0, 5, 0] (everything >= 3).
    assert found.reference_counts == (2, 3, 0)
    assert found.current_counts == (0, 5, 0)
    expected_psi = (1e-4 - 0.4) * math.log(1e-4 / 0.4) + (1 - 0.6) * math.log(1 / 0.6)
    assert found.psi == pytest.approx(expected_psi)
    # JS: P = [.4, .6, 0], Q = [0, 1, 0], M = [.2, .8, 0]
    divergence = 0.5 * (0.4 * 1 + 0.6 * math.log2(0.75) + math.log2(1 / 0.8))
    assert found.js == pytest.approx(math.sqrt(divergence))
    assert found.ks == 1.0  # the samples do not overlap
    assert found.wasserstein == pytest.approx(5.0)  # every value moved by 5
    assert found.wasserstein_normalised == pytest.approx(5.0 / math.sqrt(2))  # std of 1..5
    assert found.chi2_pvalue is None
    assert found.score("wasserstein") == found.wasserstein_normalised


def test_missing_values_are_a_bucket_and_dropped_by_ks() -> None:
    reference = pd.Series([1.0, 2.0, 3.0, 4.0], name="x")
    current = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan, np.nan, np.nan, np.nan], name="x")
    found = feature_drift(reference, current, FeatureProfile.build(reference, bins=2))
    assert found.missing_reference == 0.0
    assert found.missing_current == 0.5
    assert found.ks == 0.0  # same non-missing values
    assert found.psi > 0.1  # the missing share moved from 0 to .5


def test_categorical_feature_drift_chi_square_by_hand() -> None:
    reference = pd.Series(["a"] * 30 + ["b"] * 10, name="c")
    current = pd.Series(["a"] * 10 + ["b"] * 30, name="c")
    found = feature_drift(reference, current, FeatureProfile.build(reference))
    # 2 x 2 table [[30, 10], [10, 30]], expected 20 each, Yates: 4 * (10 - .5)^2 / 20 = 18.05;
    # chi-square with 1 dof: P(X > x) = erfc(sqrt(x / 2)).
    assert found.chi2_pvalue == pytest.approx(math.erfc(math.sqrt(18.05 / 2)))
    assert found.ks is None
    assert found.score("ks") is None
    # PSI: (.25 - .75) ln(.25/.75) + (.75 - .25) ln(.75/.25) = ln 3
    assert found.psi == pytest.approx(math.log(3))


def test_chi_square_of_a_single_category_is_one() -> None:
    reference = pd.Series(["a"] * 5, name="c")
    found = feature_drift(
        reference, pd.Series(["a"] * 3, name="c"), FeatureProfile.build(reference)
    )
    assert found.chi2_pvalue == 1.0
    assert found.psi == 0.0


# --- drift_gate --------------------------------------------------------------------------------


def frames() -> tuple[pd.DataFrame, pd.DataFrame]:
    reference = pd.DataFrame({"x": [1.0, 2.0, 3.0, 4.0, 5.0], "c": ["a", "a", "b", "b", "b"]})
    current = pd.DataFrame({"x": [6.0, 7.0, 8.0, 9.0, 10.0], "c": ["a", "a", "b", "b", "b"]})
    return reference, current


def test_gate_passes_on_identical_data() -> None:
    reference, _ = frames()
    result = drift_gate(reference, reference.copy(), DriftGate(method="psi", max=0.1))
    assert result.passed
    assert result.measured == 0.0
    assert (result.gate, result.name, result.comparison) == (
        "drift",
        "max psi over 2 features",
        "<=",
    )
    assert result.threshold == 0.1
    assert result.note.startswith("largest: ")
    assert result.duration_s > 0


def test_gate_fails_and_names_the_drifting_feature() -> None:
    reference, current = frames()
    result = drift_gate(reference, current, DriftGate(method="psi", max=0.2))
    assert not result.passed
    assert result.note.startswith("drifting: x ")
    assert [row["feature"] for row in result.evidence["top"]] == ["x"]
    table = result.evidence["features"]
    assert [row["feature"] for row in table] == ["x", "c"]  # sorted by score, descending
    assert table[0]["score"] == result.measured
    assert table[0]["ks"] == 1.0
    assert table[1]["chi2_pvalue"] == 1.0
    json.dumps(result.to_json(), allow_nan=False)


@pytest.mark.parametrize(
    ("method", "expected"),
    [("ks", 1.0), ("wasserstein", 5.0 / math.sqrt(2))],
)
def test_numeric_only_methods_leave_categorical_features_unscored(
    method: str, expected: float
) -> None:
    reference, current = frames()
    result = drift_gate(reference, current, DriftGate(method=method, max=0.5))  # type: ignore[arg-type]
    assert result.measured == pytest.approx(expected)
    assert result.evidence["unscored"] == ["c"]
    assert "not scored by" in result.note
    assert result.evidence["features"][-1]["score"] is None


def test_gate_uses_only_the_listed_features() -> None:
    reference, current = frames()
    result = drift_gate(
        reference, current, DriftGate(method="jensen_shannon", max=0.5, features=["c"])
    )
    assert result.passed
    assert result.name == "max jensen_shannon over 1 features"
    assert result.measured == pytest.approx(0.0, abs=1e-7)


def test_default_features_are_the_shared_columns() -> None:
    reference, current = frames()
    result = drift_gate(reference.assign(only_ref=1.0), current, DriftGate(method="psi", max=1.0))
    assert result.name == "max psi over 2 features"


def test_feature_missing_from_current_data_is_an_error() -> None:
    reference, current = frames()
    gate = DriftGate(method="psi", max=0.2, features=["x", "c"])
    result = drift_gate(reference, current.drop(columns=["c"]), gate)
    assert result.verdict == "error"
    assert result.error == "drift feature(s) c not in the current data"


def test_empty_current_data_is_an_error() -> None:
    reference, current = frames()
    result = drift_gate(reference, current.iloc[:0], DriftGate(method="psi", max=0.2))
    assert result.error == "the current data has no rows"


def test_ks_over_categorical_features_only_is_an_error() -> None:
    reference, current = frames()
    result = drift_gate(reference[["c"]], current[["c"]], DriftGate(method="ks", max=0.2))
    assert result.error == "ks scores numeric features only; none of c is"


def test_top_lists_at_most_three_features() -> None:
    rng = np.random.default_rng(1)
    reference = pd.DataFrame({f"f{i}": rng.normal(size=500) for i in range(5)})
    current = reference + np.arange(5) * 0.5  # f0 unchanged, f4 shifted most
    result = drift_gate(reference, current, DriftGate(method="psi", max=0.01))
    assert [row["feature"] for row in result.evidence["top"]] == ["f4", "f3", "f2"]
