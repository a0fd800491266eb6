"""The offline preview of a release on a cloud target: each rollout step run through the
target's program under Pulumi mocks and compared with the step before."""

from __future__ import annotations

import copy
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from stacks.aws.config import AwsTargetConfig
from stacks.aws.target import AwsTarget
from stacks.desired import Desired
from stacks.engine.mock_preview import rollout_stages
from stacks.kubernetes.config import KubernetesTargetConfig
from stacks.kubernetes.target import KubernetesTarget
from stacks.target import PreviewSummary, Release, Slot

V3 = {"bento": "credit_risk:aaa111", "model": "models:/credit-risk/3"}
V4 = Release("credit_risk:bbb222", "models:/credit-risk/4")
RUNNING = Desired({"stable": V3}, {"stable": 100})
K8S = KubernetesTargetConfig(
    spec="credit-risk",
    environment="production",
    image="registry.example.com/credit-risk",
    state_dir=Path("/nonexistent"),
    host="credit.example.com",
    replicas=2,
    rollout_weights=(10, 50),
)
AWS = AwsTargetConfig(
    spec="credit-risk",
    environment="production",
    image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/credit-risk",
    role_arn="arn:aws:iam::123456789012:role/sagemaker",
    state_dir=Path("/nonexistent"),
    region="eu-west-1",
    instance_count=2,
    rollout_weights=(10, 50),
)
NS = "credit-risk/credit-risk-production"


@pytest.fixture(autouse=True)
def no_credentials(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """A machine with no kubeconfig and no AWS credentials (as this one)."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("KUBECONFIG", "KUBERNETES_SERVICE_HOST", "AWS_ACCESS_KEY_ID", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AWS_SHARED_CREDENTIALS_FILE", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)


class RunningOn:
    """A target whose stack outputs say `RUNNING` runs (no engine is started)."""

    ran_with = RUNNING

    def _outputs(self) -> dict[str, Any]:
        return {"desired": copy.deepcopy(asdict(self.ran_with)), "endpoint": "x"}


class PreviewedKubernetes(RunningOn, KubernetesTarget):
    pass


class PreviewedAws(RunningOn, AwsTarget):
    pass


def test_rollout_stages_follow_apply() -> None:
    stages = rollout_stages(RUNNING, Slot.CANARY, V4, (10, 50, 100))
    assert [title for title, _ in stages] == [
        "deploy canary credit_risk:bbb222",
        "canary at 10%",
        "canary at 50%",
        "canary at 100%",
        "promote: the canary becomes stable, the canary slot is removed",
    ]
    new = {"bento": V4.bento, "model": V4.model}
    assert [d.weights for _, d in stages] == [
        {"stable": 100, "canary": 0},
        {"stable": 90, "canary": 10},
        {"stable": 50, "canary": 50},
        {"stable": 0, "canary": 100},
        {"stable": 100},
    ]
    assert stages[1][1].slots == {"stable": V3, "canary": new}
    assert stages[-1][1].slots == {"stable": new}
    assert Desired({"stable": V3}, {"stable": 100}) == RUNNING  # not changed in place


def test_a_first_or_direct_release_is_one_step() -> None:
    (only,) = rollout_stages(Desired(), Slot.STABLE, V4, (10, 50))
    assert only[1] == Desired({"stable": {"bento": V4.bento, "model": V4.model}}, {"stable": 100})
    (direct,) = rollout_stages(RUNNING, Slot.STABLE, V4, (10, 50))
    assert direct[1].weights == {"stable": 100}


def test_kubernetes_preview_shows_each_step_under_mocks() -> None:
    preview = PreviewedKubernetes(K8S).preview(Slot.CANARY, V4)
    assert preview.note == (
        "no cluster credentials (no kubeconfig: KUBECONFIG or ~/.kube/config): "
        "previewed with Pulumi mocks"
    )
    deploy, at10, at50, promote = preview.rollout
    assert deploy.changes == {"create": 5, "same": 6}
    assert deploy.resources == [
        f"+ Deployment {NS}-canary (image registry.example.com/credit-risk:bbb222, "
        "replicas 2, model v4)",
        f"+ Service {NS}-canary (slot canary)",
        f"+ HorizontalPodAutoscaler {NS}-canary (replicas 2..6)",
        f"+ PodDisruptionBudget {NS}-canary (max-unavailable 1)",
        f"+ Ingress {NS}-canary (to credit-risk-production-canary, canary-weight 0%)",
    ]
    assert (preview.changes, preview.steps) == (deploy.changes, deploy.resources)
    assert at10.resources == [f"~ Ingress {NS}-canary: canary-weight 0% → 10%"]
    assert at50.resources == [f"~ Ingress {NS}-canary: canary-weight 10% → 50%"]
    assert promote.changes == {"update": 4, "delete": 5, "same": 2}
    assert promote.resources[0] == (
        f"~ Deployment {NS}-stable: image registry.example.com/credit-risk:aaa111 → "
        "registry.example.com/credit-risk:bbb222, model v3 → v4"
    )
    assert f"~ Service {NS}-stable: metadata.labels changed" in promote.resources
    assert f"- Ingress {NS}-canary" in promote.resources
    assert f"- Deployment {NS}-canary" in promote.resources


def test_aws_preview_replaces_the_endpoint_configuration_at_each_weight() -> None:
    preview = PreviewedAws(AWS).preview(Slot.CANARY, V4)
    assert preview.note.startswith("no AWS credentials")
    assert preview.note.endswith(": previewed with Pulumi mocks")
    deploy, at10, at50, promote = preview.rollout
    assert deploy.changes == {"create": 3, "replace": 1, "same": 4}
    assert at10.changes == {"replace": 1, "same": 7}
    assert at10.resources == [
        "+- SageMaker EndpointConfig endpoint-config: stable weight 100% → 90%, "
        "canary weight 0% → 10%"
    ]
    assert at50.resources == [
        "+- SageMaker EndpointConfig endpoint-config: stable weight 90% → 50%, "
        "canary weight 10% → 50%"
    ]
    assert promote.resources[0] == (
        f"+- SageMaker Model model-stable: image {AWS.image}:aaa111 → {AWS.image}:bbb222, "
        "model models:/credit-risk/3 → models:/credit-risk/4"
    )
    assert "- ScalableTarget scaling-target-canary" in promote.resources


def test_with_a_kubeconfig_but_no_plugin_the_preview_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text("apiVersion: v1\nkind: Config\n", encoding="utf-8")
    monkeypatch.setenv("KUBECONFIG", str(kubeconfig))
    monkeypatch.setenv("PATH", str(tmp_path))  # no pulumi-resource-kubernetes on it
    preview = PreviewedKubernetes(K8S).preview(Slot.STABLE, V4)
    assert preview.note.startswith("no pulumi-resource-kubernetes plugin")
    (step,) = preview.rollout
    assert step.resources[0].startswith(f"~ Deployment {NS}-stable: image")


def test_a_preview_is_plain_data_for_the_json_plan() -> None:
    preview = PreviewedKubernetes(replace(K8S, rollout_weights=(25,))).preview(Slot.CANARY, V4)
    assert isinstance(preview, PreviewSummary)
    data = asdict(preview)
    assert [step["title"] for step in data["rollout"]] == [
        "deploy canary credit_risk:bbb222",
        "canary at 25%",
        "promote: the canary becomes stable, the canary slot is removed",
    ]
    assert data["note"].endswith("previewed with Pulumi mocks")
