"""CloudWatch for tests: a real botocore client whose answers botocore's Stubber gives (and
checks against the service's API model), GetMetricData answers built from values, and a clock
that moves a minute per reading so every measurement sees one more minute."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber

T0 = 1_790_000_000.0  # 2026-09-21T14:13:20Z, 20 s into a minute


def client() -> Any:
    return boto3.client(
        "cloudwatch",
        region_name="eu-west-1",
        aws_access_key_id="AKIDEXAMPLE",
        aws_secret_access_key="secret",  # never sent: the stubber answers
    )


def answer(requests: list[float], errors: list[float], p95_us: list[float]) -> dict[str, Any]:
    """GetMetricData's answer to the reader's three queries."""

    def result(id_: str, values: list[float]) -> dict[str, Any]:
        stamps = [datetime.fromtimestamp(T0, UTC)] * len(values)
        return {"Id": id_, "Label": id_, "Timestamps": stamps, "Values": values,
                "StatusCode": "Complete"}  # fmt: skip

    return {
        "MetricDataResults": [
            result("requests", requests),
            result("errors", errors),
            result("latency", p95_us),
        ]
    }


class FakeClock:
    """Each reading 60 s after the last: every measurement sees one more minute."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        self.now += 60.0
        return self.now


@contextmanager
def stubbed(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stubber]:
    """Every CloudWatch reader of the code under test gets the stubbed client and the clock."""
    from stacks.aws import cloudwatch

    cw = client()
    monkeypatch.setattr(cloudwatch, "make_client", lambda region, timeout: cw)
    monkeypatch.setattr(cloudwatch.CloudWatchMetrics, "clock", FakeClock())
    with Stubber(cw) as stub:
        yield stub
