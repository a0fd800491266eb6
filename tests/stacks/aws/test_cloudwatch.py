"""Canary analysis of an `aws` slot reads CloudWatch: the address the aws target gives a slot,
asked through a real botocore CloudWatch client whose answers are stubbed (botocore's Stubber
checks every request and answer against the service's own API model), gives the window's
requests, 5xx answers and p95 — and a canary rollout on the aws target is judged on them."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from botocore.stub import Stubber

from pipelines.release.steps import run_canary
from pipelines.release.verdict import Measurement, Phase, Policy, assess
from stacks.aws import cloudwatch
from stacks.aws.cloudwatch import (
    CloudWatchError,
    CloudWatchMetrics,
    metric_queries,
    parse_url,
    read_window,
    window,
)
from stacks.aws.config import cloudwatch_source
from stacks.aws.target import AwsTarget
from stacks.reach.metrics import CounterSource, SlotSample, WindowSource
from stacks.target import Release, Slot
from tests.fakes.aws_program import CONFIG, V3, V4, MockedAwsTarget
from tests.fakes.cloudwatch import T0, answer, client
from validators.spec.resolved import ResolvedAnalysis, ResolvedRollout, ResolvedStep

CANARY_URL = cloudwatch_source(CONFIG, "canary").url


def test_the_address_the_aws_target_gives_a_slot_reads_back() -> None:
    source = parse_url(CANARY_URL)
    assert source.region == "eu-west-1"
    assert source.namespace == "AWS/SageMaker"
    assert source.dimensions == (
        ("EndpointName", "credit-risk-production"),
        ("VariantName", "canary"),
    )
    assert source.period_s == 60


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("cloudwatch://None/AWS/SageMaker?VariantName=canary", "no AWS region"),
        ("cloudwatch://eu-west-1/AWS/SageMaker", "not a CloudWatch source"),
        ("cloudwatch://eu-west-1/AWS/SageMaker?VariantName=c&period=90", "multiple of 60"),
    ],
)
def test_an_address_that_cannot_be_read_is_refused_before_the_rollout(
    url: str, message: str
) -> None:
    with pytest.raises(CloudWatchError, match=message):
        CloudWatchMetrics(url).open("/predict")
    with pytest.raises(CloudWatchError, match="not a CloudWatch source"):
        parse_url("http://eu-west-1/AWS/SageMaker?VariantName=canary")


def test_an_aws_slot_is_measured_in_windows_not_counters() -> None:
    source = AwsTarget(CONFIG).metrics(Slot.CANARY)
    assert isinstance(source, WindowSource)
    assert not isinstance(source, CounterSource)
    assert source.address == CANARY_URL


def test_the_window_is_whole_periods_from_the_start_to_the_filling_one() -> None:
    start = 1200.0 + 20  # 20 s into a minute: that minute holds traffic from before the start
    assert window(start, start + 30, 60) is None  # no whole minute has begun yet
    assert window(start, 1260.0, 60) == (1260, 1320)
    assert window(start, 1260.0 + 185, 60) == (1260, 1500)
    assert window(1200.0, 1200.0, 60) == (1200, 1260)


def test_one_period_over_the_window_gives_sums_and_the_p95() -> None:
    cw = client()
    first, last = 1_790_000_040, 1_790_000_220  # T0 rounded up; the minute holding T0 + 200 s
    with Stubber(cw) as stub:
        stub.add_response(
            "get_metric_data",
            answer([1200.0], [3.0], [41_500.0]),
            {
                "MetricDataQueries": metric_queries(parse_url(CANARY_URL), last - first),
                "StartTime": datetime.fromtimestamp(first, UTC),
                "EndTime": datetime.fromtimestamp(last, UTC),
                "ScanBy": "TimestampAscending",
            },
        )
        sample = read_window(CANARY_URL, T0, T0 + 200, cw)
        stub.assert_no_pending_responses()
    assert sample == SlotSample(requests=1200.0, errors=3.0, p95_ms=41.5)
    queries = metric_queries(parse_url(CANARY_URL), 180)
    assert [
        (q["MetricStat"]["Metric"]["MetricName"], q["MetricStat"]["Stat"]) for q in queries
    ] == [
        ("Invocations", "Sum"),
        ("Invocation5XXErrors", "Sum"),
        ("ModelLatency", "p95"),
    ]
    assert {q["MetricStat"]["Period"] for q in queries} == {180}
    assert queries[0]["MetricStat"]["Metric"]["Dimensions"] == [
        {"Name": "EndpointName", "Value": "credit-risk-production"},
        {"Name": "VariantName", "Value": "canary"},
    ]


def test_no_data_yet_counts_zero_and_leaves_the_p95_unknown() -> None:
    cw = client()
    with Stubber(cw) as stub:
        stub.add_response("get_metric_data", answer([], [], []))
        assert read_window(CANARY_URL, T0, T0 + 100, cw) == SlotSample()


def test_pages_of_an_answer_are_all_read() -> None:
    cw = client()
    with Stubber(cw) as stub:
        first_page = answer([700.0], [], [])
        first_page["NextToken"] = "page-2"
        stub.add_response("get_metric_data", first_page)
        second = {"MetricDataResults": answer([500.0], [2.0], [30_000.0])["MetricDataResults"]}
        stub.add_response("get_metric_data", second)
        sample = read_window(CANARY_URL, T0, T0 + 100, cw)
    assert (sample.requests, sample.errors, sample.p95_ms) == (1200.0, 2.0, 30.0)


def test_a_refusal_says_which_permission_is_missing() -> None:
    cw = client()
    with Stubber(cw) as stub:
        stub.add_client_error(
            "get_metric_data", "AccessDenied", "not authorized to perform GetMetricData", 403
        )
        with pytest.raises(CloudWatchError, match="refused GetMetricData: AccessDenied") as err:
            read_window(CANARY_URL, T0, T0 + 100, cw)
    assert "cloudwatch:GetMetricData" in err.value.hint


def test_a_forbidden_metric_is_an_error_not_zero_traffic() -> None:
    cw = client()
    refused = answer([], [], [])
    refused["MetricDataResults"][0].update(
        StatusCode="Forbidden", Messages=[{"Code": "Forbidden", "Value": "no access"}]
    )
    with Stubber(cw) as stub:
        stub.add_response("get_metric_data", refused)
        with pytest.raises(CloudWatchError, match="Forbidden for requests: no access"):
            read_window(CANARY_URL, T0, T0 + 100, cw)


def test_no_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")  # no instance-metadata lookups
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    with pytest.raises(CloudWatchError, match="no AWS credentials") as err:
        read_window(CANARY_URL, T0, T0 + 100, cloudwatch.make_client("eu-west-1", 1.0))
    assert "AWS_ACCESS_KEY_ID" in err.value.hint


# --- the verdicts on CloudWatch samples ----------------------------------------------------


POLICY = Policy(min_requests=50, error_rate_max=0.01, latency_p95_ms=100.0)


def test_a_slow_canary_fails_on_the_limit_alone_without_a_histogram() -> None:
    verdict = assess(
        POLICY,
        Measurement(
            stable=SlotSample(5000, 2, p95_ms=60.0), canary=SlotSample(500, 0, p95_ms=180.0)
        ),
    )
    assert verdict.phase == Phase.FAILED
    assert verdict.reasons == ("canary p95 latency 180 ms is above 100 ms (stable 60 ms)",)
    assert "latency_p_value" not in verdict.values


def test_a_canary_without_a_p95_is_an_error_never_a_pass() -> None:
    verdict = assess(POLICY, Measurement(stable=SlotSample(5000), canary=SlotSample(500, 0)))
    assert verdict.phase == Phase.ERROR
    assert "no p95 latency" in verdict.reasons[0]


def test_a_healthy_canary_on_cloudwatch_figures_passes() -> None:
    verdict = assess(
        POLICY,
        Measurement(
            stable=SlotSample(5000, 5, p95_ms=60.0), canary=SlotSample(500, 1, p95_ms=64.0)
        ),
    )
    assert (verdict.phase, verdict.values["canary_p95_ms"]) == (Phase.SUCCESSFUL, 64.0)


# --- a canary rollout on the aws target, judged on CloudWatch --------------------------------


ROLLOUT = ResolvedRollout(
    strategy="canary",
    steps=(ResolvedStep(weight=10), ResolvedStep(analysis_s=0.3), ResolvedStep(weight=50)),
    analysis=ResolvedAnalysis(interval_s=0.1, failure_limit=0, min_requests=50),
)


def aws_canary() -> MockedAwsTarget:
    target = MockedAwsTarget(replace(CONFIG))
    target.deploy(Slot.STABLE, Release(V3["bento"], V3["model"]))
    target.deploy(Slot.CANARY, Release(V4["bento"], V4["model"]))
    return target


def run(target: MockedAwsTarget) -> Any:
    said: list[str] = []
    return run_canary(target, ROLLOUT, POLICY, "predict", said.append, lambda *_, **__: None), said


def test_a_failing_canary_on_aws_is_rolled_back_on_cloudwatch_figures(
    stubbed_cloudwatch: Stubber,
) -> None:
    stubbed_cloudwatch.add_response("get_metric_data", answer([3000.0], [6.0], [60_000.0]))
    stubbed_cloudwatch.add_response("get_metric_data", answer([400.0], [40.0], [70_000.0]))
    target = aws_canary()
    result, said = run(target)
    assert not result.passed
    assert "canary error rate 10.00% is above 1.00%" in result.reason
    assert result.canary_requests == 400.0
    assert target.desired().weights == {"stable": 100}
    assert set(target.desired().slots) == {"stable"}  # the canary variant is gone
    assert any("Failed" in line for line in said)


def test_a_healthy_canary_on_aws_walks_every_step(stubbed_cloudwatch: Stubber) -> None:
    for minute in range(1, 8):  # one stable + one canary read per measurement
        stubbed_cloudwatch.add_response(
            "get_metric_data", answer([3000.0 * minute], [3.0], [60_000.0])
        )
        stubbed_cloudwatch.add_response(
            "get_metric_data", answer([300.0 * minute], [0.0], [62_000.0])
        )
    target = aws_canary()
    result, said = run(target)
    assert result.passed, said
    assert result.measurements >= 1
    assert target.desired().weights == {"stable": 50, "canary": 50}


# --- the monitor's SLO checks on an aws environment -----------------------------------------


def test_the_monitor_judges_an_aws_window_straight_from_cloudwatch(
    stubbed_cloudwatch: Stubber,
) -> None:
    from pipelines.monitor.engine import _slo_from_windows
    from pipelines.monitor.run import MonitorRun
    from validators.spec.model import SloMonitor

    stubbed_cloudwatch.add_response("get_metric_data", answer([9000.0], [18.0], [70_000.0]))
    stubbed_cloudwatch.add_response("get_metric_data", answer([1000.0], [2.0], [130_000.0]))
    stable = cloudwatch_source(CONFIG, "stable").url
    run = MonitorRun("credit-risk", "production", start=T0, end=T0 + 3600)
    results = _slo_from_windows(
        SloMonitor(latency_p95_ms=100, error_rate_max=0.01),
        [CloudWatchMetrics(stable), CloudWatchMetrics(CANARY_URL)],
        run,
    )
    by_name = {r.name: r for r in results}
    # percentiles do not add up: the slower slot's p95 stands for the endpoint
    assert (by_name["latency p95 ms"].measured, by_name["latency p95 ms"].passed) == (130.0, False)
    assert (by_name["error rate"].measured, by_name["error rate"].passed) == (0.002, True)
