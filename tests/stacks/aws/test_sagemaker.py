"""Requests to an `aws` slot are signed InvokeEndpoint calls pinned to the slot's variant:
smoke tests, the fixed-rate load test, readiness — through the real AWS SDK against a local
stand-in that speaks SageMaker's wire shapes (tests/fakes/sagemaker.py)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from stacks.aws import sagemaker
from stacks.aws.sagemaker import SageMakerClient
from stacks.aws.target import AwsTarget
from stacks.reach.errors import ReachError
from stacks.target import Slot
from tests.fakes.aws_program import CONFIG
from tests.fakes.sagemaker import fake_sagemaker, in_service
from validators.gates.serving import smoke

CANARY = "sagemaker://eu-west-1/credit-risk-production?variant=canary"
ROWS = [{"income": 1000.0 * i, "age": 30 + i} for i in range(5)]


def predictions(_variant: str | None, body: bytes) -> tuple[int, bytes]:
    rows = json.loads(body)["rows"]
    return 200, json.dumps([0.25] * len(rows)).encode()


def test_the_aws_target_names_each_slot_as_its_variant() -> None:
    assert AwsTarget(CONFIG)._endpoint_url(Slot.CANARY) == CANARY
    assert sagemaker.parse_url(CANARY) == sagemaker.Address(
        "eu-west-1", "credit-risk-production", "canary"
    )
    assert AwsTarget(CONFIG).slot_client(Slot.CANARY) == SageMakerClient(CANARY)


def test_a_smoke_test_is_signed_and_pinned_to_the_variant(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with fake_sagemaker(monkeypatch, predictions, in_service(("stable", 1))) as fake:
        result = smoke(lambda body: SageMakerClient(CANARY).post("predict", body), ROWS)
    assert result.passed, result.evidence
    assert len(fake.invocations) == len(ROWS)
    first = fake.invocations[0]
    assert (first["endpoint"], first["variant"]) == ("credit-risk-production", "canary")
    assert first["authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/")
    assert "/eu-west-1/sagemaker/aws4_request" in first["authorization"]
    assert first["content_type"] == "application/json"
    assert json.loads(first["body"]) == {"rows": [ROWS[0]]}


def test_a_containers_error_is_reported_with_its_own_status(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def broken(_variant: str | None, _body: bytes) -> tuple[int, bytes]:
        return 500, b'{"error": "model exploded"}'

    with fake_sagemaker(monkeypatch, broken, in_service(("stable", 1))):
        status, answer = SageMakerClient(CANARY).post("predict", {"rows": ROWS[:1]})
        result = smoke(lambda body: SageMakerClient(CANARY).post("predict", body), ROWS)
    assert status == 500  # the container's, not SageMaker's 424
    assert "model exploded" in answer
    assert not result.passed
    assert result.evidence["failures"][0]["status"] == 500


def test_readiness_is_the_variant_in_service_with_an_instance(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    stable = "sagemaker://eu-west-1/credit-risk-production?variant=stable"
    with fake_sagemaker(monkeypatch, predictions, in_service(("stable", 2))) as fake:
        assert SageMakerClient(stable).ready()
        assert SageMakerClient("sagemaker://eu-west-1/credit-risk-production").ready()
        assert not SageMakerClient(CANARY).ready()  # no such variant
        fake.endpoint = in_service(("stable", 2), ("canary", 0))
        assert not SageMakerClient(CANARY).ready()  # no instance yet
        fake.endpoint = {**in_service(("stable", 2)), "EndpointStatus": "Updating"}
        assert not SageMakerClient(stable).ready()


def test_the_load_test_keeps_its_rate_and_counts_every_answer(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls = {"n": 0}

    def mostly_fine(_variant: str | None, body: bytes) -> tuple[int, bytes]:
        calls["n"] += 1
        return (503, b"overloaded") if calls["n"] % 10 == 0 else predictions(None, body)

    with fake_sagemaker(monkeypatch, mostly_fine, in_service(("stable", 1))) as fake:
        report = sagemaker.load(CANARY, {"rows": ROWS[:1]}, rps=40, duration_s=1.5)
    assert report.requests == 60 == len(fake.invocations)
    assert report.statuses == {"200": 54, "503": 6}
    assert report.errors == 0
    assert report.error_rate == pytest.approx(0.1)
    assert 30 <= report.rps <= 41  # 60 requests scheduled over 1.5 s
    assert 0 < report.p50_ms <= report.p95_ms <= report.p99_ms
    assert all(v["variant"] == "canary" for v in fake.invocations)


def test_no_answer_at_all_counts_as_a_client_error(monkeypatch: pytest.MonkeyPatch) -> None:
    with fake_sagemaker(monkeypatch, predictions, in_service()) as fake:
        url = fake.url
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)  # the fake is gone
    sagemaker.client.cache_clear()
    report = sagemaker.load(CANARY, {"rows": ROWS[:1]}, rps=20, duration_s=0.2)
    assert (report.requests, report.errors, report.statuses) == (4, 4, {})
    assert math.isnan(report.p95_ms)
    assert report.error_rate == 1.0


def test_no_credentials_is_a_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))
    sagemaker.client.cache_clear()
    with pytest.raises(ReachError, match="no AWS credentials to invoke") as err:
        SageMakerClient(CANARY).post("predict", {"rows": ROWS[:1]})
    assert "sagemaker:InvokeEndpoint" in err.value.hint
    sagemaker.client.cache_clear()


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("sagemaker://None/credit-risk-production", "no AWS region"),
        ("sagemaker://eu-west-1/", "not a SageMaker endpoint"),
        ("sagemaker://eu-west-1/a/b", "not a SageMaker endpoint"),
    ],
)
def test_a_malformed_address_is_refused(url: str, message: str) -> None:
    with pytest.raises(ReachError, match=message):
        sagemaker.parse_url(url)


def test_an_answer_that_is_not_json_is_an_answer_not_a_lost_request(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def text(_variant: str | None, _body: bytes) -> tuple[int, bytes]:
        return 200, b"<html>maintenance</html>"

    with fake_sagemaker(monkeypatch, text, in_service(("stable", 1))):
        assert SageMakerClient(CANARY).post("predict", {"rows": ROWS[:1]}) == (
            200,
            "<html>maintenance</html>",
        )
        result = smoke(lambda body: SageMakerClient(CANARY).post("predict", body), ROWS[:2])
    assert not result.passed  # a 2xx without predictions is not a pass
