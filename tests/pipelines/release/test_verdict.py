"""Canary verdicts on literal measurements (no server): the statistics decide."""

from __future__ import annotations

import pytest

from pipelines.release.verdict import (
    AnalysisRun,
    Assessment,
    Measurement,
    Phase,
    Policy,
    assess,
    quantile_ms,
)
from stacks.reach.metrics import SlotSample

LE = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, float("inf"))


def sample(requests: int, errors: int = 0, fast: float = 0.9) -> SlotSample:
    """`fast` of the requests under 10 ms, the rest between 10 and 25 ms."""
    quick = round(requests * fast)
    cumulative = (quick // 2, quick, requests, requests, requests, requests, requests, requests)
    return SlotSample(
        float(requests), float(errors), tuple(zip(LE, map(float, cumulative), strict=True))
    )


def slow(requests: int) -> SlotSample:
    """Every request between 100 and 250 ms."""
    cumulative = (0, 0, 0, 0, 0, requests, requests, requests)
    return SlotSample(float(requests), 0.0, tuple(zip(LE, map(float, cumulative), strict=True)))


POLICY = Policy(min_requests=50, error_rate_max=0.01, latency_p95_ms=50)


def test_too_few_canary_requests_is_inconclusive() -> None:
    verdict = assess(POLICY, Measurement(sample(500), sample(49, errors=49)))
    assert verdict.phase == Phase.INCONCLUSIVE
    assert verdict.reasons == ("canary served 49 requests; 50 needed to judge",)


def test_a_clean_canary_succeeds() -> None:
    assert assess(POLICY, Measurement(sample(500), sample(200))).phase == Phase.SUCCESSFUL


def test_one_error_in_a_hundred_is_noise_at_a_one_percent_limit() -> None:
    verdict = assess(POLICY, Measurement(sample(500), sample(100, errors=2)))
    assert verdict.phase == Phase.SUCCESSFUL
    assert verdict.values["error_rate_p_value"] > 0.05


def test_five_percent_errors_fail_with_the_measurement_named() -> None:
    verdict = assess(POLICY, Measurement(sample(500), sample(200, errors=10)))
    assert verdict.phase == Phase.FAILED
    assert verdict.reasons[0].startswith("canary error rate 5.00% is above 1.00% (binomial p=")


def test_errors_stable_also_has_do_not_excuse_the_canary() -> None:
    verdict = assess(POLICY, Measurement(sample(1000, errors=60), sample(200, errors=12)))
    assert verdict.phase == Phase.FAILED
    assert verdict.values["stable_error_rate"] == pytest.approx(0.06)


def test_a_slower_canary_fails_on_latency() -> None:
    verdict = assess(POLICY, Measurement(sample(500), slow(200)))
    assert verdict.phase == Phase.FAILED
    assert verdict.reasons[0].startswith("canary p95 latency 2")
    assert verdict.values["latency_p_value"] < 0.05


def test_slow_everywhere_is_not_the_canarys_fault() -> None:
    assert assess(POLICY, Measurement(slow(500), slow(200))).phase == Phase.SUCCESSFUL


def test_shifted_predictions_fail() -> None:
    stable_out = tuple(i / 200 for i in range(200))
    canary_out = tuple(0.5 + i / 400 for i in range(200))
    verdict = assess(POLICY, Measurement(sample(500), sample(200), stable_out, canary_out))
    assert verdict.phase == Phase.FAILED
    assert verdict.reasons[0].startswith("canary predictions shifted from stable's (KS 0.")


def test_p95_from_histogram_interpolates_within_the_bucket() -> None:
    # 90 requests under 10 ms, 10 between 10 and 25 ms: rank 95 is half-way through that bucket
    assert quantile_ms(sample(100), 0.95) == pytest.approx(17.5)


def test_rollback_after_failure_limit_is_exceeded() -> None:
    run = AnalysisRun(failure_limit=1)
    failed = Assessment(Phase.FAILED, ("x",))
    assert not run.record(Assessment(Phase.INCONCLUSIVE))
    assert not run.record(failed)
    assert run.record(failed)
    assert run.last_failure == failed
