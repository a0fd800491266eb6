"""The monitor's pure verdicts on literal inputs: drift from counts, output shift, SLOs from
/metrics samples, live accuracy, and which action a breach calls for."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from pipelines.monitor import checks
from pipelines.monitor.actions import decide
from stacks.reach.metrics import SlotSample
from validators.gates.drift import FeatureProfile, Profile, drift_gate
from validators.gates.result import GateResult
from validators.spec.model import DriftGate, MetricGate, Monitoring, SloMonitor

REFERENCE = pd.DataFrame({"x": np.arange(1000, dtype=float), "colour": ["red", "blue"] * 500})


def profile() -> Profile:
    return Profile.from_frame(REFERENCE, ["x", "colour"])


def test_input_drift_from_counts_equals_the_offline_gate() -> None:
    current = pd.DataFrame({"x": np.arange(500, 1500, dtype=float), "colour": ["red"] * 1000})
    gate = DriftGate(method="psi", max=0.2)
    prof = profile()
    # counts added up in two chunks, as the stream does
    counts = {
        n: fp.counts(current[n][:400]) + fp.counts(current[n][400:])
        for n, fp in prof.features.items()
    }
    live = checks.input_drift(prof, counts, gate, rows=len(current))
    offline = drift_gate(REFERENCE, current, gate)
    assert live.measured == pytest.approx(offline.measured)
    assert live.passed is offline.passed is False
    assert live.note == offline.note
    assert [f["feature"] for f in live.evidence["top"]] == ["colour", "x"]
    binned = ("feature", "psi", "js", "buckets", "reference_counts", "current_counts", "score")
    for ours, theirs in zip(live.evidence["features"], offline.evidence["features"], strict=True):
        assert {k: ours[k] for k in binned} == {k: theirs[k] for k in binned}


def test_input_drift_quiet_on_reference_like_traffic() -> None:
    prof = profile()
    counts = {n: fp.counts(REFERENCE[n]) for n, fp in prof.features.items()}
    result = checks.input_drift(prof, counts, DriftGate(method="psi", max=0.2), rows=1000)
    assert result.passed
    assert result.measured == pytest.approx(0.0)


def test_too_few_predictions_are_not_judged() -> None:
    prof = profile()
    counts = {n: np.zeros(len(fp.labels()), dtype=np.int64) for n, fp in prof.features.items()}
    result = checks.input_drift(prof, counts, DriftGate(method="psi", max=0.2), rows=3)
    assert result.passed
    assert result.measured is None
    assert result.note == "not judged: 3 predictions (< 100)"


def test_sampled_drift_runs_the_offline_gate_on_the_sample() -> None:
    sample = pd.DataFrame({"x": np.arange(600, 1600, dtype=float), "colour": ["red"] * 1000})
    gate = DriftGate(method="ks", max=0.1)
    result = checks.sampled_drift(REFERENCE, sample, gate, rows=50_000)
    assert not result.passed
    assert result.measured == pytest.approx(0.6)
    assert result.evidence["sampled"] == {"sample": 1000, "window": 50_000}
    assert result.evidence["unscored"] == ["colour"]


def test_output_shift() -> None:
    output = FeatureProfile.build(pd.Series(np.linspace(0, 1, 1000), name="output"))
    same = output.counts(pd.Series(np.linspace(0, 1, 500)))
    high = output.counts(pd.Series(np.full(500, 0.95)))
    assert checks.output_shift(output, same, "psi", 0.2, 500).passed
    shifted = checks.output_shift(output, high, "ks", 0.2, 500)
    assert not shifted.passed
    assert shifted.evidence["method"] == "psi"  # KS needs raw values: the binned PSI stands in


def test_drift_series_per_time_bin() -> None:
    prof = Profile.from_frame(REFERENCE[["x"]], ["x"])
    fp = prof.features["x"]
    rows = np.vstack(
        [
            fp.counts(REFERENCE["x"]),
            np.zeros(len(fp.labels()), dtype=np.int64),
            fp.counts(pd.Series([999.0] * 100)),
        ]
    )
    series = checks.drift_series(prof, {"x": rows}, "psi")["x"]
    assert series[0] == pytest.approx(0.0)
    assert series[1] is None
    assert series[2] is not None
    assert series[2] > 1


def sample(requests: float, errors: float, buckets: list[tuple[float, float]]) -> SlotSample:
    return SlotSample(requests, errors, tuple(buckets))


def test_slo_breach_and_pass() -> None:
    slo = SloMonitor(latency_p95_ms=80, error_rate_max=0.02)
    slow = sample(100, 5, [(0.05, 50), (0.1, 90), (0.5, 100), (math.inf, 100)])
    latency, errors = checks.slo_results(slow, slo, "server start")
    assert (latency.name, latency.passed) == ("latency p95 ms", False)
    assert latency.measured == pytest.approx(300.0)  # 95th of 100 inside (0.1, 0.5]
    assert (errors.name, errors.passed, errors.measured) == ("error rate", False, 0.05)
    fast = sample(100, 1, [(0.05, 99), (0.1, 100), (math.inf, 100)])
    assert all(r.passed for r in checks.slo_results(fast, slo, "2026-01-01 00:00:00Z"))


def test_slo_not_judged_on_few_requests() -> None:
    few = sample(10, 10, [(0.05, 10), (math.inf, 10)])
    results = checks.slo_results(few, SloMonitor(error_rate_max=0.01), "server start")
    assert [r.passed for r in results] == [True]
    assert results[0].note == "not judged: 10 requests (< 50)"


def test_live_accuracy_against_min_and_the_offline_figure() -> None:
    labels = np.array([1.0, 0.0] * 50)
    right = np.where(labels == 1, 0.9, 0.1)
    wrong = right.copy()
    wrong[:20] = 1 - wrong[:20]  # 80% accurate
    gates = [MetricGate(metric="accuracy", min=0.75, max_regression=0.03)]
    ok = checks.accuracy_results(labels, right, gates, {"accuracy": 0.9})
    assert [(r.name, r.passed) for r in ok] == [
        ("accuracy", True),
        ("accuracy regression vs offline", True),
    ]
    bad = checks.accuracy_results(labels, wrong, gates, {"accuracy": 0.9})
    assert [(r.name, r.passed) for r in bad] == [
        ("accuracy", True),
        ("accuracy regression vs offline", False),
    ]
    assert bad[1].measured == pytest.approx(0.1)


def test_decide_routes_breaches_to_their_monitor_action() -> None:
    monitoring = Monitoring.model_validate(
        {
            "drift": {"max": 0.2, "action": "propose_retrain"},
            "slo": {"latency_p95_ms": 80, "action": "rollback"},
        }
    )
    drift = GateResult("drift", "max psi", False, 0.5, 0.2, "<=")
    slow = GateResult("slo", "latency p95 ms", False, 120.0, 80.0, "<=")
    assert list(decide([drift], monitoring)) == ["propose_retrain"]
    assert list(decide([slow, drift], monitoring)) == ["propose_retrain", "rollback"]
    defaults = Monitoring.model_validate({"drift": {"max": 0.2}})
    assert list(decide([drift, slow], defaults)) == ["alert"]
    assert decide([], monitoring) == {}


def test_errors_are_not_breaches() -> None:
    error = GateResult("slo", "metrics", False, None, None, error="cannot read metrics")
    failed = GateResult("slo", "error rate", False, 0.5, 0.01, "<=")
    assert checks.breaches([error, failed]) == [failed]
