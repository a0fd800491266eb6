"""The aws target's own inputs (the pipeline maps a spec environment onto them), the names
its resources get, and the CloudWatch metrics canary analysis reads."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from stacks.errors import StackError
from stacks.target import TargetInputs

SAGEMAKER_NAMESPACE = "AWS/SageMaker"
SAGEMAKER_PORT = 8080  # the container contract: GET /ping, POST /invocations
VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
_MAX_ENDPOINT_NAME = 63


@dataclass(frozen=True)
class AwsTargetConfig:
    """One spec environment as a SageMaker real-time endpoint in one AWS account."""

    spec: str
    environment: str
    image: str  # an ECR repository (tagged per release with the Bento version) or a pinned ref
    role_arn: str  # the IAM role SageMaker assumes to pull the image and run the model
    state_dir: Path  # the project's .shipyard/ (engine home, file backend by default)
    region: str | None = None  # default: AWS_REGION / the profile's region
    instance_type: str = "ml.m5.large"
    instance_count: int = 1  # per variant; the autoscaling floor
    max_instance_count: int | None = None  # the autoscaling ceiling; default: 3 x count
    invocations_per_instance: float = 100.0  # per minute: the target-tracking value
    metrics_period_s: int = 60
    rollout_weights: tuple[int, ...] = ()  # the canary's traffic steps, for previews

    def __post_init__(self) -> None:
        if len(self.endpoint_name) > _MAX_ENDPOINT_NAME:
            raise StackError(
                f"SageMaker endpoint name {self.endpoint_name!r} is over 63 characters",
                hint="shorten the spec or environment name",
            )
        if self.instance_count < 1 or self.scaling_max < self.instance_count:
            raise StackError(
                f"instance_count must be >= 1 and <= max_instance_count, got "
                f"{self.instance_count} and {self.scaling_max}"
            )

    @property
    def project(self) -> str:
        return f"shipyard-{self.spec}"

    @property
    def stack(self) -> str:
        return self.environment

    @property
    def endpoint_name(self) -> str:
        return f"{self.spec}-{self.environment}"

    @property
    def scaling_max(self) -> int:
        return self.max_instance_count or 3 * self.instance_count

    def resolved_region(self) -> str | None:
        return self.region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")

    def scaling_resource_id(self, slot: str) -> str:
        """Application Auto Scaling's id of a slot's production variant."""
        return f"endpoint/{self.endpoint_name}/variant/{slot}"

    def tags(
        self, slot: str | None = None, release: dict[str, str] | None = None
    ) -> dict[str, str]:
        tags = {"shipyard:spec": self.spec, "shipyard:environment": self.environment}
        if slot:
            tags["shipyard:slot"] = slot
        if release:
            tags["shipyard:bento"] = release["bento"]
            tags["shipyard:model"] = release["model"]
        return tags

    def image_for(self, bento: str) -> str:
        """The image of a release: the repository tagged with the Bento's version, unless
        the configured image is already pinned (a tag or a digest)."""
        if "@" in self.image or ":" in self.image.rpartition("/")[2]:
            return self.image
        return f"{self.image}:{bento.rpartition(':')[2] or 'latest'}"


@dataclass(frozen=True)
class CloudWatchSource:
    """Where canary analysis reads one slot's metrics: its production variant's series in
    CloudWatch (validators/cloudwatch.py says which metrics and statistics)."""

    region: str | None
    namespace: str
    dimensions: dict[str, str]
    period_s: int

    @property
    def url(self) -> str:
        """The `cloudwatch://REGION/NAMESPACE?Name=value&...&period=SECONDS` a slot names."""
        query = urlencode({**self.dimensions, "period": str(self.period_s)})
        return f"cloudwatch://{self.region}/{self.namespace}?{query}"


def cloudwatch_source(config: AwsTargetConfig, slot: str) -> CloudWatchSource:
    return CloudWatchSource(
        region=config.resolved_region(),
        namespace=SAGEMAKER_NAMESPACE,
        dimensions={"EndpointName": config.endpoint_name, "VariantName": slot},
        period_s=config.metrics_period_s,
    )


def aws_config(inputs: TargetInputs) -> AwsTargetConfig:
    """The aws target's config of one spec environment; `image` and `role_arn` are required."""
    role = inputs.settings.get("role_arn")
    missing = [k for k, v in (("image", inputs.image), ("role_arn", role)) if not v]
    if missing or not inputs.image:
        raise StackError(
            f"{inputs.field('aws.' + missing[0])}: needed for an aws target",
            hint="set image (the ECR repository CI pushes to) and role_arn (SageMaker's role)",
        )
    optional = {k: inputs.settings.get(k) for k in ("region", "instance_type")}
    return AwsTargetConfig(
        spec=inputs.spec,
        environment=inputs.environment,
        image=inputs.image,
        role_arn=str(role),
        state_dir=inputs.state_dir,
        instance_count=inputs.replicas or 1,
        rollout_weights=inputs.rollout_weights,
        **{k: v for k, v in optional.items() if v is not None},
    )
