"""The aws target's Pulumi program.

One SageMaker model per slot, one endpoint configuration whose production variants are the
slots (`stable`, `canary`) with the traffic weights as `initial_variant_weight`, the endpoint,
and target-tracking autoscaling on every variant.
"""

from __future__ import annotations

import pulumi
from pulumi_aws import appautoscaling, sagemaker

from stacks.aws.config import SAGEMAKER_PORT, VARIANT_DIMENSION, AwsTargetConfig
from stacks.desired import Desired


def program(config: AwsTargetConfig, desired: Desired) -> None:
    slots = sorted(desired.slots, key=lambda slot: (slot != "stable", slot))
    if slots:
        models = {slot: _model(config, slot, desired.slots[slot]) for slot in slots}
        variants: list[sagemaker.EndpointConfigurationProductionVariantArgsDict] = [
            {
                "variant_name": slot,
                "model_name": models[slot].name,
                "instance_type": config.instance_type,
                "initial_instance_count": config.instance_count,
                "initial_variant_weight": float(desired.weights.get(slot, 0)),
            }
            for slot in slots
        ]
        # Immutable in SageMaker: a change is a new configuration (auto-named) the endpoint
        # switches to, then the old one is deleted.
        endpoint_config = sagemaker.EndpointConfiguration(
            "endpoint-config",
            production_variants=variants,
            region=config.region,
            tags=config.tags(),
        )
        endpoint = sagemaker.Endpoint(
            "endpoint",
            name=config.endpoint_name,
            endpoint_config_name=endpoint_config.name,
            region=config.region,
            tags=config.tags(),
        )
        for slot in slots:
            _autoscaling(config, slot, endpoint)
    pulumi.export("endpoint", config.endpoint_name if slots else None)
    pulumi.export("desired", {"slots": desired.slots, "weights": desired.weights})


def _model(config: AwsTargetConfig, slot: str, release: dict[str, str]) -> sagemaker.Model:
    environment = {
        "SHIPYARD_SPEC": config.spec,
        "SHIPYARD_SLOT": slot,
        "BENTOML_DO_NOT_TRACK": "true",
        # SageMaker runs the image with `serve` and talks to port 8080; the Bento answers
        # /ping and /invocations itself (pipelines/build/service.py).
        "BENTOML_PORT": str(SAGEMAKER_PORT),
    }
    return sagemaker.Model(
        f"model-{slot}",
        execution_role_arn=config.role_arn,
        primary_container={
            "image": config.image_for(release["bento"]),
            "mode": "SingleModel",
            "environment": environment,
        },
        region=config.region,
        tags=config.tags(slot, release),
    )


def _autoscaling(config: AwsTargetConfig, slot: str, endpoint: sagemaker.Endpoint) -> None:
    target = appautoscaling.Target(
        f"scaling-target-{slot}",
        service_namespace="sagemaker",
        scalable_dimension=VARIANT_DIMENSION,
        resource_id=config.scaling_resource_id(slot),
        min_capacity=config.instance_count,
        max_capacity=config.scaling_max,
        region=config.region,
        tags=config.tags(slot),
        opts=pulumi.ResourceOptions(depends_on=[endpoint]),
    )
    appautoscaling.Policy(
        f"scaling-policy-{slot}",
        policy_type="TargetTrackingScaling",
        service_namespace=target.service_namespace,
        scalable_dimension=target.scalable_dimension,
        resource_id=target.resource_id,
        target_tracking_scaling_policy_configuration={
            "predefined_metric_specification": {
                "predefined_metric_type": "SageMakerVariantInvocationsPerInstance",
            },
            "target_value": config.invocations_per_instance,
            "scale_in_cooldown": 300,
            "scale_out_cooldown": 60,
        },
        region=config.region,
    )
