"""Map a spec environment onto its target's own small config (stacks never see the spec)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pipelines.errors import UsageError
from pipelines.workspace import Workspace
from validators.spec.model import Environment, ModelDeployment
from validators.spec.resolved import with_defaults

if TYPE_CHECKING:
    from stacks.target import Target


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
    image = settings.image if settings else None
    if not image:
        raise UsageError(
            f"environments[{env.name}].kubernetes.image: needed for a kubernetes target",
            hint="set it to the repository CI pushes the Bento's image to",
        )
    assert settings is not None
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
        **{k: v for k, v in optional.items() if v is not None},
    )


def _aws(spec: ModelDeployment, env: Environment, ws: Workspace) -> object:
    from stacks.aws.config import AwsTargetConfig

    settings = env.aws
    missing = [k for k in ("image", "role_arn") if not (settings and getattr(settings, k))]
    if missing or settings is None:
        raise UsageError(
            f"environments[{env.name}].aws.{missing[0]}: needed for an aws target",
            hint="set image (the ECR repository CI pushes to) and role_arn (SageMaker's role)",
        )
    optional: dict[str, Any] = {"region": settings.region, "instance_type": settings.instance_type}
    return AwsTargetConfig(
        spec=spec.metadata.name,
        environment=env.name,
        image=str(settings.image),
        role_arn=str(settings.role_arn),
        state_dir=ws.state,
        instance_count=env.replicas or 1,
        **{k: v for k, v in optional.items() if v is not None},
    )
