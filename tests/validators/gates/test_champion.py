"""Champion/challenger: McNemar by hand, the paired bootstrap, and the gate results."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

from validators.gates.champion import champion_results, mcnemar, paired_bootstrap
from validators.gates.metrics import METRICS, Metric
from validators.spec.model import MetricGate

# --- mcnemar -----------------------------------------------------------------------------------


def test_mcnemar_exact_when_few_discordant_rows() -> None:
    y = np.ones(5)
    champion = np.array([1, 1, 1, 1, 0])
    challenger = np.array([0, 0, 0, 1, 0])
    # b = 3 rows only the champion gets right, c = 0: two-sided binomial 2 * (1/2)^3 = 0.25
    assert mcnemar(y, champion, challenger) == pytest.approx((0.0, 0.25))


def test_mcnemar_exact_is_symmetric() -> None:
    y = np.array([1, 1, 1, 0])
    # b = 2, c = 1: P(X <= 1 or X >= 2 | n = 3) = 1
    assert mcnemar(y, np.array([1, 1, 0, 0]), np.array([0, 0, 1, 0])) == pytest.approx((1.0, 1.0))


def test_mcnemar_chi_square_with_continuity_correction() -> None:
    y = np.ones(50)
    champion = np.r_[np.ones(30), np.zeros(10), np.ones(10)]
    challenger = np.r_[np.zeros(30), np.ones(10), np.ones(10)]
    # b = 30, c = 10: (|30 - 10| - 1)^2 / 40 = 9.025; P(chi2_1 > x) = erfc(sqrt(x / 2))
    statistic, p_value = mcnemar(y, champion, challenger)
    assert statistic == pytest.approx(9.025)
    assert p_value == pytest.approx(math.erfc(math.sqrt(9.025 / 2)))


def test_mcnemar_without_discordant_rows() -> None:
    y = np.array([1, 0, 1])
    assert mcnemar(y, np.array([1, 1, 0]), np.array([1, 1, 0])) == (0.0, 1.0)


def test_mcnemar_rejects_unequal_lengths() -> None:
    with pytest.raises(ValueError, match="equal, non-zero lengths"):
        mcnemar(np.ones(3), np.ones(3), np.ones(2))


# --- paired_bootstrap --------------------------------------------------------------------------


def data(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Labels, a good model's probabilities, and a coin-flip model's."""
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(float)
    good = np.clip(0.15 + 0.7 * y + rng.normal(0, 0.1, n), 0, 1)
    coin = rng.random(n)
    return y, good, coin


def test_bootstrap_is_deterministic_for_a_seed() -> None:
    y, good, coin = data()
    auc = METRICS["roc_auc"]
    first = paired_bootstrap(y, good, coin, auc, n_boot=200, seed=7)
    assert paired_bootstrap(y, good, coin, auc, n_boot=200, seed=7) == first
    assert paired_bootstrap(y, good, coin, auc, n_boot=200, seed=8).ci_low != first.ci_low


def test_identical_challenger_is_no_regression() -> None:
    y, good, _ = data()
    found = paired_bootstrap(y, good, good.copy(), METRICS["accuracy"], n_boot=200)
    assert found.regression == 0.0
    assert (found.ci_low, found.ci_high) == (0.0, 0.0)
    assert found.p_value == 1.0  # every resample has regression 0 <= 0
    assert not found.significant
    assert found.resamples == 200
    assert found.rows == 400


def test_clearly_worse_challenger_is_significant() -> None:
    y, good, coin = data()
    found = paired_bootstrap(y, good, coin, METRICS["accuracy"], n_boot=1000)
    assert found.champion == METRICS["accuracy"](y, good)
    assert found.regression == pytest.approx(found.champion - found.challenger)
    assert found.regression > 0.3
    assert 0 < found.ci_low <= found.regression <= found.ci_high
    assert found.p_value == pytest.approx(1 / 1001)  # no resample where it is not worse
    assert found.significant


def test_lower_is_better_metric_sign() -> None:
    y = np.array([1.0, 0.0])
    better, worse = np.array([0.8, 0.2]), np.array([0.6, 0.4])
    log_loss = METRICS["log_loss"]
    # log loss: champion -ln .8, challenger -ln .6; regression = challenger - champion
    found = paired_bootstrap(y, better, worse, log_loss, n_boot=100)
    assert found.regression == pytest.approx(math.log(0.8) - math.log(0.6))
    assert found.ci_low == pytest.approx(found.regression)  # every row is worse by the same
    assert found.significant
    swapped = paired_bootstrap(y, worse, better, log_loss, n_boot=100)
    assert swapped.regression == pytest.approx(math.log(0.6) - math.log(0.8))
    assert swapped.p_value == 1.0
    assert not swapped.significant


