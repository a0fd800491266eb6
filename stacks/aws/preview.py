"""How an aws release previews: each resource's key fields, which changes replace a resource,
and whether a live `pulumi preview` can run here (credentials and the aws resource plugin)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stacks.engine.mock_preview import Described, Recorded, plain

# SageMaker models and endpoint configurations are immutable: a change is a new one.
REPLACED = frozenset(
    {
        "aws:sagemaker/model:Model",
        "aws:sagemaker/endpointConfiguration:EndpointConfiguration",
    }
)
CREDENTIAL_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_PROFILE",
    "AWS_WEB_IDENTITY_TOKEN_FILE",
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
    "AWS_CONTAINER_CREDENTIALS_FULL_URI",
)
_KINDS = {
    "aws:sagemaker/model:Model": "SageMaker Model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "SageMaker EndpointConfig",
    "aws:sagemaker/endpoint:Endpoint": "SageMaker Endpoint",
    "aws:appautoscaling/target:Target": "ScalableTarget",
    "aws:appautoscaling/policy:Policy": "ScalingPolicy",
}


def describe(resource: Recorded) -> Described | None:
    """Kind, name and the fields a reviewer checks; providers are not shown."""
    if resource.type.startswith("pulumi:providers:"):
        return None
    inputs = plain(resource.inputs)
    kind = _KINDS.get(resource.type, resource.type)
    name = str(inputs.get("name") or resource.name)
    fields: dict[str, str] = {}
    if resource.type == "aws:sagemaker/model:Model":
        fields["image"] = str((inputs.get("primaryContainer") or {}).get("image"))
        fields["model"] = str((inputs.get("tags") or {}).get("shipyard:model"))
    elif resource.type == "aws:sagemaker/endpointConfiguration:EndpointConfiguration":
        fields.update(_variants(inputs.get("productionVariants") or []))
    elif resource.type == "aws:appautoscaling/target:Target":
        fields["instances"] = f"{inputs.get('minCapacity')}..{inputs.get('maxCapacity')}"
        fields["resource"] = str(inputs.get("resourceId"))
    elif resource.type == "aws:appautoscaling/policy:Policy":
        tracking = inputs.get("targetTrackingScalingPolicyConfiguration") or {}
        fields["invocations-per-instance"] = str(tracking.get("targetValue"))
    rank = list(_KINDS).index(resource.type) if resource.type in _KINDS else len(_KINDS)
    return Described(kind, name, fields, rank)


def _variants(variants: list[dict[str, Any]]) -> dict[str, str]:
    fields = {}
    for variant in variants:
        name = variant.get("variantName")
        fields[f"{name} weight"] = f"{variant.get('initialVariantWeight')}%"
        fields[f"{name} instances"] = (
            f"{variant.get('initialInstanceCount')} x {variant.get('instanceType')}"
        )
    return fields


def missing_credentials() -> str | None:
    """Why no AWS account can be reached from here, or None when the standard variables or
    the shared credentials files name credentials to try (instance roles are not detected
    offline: set AWS_PROFILE or the keys where a live preview is wanted)."""
    if any(os.environ.get(name) for name in CREDENTIAL_VARIABLES):
        return None
    files = [
        os.environ.get("AWS_SHARED_CREDENTIALS_FILE") or str(Path.home() / ".aws/credentials"),
        os.environ.get("AWS_CONFIG_FILE") or str(Path.home() / ".aws/config"),
    ]
    if any(Path(f).is_file() for f in files):
        return None
    return "no AWS credentials (none in AWS_ACCESS_KEY_ID, AWS_PROFILE, ~/.aws)"
