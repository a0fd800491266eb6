"""The aws program at every rollout step, under Pulumi mocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from stacks.aws.config import AwsTargetConfig, cloudwatch_source
from stacks.aws.target import AwsTarget
from stacks.desired import Desired
from stacks.errors import StackError
from stacks.registry import target_kind
from stacks.target import Release, Slot
from tests.fakes.aws_program import CONFIG, ROLE, STEPS, V3, V4, MockedAwsTarget, run, variants
from tests.fakes.pulumi_mocks import plain


@pytest.mark.parametrize(
    ("step", "weights"),
    [
        ("stable-only", {"stable": 100}),
        ("canary-0", {"stable": 100, "canary": 0}),
        ("canary-10", {"stable": 90, "canary": 10}),
        ("canary-50", {"stable": 50, "canary": 50}),
        ("canary-100", {"stable": 0, "canary": 100}),
        ("promoted", {"stable": 100}),
    ],
)
def test_each_step_is_a_variant_per_slot_with_its_weight(
    step: str, weights: dict[str, int]
) -> None:
    resources = run(STEPS[step])
    per_slot = {
        f"{kind}-{slot}"
        for kind in ("model", "scaling-target", "scaling-policy")
        for slot in weights
    }
    assert set(resources) == {"endpoint-config", "endpoint", *per_slot}
    by_variant = variants(resources)
    assert list(by_variant) == list(weights)  # stable first
    for slot, weight in weights.items():
        assert by_variant[slot] == {
            "variantName": slot,
            "modelName": f"model-{slot}-1a2b3c4",  # the slot's model, by its generated name
            "instanceType": "ml.c5.xlarge",
            "initialInstanceCount": 2,
            "initialVariantWeight": weight,
        }
    endpoint = plain(resources["endpoint"].inputs)
    assert endpoint["name"] == "credit-risk-production"
    assert endpoint["endpointConfigName"] == "endpoint-config-1a2b3c4"
    assert {r.inputs["region"] for r in resources.values()} == {"eu-west-1"}


@pytest.mark.parametrize(
    ("step", "expected"),
    [("canary-10", {"stable": V3, "canary": V4}), ("promoted", {"stable": V4})],
)
def test_each_slots_model_runs_its_releases_image(
    step: str, expected: dict[str, dict[str, str]]
) -> None:
    resources = run(STEPS[step])
    for slot, release in expected.items():
        model = plain(resources[f"model-{slot}"].inputs)
        version = release["bento"].split(":")[1]
        assert model["executionRoleArn"] == ROLE
        assert model["primaryContainer"]["image"] == f"{CONFIG.image}:{version}"
        assert model["primaryContainer"]["mode"] == "SingleModel"
        assert model["primaryContainer"]["environment"]["SHIPYARD_SLOT"] == slot
        # SageMaker's container contract: port 8080 (the Bento answers /ping, /invocations)
        assert model["primaryContainer"]["environment"]["BENTOML_PORT"] == "8080"
        assert model["tags"] == {
            "shipyard:spec": "credit-risk",
            "shipyard:environment": "production",
            "shipyard:slot": slot,
            "shipyard:bento": release["bento"],
            "shipyard:model": release["model"],
        }


def test_every_variant_scales_on_invocations_per_instance() -> None:
    resources = run(STEPS["canary-50"])
    for slot in ("stable", "canary"):
        target = plain(resources[f"scaling-target-{slot}"].inputs)
        assert target["resourceId"] == f"endpoint/credit-risk-production/variant/{slot}"
        assert target["scalableDimension"] == "sagemaker:variant:DesiredInstanceCount"
        assert target["serviceNamespace"] == "sagemaker"
        assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
        policy = plain(resources[f"scaling-policy-{slot}"].inputs)
        assert policy["policyType"] == "TargetTrackingScaling"
        assert policy["resourceId"] == target["resourceId"]
        tracking = policy["targetTrackingScalingPolicyConfiguration"]
        assert tracking["predefinedMetricSpecification"] == {
            "predefinedMetricType": "SageMakerVariantInvocationsPerInstance"
        }
        assert tracking["targetValue"] == 250


def test_no_release_means_no_endpoint() -> None:
    assert run(Desired()) == {}


def test_cloudwatch_metrics_are_per_variant() -> None:
    source = cloudwatch_source(CONFIG, "canary")
    assert source.region == "eu-west-1"
    assert source.namespace == "AWS/SageMaker"
    assert source.dimensions == {"EndpointName": "credit-risk-production", "VariantName": "canary"}
    assert source.url == (
        "cloudwatch://eu-west-1/AWS/SageMaker"
        "?EndpointName=credit-risk-production&VariantName=canary&period=60"
    )


def test_config_rejects_what_sagemaker_refuses() -> None:
    with pytest.raises(StackError, match="over 63 characters"):
        AwsTargetConfig("s" * 60, "production", "img", ROLE, Path("/nonexistent"))
    with pytest.raises(StackError, match="instance_count must be >= 1"):
        AwsTargetConfig("s", "p", "img", ROLE, Path("/nonexistent"), instance_count=0)


# --- the target, with the engine replaced by the mocks ---------------------------------------


def test_a_canary_rollout_through_the_target() -> None:
    target = MockedAwsTarget(CONFIG)
    target.deploy(Slot.STABLE, Release(V3["bento"], V3["model"]))
    target.deploy(Slot.CANARY, Release(V4["bento"], V4["model"]))
    for weight in (10, 50):
        target.set_weights({Slot.STABLE: 100 - weight, Slot.CANARY: weight})
    promoted = target.promote()
    weights = [
        {slot: v["initialVariantWeight"] for slot, v in variants(up).items()} for up in target.ups
    ]
    assert weights == [
        {"stable": 100},
        {"stable": 100, "canary": 0},
        {"stable": 90, "canary": 10},
        {"stable": 50, "canary": 50},
        {"stable": 0, "canary": 100},
        {"stable": 0, "canary": 100},
        {"stable": 100, "canary": 0},
        {"stable": 100},
    ]
    images = [plain(up["model-stable"].inputs)["primaryContainer"]["image"] for up in target.ups]
    assert images == [f"{CONFIG.image}:aaa111"] * 5 + [f"{CONFIG.image}:bbb222"] * 3
    assert promoted.release == Release(V4["bento"], V4["model"])
    assert promoted.url == "sagemaker://eu-west-1/credit-risk-production?variant=stable"
    assert target.state().endpoint == "sagemaker://eu-west-1/credit-risk-production"
    assert "VariantName=stable" in promoted.metrics_url
    assert set(target.state().slots) == {Slot.STABLE}


def test_the_target_refuses_unsafe_traffic_changes() -> None:
    target = MockedAwsTarget(CONFIG)
    target.deploy(Slot.STABLE, Release(V3["bento"], V3["model"]))
    with pytest.raises(StackError, match="cannot send traffic to canary: no release runs there"):
        target.set_weights({Slot.STABLE: 50, Slot.CANARY: 50})
    with pytest.raises(StackError, match="stable still has 100% of traffic"):
        target.teardown(Slot.STABLE)
    assert len(target.ups) == 1


def test_the_target_registers_as_aws() -> None:
    assert target_kind("aws").factory is AwsTarget


# --- every step pins the models, variants, tags and scaling -----------------------------------


@pytest.mark.parametrize("step", STEPS)
def test_every_step_pins_models_tags_and_scaling(step: str) -> None:
    resources = run(STEPS[step])
    env_tags = {"shipyard:spec": "credit-risk", "shipyard:environment": "production"}
    assert plain(resources["endpoint-config"].inputs)["tags"] == env_tags
    assert plain(resources["endpoint"].inputs)["tags"] == env_tags
    for slot, release in STEPS[step].slots.items():
        model = plain(resources[f"model-{slot}"].inputs)
        assert model == {
            "executionRoleArn": ROLE,
            "primaryContainer": {
                "image": f"{CONFIG.image}:{release['bento'].split(':')[1]}",
                "mode": "SingleModel",
                "environment": {
                    "SHIPYARD_SPEC": "credit-risk",
                    "SHIPYARD_SLOT": slot,
                    "BENTOML_DO_NOT_TRACK": "true",
                    "BENTOML_PORT": "8080",
                },
            },
            "region": "eu-west-1",
            "tags": env_tags
            | {
                "shipyard:slot": slot,
                "shipyard:bento": release["bento"],
                "shipyard:model": release["model"],
            },
        }
        target = plain(resources[f"scaling-target-{slot}"].inputs)
        assert target["tags"] == env_tags | {"shipyard:slot": slot}
        assert (target["minCapacity"], target["maxCapacity"]) == (2, 6)
        variant = variants(resources)[slot]
        assert variant["initialVariantWeight"] == STEPS[step].weights[slot]
        assert variant["initialInstanceCount"] == 2