@pytest.mark.parametrize("name", sorted(METRICS))
def test_vectorised_metrics_match_the_registry(name: str) -> None:
    """A copy of a registry metric under another name takes the per-resample path."""
    registered = METRICS[name]
    copy = Metric(f"{name}_copy", registered.fn, registered.higher_is_better, True)
    rng = np.random.default_rng(3)
    if registered.classification:
        y, champion, challenger = data(120, seed=3)
        champion, challenger = champion.round(1), challenger.round(1)  # ties, for roc_auc
    else:
        y = rng.normal(size=120)
        champion, challenger = y + rng.normal(0, 0.5, 120), y + rng.normal(0, 0.8, 120)
    fast = paired_bootstrap(y, champion, challenger, registered, n_boot=60, seed=1)
    slow = paired_bootstrap(y, champion, challenger, copy, n_boot=60, seed=1)
    assert fast.regression == slow.regression
    assert (fast.ci_low, fast.ci_high, fast.p_value) == pytest.approx(
        (slow.ci_low, slow.ci_high, slow.p_value), abs=1e-12
    )


# --- champion_results --------------------------------------------------------------------------


def test_results_per_gate_with_max_regression() -> None:
    y, good, coin = data()
    gates = [
        MetricGate(metric="accuracy", max_regression=0.01),
        MetricGate(metric="roc_auc", min=0.7),  # no max_regression: not a champion check
        MetricGate(metric="log_loss", max_regression=0.05),
    ]
    results = champion_results(y, good, coin, gates, "v3", "v4", n_boot=200)
    assert [r.name for r in results] == [
        "accuracy regression vs v3",
        "log_loss regression vs v3",
    ]
    accuracy = results[0]
    assert (accuracy.gate, accuracy.comparison, accuracy.threshold) == ("champion", "<=", 0.01)
    assert not accuracy.passed
    # p = 1 / (1 + 200): no resample where the challenger is not worse
    assert accuracy.note == "challenger 0.48 vs champion 1; significantly worse (p=0.005)"
    evidence = accuracy.evidence
    assert (evidence["champion_version"], evidence["challenger_version"]) == ("v3", "v4")
    assert evidence["significant"] is True
    assert evidence["mcnemar"]["only_champion_right"] > evidence["mcnemar"]["only_challenger_right"]
    assert "mcnemar" not in results[1].evidence
    json.dumps([r.to_json() for r in results], allow_nan=False)


def test_pass_uses_the_point_estimate_not_significance() -> None:
    # 20 rows, the champion right on all, the challenger wrong on one: regression 0.05.
    y = np.tile([1.0, 0.0], 10)
    champion = np.where(y == 1, 0.9, 0.1)
    challenger = champion.copy()
    challenger[0] = 0.1
    gate = MetricGate(metric="accuracy", max_regression=0.1)
    [result] = champion_results(y, champion, challenger, [gate], "v3", "v4")
    assert result.measured == pytest.approx(0.05)
    assert result.passed
    # The one discordant row is left out of about (19/20)^20 = 36% of resamples.
    p_value = result.evidence["p_value"]
    assert 0.25 < p_value < 0.5
    assert result.note == f"challenger 0.95 vs champion 1; within noise (p={p_value:.2g})"
    strict = MetricGate(metric="accuracy", max_regression=0.01)
    [failed] = champion_results(y, champion, challenger, [strict], "v3", "v4")
    assert not failed.passed  # not significant, but above max_regression


def test_better_challenger_is_not_worse() -> None:
    y, good, coin = data()
    gate = MetricGate(metric="roc_auc", max_regression=0.0)
    [result] = champion_results(y, coin, good, [gate], "v3", "v4", n_boot=200)
    assert result.passed
    assert result.measured is not None
    assert result.measured < 0
    assert "; not worse (p=1)" in result.note


def test_undefined_metric_is_an_error() -> None:
    y = np.ones(10)
    gate = MetricGate(metric="roc_auc", max_regression=0.01)
    [result] = champion_results(y, np.full(10, 0.7), np.full(10, 0.6), [gate], "v3", "v4")
    assert result.verdict == "error"
    assert result.error.startswith("roc_auc is undefined")
