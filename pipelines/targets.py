"""Map a spec environment onto its target's own small config (stacks never see the spec)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from pipelines.errors import UsageError
from pipelines.workspace import Workspace
from validators.spec.model import Environment, ModelDeployment
from validators.spec.resolved import with_defaults

if TYPE_CHECKING:
    from stacks.target import Target

IMAGES_VARIABLE = "SHIPYARD_IMAGES"


def environment(spec: ModelDeployment, name: str) -> Environment:
    for env in spec.environments:
        if env.name == name:
            return env
    known = ", ".join(e.name for e in spec.environments)
    raise UsageError(f"{spec.metadata.name} has no environment {name!r}; it has: {known}")


def target_for(spec: ModelDeployment, env_name: str, ws: Workspace) -> Target:
    """The target object that runs `spec` in environment `env_name`."""
    from stacks.target import target_factory

    env = environment(spec, env_name)
    factory = target_factory(env.target)
    if env.target == "local":
        from stacks.local.config import LocalTargetConfig

        config = LocalTargetConfig(
            spec=spec.metadata.name,
            environment=env.name,
            state_dir=ws.state,
            bentoml_home=ws.bentoml_home,
            listen=env.local.port if env.local else None,
            max_body=with_defaults(spec).service.max_request_bytes,
        )
        return factory(config)
    if env.target == "kubernetes":
        return factory(_kubernetes(spec, env, ws))
    return factory(_aws(spec, env, ws))


def _kubernetes(spec: ModelDeployment, env: Environment, ws: Workspace) -> object:
    from stacks.kubernetes.config import KubernetesTargetConfig

    settings = env.kubernetes
    image = release_image(spec.metadata.name, settings.image if settings else None)
    if not image or settings is None:
        raise UsageError(
            f"environments[{env.name}].kubernetes.image: needed for a kubernetes target",
            hint="set it to the repository CI pushes the Bento's image to, or pass the "
            f"image CI built in ${IMAGES_VARIABLE}",
        )
    resources = spec.service.resources if spec.service else None
    optional: dict[str, Any] = {
        "namespace": settings.namespace,
        "context": settings.context,
        "ingress_class": settings.ingress_class,
        "host": settings.host,
        "prometheus_url": settings.prometheus_url,
        "cpu": resources.cpu if resources else None,
        "memory": resources.memory if resources else None,
    }
    return KubernetesTargetConfig(
        spec=spec.metadata.name,
        environment=env.name,
        image=image,
        state_dir=ws.state,
        replicas=env.replicas or 1,
        max_body_bytes=with_defaults(spec).service.max_request_bytes,
        rollout_weights=rollout_weights(spec, env.name),
        **{k: v for k, v in optional.items() if v is not None},
    )


def _aws(spec: ModelDeployment, env: Environment, ws: Workspace) -> object:
    from stacks.aws.config import AwsTargetConfig

    settings = env.aws
    image = release_image(spec.metadata.name, settings.image if settings else None)
    missing = [
        k for k, v in (("image", image), ("role_arn", settings and settings.role_arn)) if not v
    ]
    if missing or settings is None or image is None:
        raise UsageError(
            f"environments[{env.name}].aws.{missing[0]}: needed for an aws target",
            hint="set image (the ECR repository CI pushes to) and role_arn (SageMaker's role)",
        )
    optional: dict[str, Any] = {"region": settings.region, "instance_type": settings.instance_type}
    return AwsTargetConfig(
        spec=spec.metadata.name,
        environment=env.name,
        image=image,
        role_arn=str(settings.role_arn),
        state_dir=ws.state,
        instance_count=env.replicas or 1,
        rollout_weights=rollout_weights(spec, env.name),
        **{k: v for k, v in optional.items() if v is not None},
    )


def release_image(spec_name: str, configured: str | None) -> str | None:
    """The image a container target runs: the spec's when it pins one (a tag or a digest),
    else the one CI built and pushed for this spec (`$SHIPYARD_IMAGES`, pinned by digest),
    else the spec's repository (tagged with the Bento's version by the target)."""
    if configured and _pinned(configured):
        return configured
    return built_images().get(spec_name) or configured


def built_images() -> dict[str, str]:
    """`$SHIPYARD_IMAGES`: the images CI pushed, as JSON `{"spec name": "repo@sha256:..."}`
    (pipelines/images.py writes it)."""
    raw = os.environ.get(IMAGES_VARIABLE, "").strip()
    if not raw:
        return {}
    try:
        images = json.loads(raw)
    except ValueError:
        images = None
    if not isinstance(images, dict) or not all(isinstance(v, str) for v in images.values()):
        raise UsageError(
            f"${IMAGES_VARIABLE} is not a JSON object of spec names to image references",
            hint='e.g. {"credit-risk": "ghcr.io/acme/credit-risk@sha256:..."}',
        )
    return images


def _pinned(image: str) -> bool:
    return "@" in image or ":" in image.rpartition("/")[2]


def rollout_weights(spec: ModelDeployment, env_name: str) -> tuple[int, ...]:
    """The canary's traffic steps in the environment's rollout (empty when it is direct)."""
    for env in with_defaults(spec).environments:
        if env.name == env_name and env.rollout.strategy == "canary":
            return tuple(s.weight for s in env.rollout.steps if s.weight is not None)
    return ()
