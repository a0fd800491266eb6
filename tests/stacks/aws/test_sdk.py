"""What the CloudWatch and SageMaker readers share: the region an address names, an SDK client
on a session of its own, and the hint for missing credentials."""

from __future__ import annotations

import pytest

from stacks.aws.sdk import credentials_hint, region_of, sdk_client
from stacks.reach.errors import ReachError


def test_an_address_without_a_region_says_where_to_set_one() -> None:
    assert region_of("sagemaker://eu-west-1/e", "eu-west-1") == "eu-west-1"
    for netloc in ("", "None"):
        with pytest.raises(ReachError, match="no AWS region to reach it in") as caught:
            region_of(f"sagemaker://{netloc}/e", netloc)
        assert "aws.region" in caught.value.hint


def test_the_hint_names_the_permissions() -> None:
    hint = credentials_hint("cloudwatch:GetMetricData")
    assert "GitHub OIDC" in hint
    assert hint.endswith("allowed cloudwatch:GetMetricData")


def test_clients_use_their_region_timeouts_and_attempts() -> None:
    client = sdk_client("cloudwatch", "eu-west-1", timeout=3.0, attempts=2)
    assert client.meta.region_name == "eu-west-1"
    assert client.meta.config.connect_timeout == 3.0
    assert client.meta.config.read_timeout == 3.0
    assert client.meta.config.retries["total_max_attempts"] == 2
    other = sdk_client("cloudwatch", "us-east-1", timeout=3.0, attempts=2)
    assert other is not client
