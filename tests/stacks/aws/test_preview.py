"""What a plan shows of the aws program's resources, and when a live preview can run."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.aws.preview import CREDENTIAL_VARIABLES, REPLACED, describe, missing_credentials
from stacks.engine.mock_preview import Described, Recorded
from tests.fakes.aws_program import STEPS, run

IMAGE = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/credit-risk"


def test_a_canary_step_shows_each_variant_model_and_scaling() -> None:
    shown = {name: describe(r) for name, r in run(STEPS["canary-10"]).items()}
    assert shown["model-canary"] == Described(
        "SageMaker Model",
        "model-canary",
        {"image": f"{IMAGE}:bbb222", "model": "models:/credit-risk/4"},
    )
    assert shown["endpoint-config"] == Described(
        "SageMaker EndpointConfig",
        "endpoint-config",
        {
            "stable weight": "90%",
            "stable instances": "2 x ml.c5.xlarge",
            "canary weight": "10%",
            "canary instances": "2 x ml.c5.xlarge",
        },
    )
    assert shown["endpoint"] == Described("SageMaker Endpoint", "credit-risk-production", {})
    assert shown["scaling-target-stable"] == Described(
        "ScalableTarget",
        "scaling-target-stable",
        {"instances": "2..6", "resource": "endpoint/credit-risk-production/variant/stable"},
    )
    assert shown["scaling-policy-canary"] == Described(
        "ScalingPolicy", "scaling-policy-canary", {"invocations-per-instance": "250"}
    )


def test_providers_are_not_shown_and_unknown_types_keep_their_token() -> None:
    assert describe(Recorded("pulumi:providers:aws", "default", {})) is None
    other = describe(Recorded("aws:s3/bucket:Bucket", "logs", {"name": "acme-logs"}))
    assert other == Described("aws:s3/bucket:Bucket", "acme-logs", {})


def test_models_and_endpoint_configs_are_replaced_not_updated() -> None:
    assert {r.type for r in run(STEPS["canary-50"]).values()} >= REPLACED
    assert "aws:sagemaker/endpoint:Endpoint" not in REPLACED


@pytest.fixture
def no_aws(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in (*CREDENTIAL_VARIABLES, "AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_without_credentials_it_says_where_it_looked(no_aws: Path) -> None:
    assert missing_credentials() == (
        "no AWS credentials (none in AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws)"
    )


@pytest.mark.parametrize("name", CREDENTIAL_VARIABLES)
def test_any_standard_variable_is_credentials_to_try(
    no_aws: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setenv(name, "x")
    assert missing_credentials() is None


def test_a_shared_credentials_file_is_credentials_to_try(
    no_aws: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (no_aws / ".aws").mkdir()
    (no_aws / ".aws" / "config").write_text("[default]\nregion = eu-west-1\n")
    assert missing_credentials() is None
    elsewhere = no_aws / "creds"
    elsewhere.write_text("[default]\n")
    (no_aws / ".aws" / "config").unlink()
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(elsewhere))
    assert missing_credentials() is None
