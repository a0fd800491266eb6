"""A release on the aws target through apply's own canary path (`canary_release`): the Pulumi
program under mocks, SageMaker's runtime a local stand-in speaking its wire shapes (requests
signed by the real AWS SDK), CloudWatch answers stubbed and checked by botocore. The canary is
smoke-tested on its variant, replayed traffic goes to the endpoint, and the analysis of the
CloudWatch figures promotes it or rolls it back."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from botocore.stub import Stubber

from pipelines.approvals.sources import ApprovalCheck
from pipelines.audit.ledger import ledger_of
from pipelines.core.workspace import Workspace
from pipelines.release.canary import canary_release
from pipelines.release.context import ApplyOptions, EnvRelease, ReleaseContext
from pipelines.release.outcome import EnvOutcome
from stacks.target import Release, Slot
from tests.fakes.aws_program import CONFIG, V3, V4, MockedAwsTarget
from tests.fakes.cloudwatch import answer
from tests.fakes.sagemaker import FakeSageMaker, fake_sagemaker, in_service
from validators.spec.model import ModelDeployment
from validators.spec.resolved import ResolvedAnalysis, ResolvedRollout, ResolvedStep

SPEC = ModelDeployment.model_validate(
    {
        "apiVersion": "shipyard/v1",
        "kind": "ModelDeployment",
        "metadata": {"name": "credit-risk", "owners": ["@risk-ml"]},
        "model": {"uri": V4["model"]},
        "gates": {"serving": {"latency_p95_ms": 100, "error_rate_max": 0.01}},
        "environments": [
            {
                "name": "production",
                "target": "aws",
                "aws": {"region": "eu-west-1", "role_arn": CONFIG.role_arn},
                "rollout": {
                    "steps": [{"weight": 10}, {"pause": "5m"}, {"weight": 100}],
                },
            }
        ],
    }
)
ROLLOUT = ResolvedRollout(  # the spec's steps, with a pause short enough for a test
    strategy="canary",
    steps=(ResolvedStep(weight=10), ResolvedStep(analysis_s=0.35), ResolvedStep(weight=100)),
    analysis=ResolvedAnalysis(interval_s=0.1, failure_limit=0, min_requests=50),
)
ROWS = [{"income": 1000.0 * i, "age": 30 + i} for i in range(20)]


def predictions(_variant: str | None, body: bytes) -> tuple[int, bytes]:
    return 200, json.dumps([0.25] * len(json.loads(body)["rows"])).encode()


@pytest.fixture
def sagemaker(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSageMaker]:
    with fake_sagemaker(monkeypatch, predictions, in_service(("stable", 1), ("canary", 1))) as f:
        yield f


@pytest.fixture
def aliases(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The registry alias apply sets on promotion (the MLflow registry is not under test)."""
    set_to: list[str] = []
    monkeypatch.setattr(
        "pipelines.release.canary.set_alias", lambda _ws, release, env: set_to.append(env)
    )
    return set_to


def release(tmp_path: Path) -> tuple[MockedAwsTarget, Workspace, EnvOutcome, list[str]]:
    target = MockedAwsTarget(CONFIG)
    target.deploy(Slot.STABLE, Release(V3["bento"], V3["model"]))
    ws = Workspace.at(tmp_path)
    said: list[str] = []
    ctx = ReleaseContext(
        SPEC, tmp_path / "spec.yaml", ws, ApplyOptions(traffic_rps=20), said.append
    )
    check = ApprovalCheck("digest", [])
    er = EnvRelease(ctx, SPEC.environments[0], Release(V4["bento"], V4["model"]), target, check)
    outcome = canary_release(replace(er, rows=ROWS), ROLLOUT)
    return target, ws, outcome, said


def weights(target: MockedAwsTarget) -> list[dict[str, int]]:
    """The variant weights of each `pulumi up` the release made, in order."""
    configs = [up["endpoint-config"].inputs["productionVariants"] for up in target.ups]
    return [{v["variantName"]: v["initialVariantWeight"] for v in c} for c in configs]


def test_a_healthy_canary_on_aws_is_promoted(
    tmp_path: Path, sagemaker: FakeSageMaker, stubbed_cloudwatch: Stubber, aliases: list[str]
) -> None:
    for minute in range(1, 10):  # stable then canary, per measurement
        stubbed_cloudwatch.add_response("get_metric_data", answer([3000.0 * minute], [3.0], [60e3]))
        stubbed_cloudwatch.add_response("get_metric_data", answer([300.0 * minute], [0.0], [62e3]))
    target, ws, outcome, said = release(tmp_path)

    assert outcome.outcome == "promoted", said
    assert weights(target) == [
        {"stable": 100},
        {"stable": 100, "canary": 0},  # the canary's variant, smoke-tested before any traffic
        {"stable": 90, "canary": 10},
        {"stable": 0, "canary": 100},  # the last step
        {"stable": 0, "canary": 100},  # promotion: all on the canary,
        {"stable": 0, "canary": 100},  # the stable variant gets the new image,
        {"stable": 100, "canary": 0},  # takes the traffic back,
        {"stable": 100},  # and the canary's variant goes
    ]
    images = [up["model-stable"].inputs["primaryContainer"]["image"] for up in target.ups]
    assert [i.rpartition(":")[2] for i in images] == ["aaa111"] * 5 + ["bbb222"] * 3
    assert target.state().slots[Slot.STABLE].release.model == V4["model"]
    smoke = [i for i in sagemaker.invocations if i["variant"] == "canary"]
    assert len(smoke) == len(ROWS)  # each row alone, pinned to the canary's variant
    assert all(i["authorization"].startswith("AWS4-HMAC-SHA256 ") for i in sagemaker.invocations)
    replayed = [i for i in sagemaker.invocations if i["variant"] is None]
    assert replayed  # traffic to the endpoint, split by SageMaker's weights
    assert aliases == ["production"]
    kinds = [e.kind for e in ledger_of(ws).entries()]
    assert kinds[0] == "deploy"
    assert "analysis" in kinds
    assert kinds[-1] == "promoted"


def test_a_canary_failing_on_cloudwatch_figures_is_rolled_back(
    tmp_path: Path, sagemaker: FakeSageMaker, stubbed_cloudwatch: Stubber, aliases: list[str]
) -> None:
    stubbed_cloudwatch.add_response("get_metric_data", answer([3000.0], [3.0], [60e3]))
    stubbed_cloudwatch.add_response("get_metric_data", answer([400.0], [40.0], [65e3]))
    target, ws, outcome, said = release(tmp_path)

    assert outcome.outcome == "rolled back", said
    assert "canary error rate 10.00% is above 1.00%" in outcome.detail
    assert weights(target)[-2:] == [{"stable": 100, "canary": 0}, {"stable": 100}]
    assert target.state().slots[Slot.STABLE].release.model == V3["model"]
    assert set(target.state().slots) == {Slot.STABLE}
    assert aliases == []
    (rollback,) = [e for e in ledger_of(ws).entries() if e.kind == "rollback"]
    assert rollback.details["model"] == V4["model"]
