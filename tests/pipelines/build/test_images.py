"""Container images for the cloud targets: where CI pushes a spec's image, how the pushed
digest is found, and how a spec environment maps onto a target config (image, rollout)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path

import pytest

from pipelines.build.images import ImageError, push_image, repository_for, strip_reference
from pipelines.core.errors import UsageError
from pipelines.core.specs import load_text
from pipelines.core.targets import release_image, rollout_weights, target_for
from pipelines.core.workspace import Workspace
from validators.spec.model import ModelDeployment

SPEC = """
apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {{name: credit-risk, owners: ["@team"]}}
model: {{uri: "models:/credit-risk/3"}}
environments:
  - name: staging
    target: local
  - name: production
    target: {target}
    replicas: 2
{settings}
    rollout:
      steps: [{{weight: 10}}, {{pause: 5m}}, {{weight: 50}}, {{weight: 100}}]
"""
K8S = "    kubernetes: {{image: {image}, host: credit.example.com}}"
AWS = "    aws: {{image: {image}, role_arn: 'arn:aws:iam::1:role/sm', region: eu-west-1}}"
REPO = "registry.example.com:5000/ml/credit-risk"
DIGEST = f"{REPO}@sha256:{'a' * 64}"


def spec(target: str = "kubernetes", image: str = REPO) -> ModelDeployment:
    settings = {"kubernetes": K8S, "aws": AWS, "local": ""}[target].format(image=image)
    report = load_text(SPEC.format(target=target, settings=settings), "specs/credit-risk.yaml")
    assert report.spec is not None, report.findings
    return report.spec


def test_repository_is_the_specs_image_without_tag_or_digest() -> None:
    assert repository_for(spec(image=f"{REPO}:v1"), "ghcr.io/acme") == REPO
    assert repository_for(spec("aws", image=DIGEST), None) == REPO
    assert repository_for(spec("local"), "ghcr.io/acme") is None  # nothing runs a container
    assert strip_reference("localhost:5000/x") == "localhost:5000/x"


def test_a_pushed_image_is_pinned_by_its_digest() -> None:
    commands: list[list[str]] = []

    def run(command: Sequence[str]) -> str:
        commands.append(list(command))
        return json.dumps(["other.example.com/x@sha256:" + "b" * 64, DIGEST])

    assert push_image("credit_risk:abc123", REPO, run) == DIGEST
    assert commands == [
        ["bentoml", "containerize", "credit_risk:abc123", "--image-tag", f"{REPO}:abc123"],
        ["docker", "push", f"{REPO}:abc123"],
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", f"{REPO}:abc123"],
    ]


def test_no_digest_after_a_push_is_an_error() -> None:
    with pytest.raises(ImageError, match="docker reports no digest"):
        push_image("credit_risk:abc123", REPO, lambda command: "[]")


def test_apply_runs_the_image_ci_built_unless_the_spec_pins_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPYARD_IMAGES", json.dumps({"credit-risk": DIGEST}))
    assert release_image("credit-risk", REPO) == DIGEST
    assert release_image("credit-risk", None) == DIGEST
    assert release_image("credit-risk", f"{REPO}:pinned") == f"{REPO}:pinned"
    assert release_image("fraud", REPO) == REPO
    monkeypatch.setenv("SHIPYARD_IMAGES", "[1]")
    with pytest.raises(UsageError, match="not a JSON object of spec names"):
        release_image("credit-risk", REPO)


@pytest.mark.parametrize("target", ["kubernetes", "aws"])
def test_cloud_environments_map_onto_their_configs(
    target: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SHIPYARD_IMAGES", json.dumps({"credit-risk": DIGEST}))
    made = target_for(spec(target), "production", Workspace.at(tmp_path))
    config = made.config  # type: ignore[attr-defined]  # each target keeps its own config
    assert made.name == target
    assert config.image == DIGEST
    assert config.rollout_weights == (10, 50, 100)
    assert (config.replicas if target == "kubernetes" else config.instance_count) == 2


def test_a_kubernetes_environment_needs_an_image_from_somewhere(tmp_path: Path) -> None:
    bare = spec().model_copy(deep=True)
    production = bare.environments[1]
    assert production.kubernetes is not None
    no_image = production.kubernetes.model_copy(update={"image": None})
    bare.environments[1] = production.model_copy(update={"kubernetes": no_image})
    with pytest.raises(UsageError, match=r"environments\[production\]\.kubernetes\.image"):
        target_for(bare, "production", Workspace.at(tmp_path))


def test_direct_rollouts_have_no_weights() -> None:
    assert rollout_weights(spec(), "staging") == ()
    assert rollout_weights(spec(), "production") == (10, 50, 100)
