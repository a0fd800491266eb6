"""Map a spec environment onto its target's own small config (stacks never see the spec)."""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from pipelines.core.errors import UsageError
from pipelines.core.workspace import Workspace
from validators.spec.model import Environment, ModelDeployment
from validators.spec.resolved import ResolvedSpec, with_defaults

if TYPE_CHECKING:
    from stacks.target import Target, TargetInputs

IMAGES_VARIABLE = "SHIPYARD_IMAGES"


def environment(spec: ModelDeployment, name: str) -> Environment:
    for env in spec.environments:
        if env.name == name:
            return env
    known = ", ".join(e.name for e in spec.environments)
    raise UsageError(f"{spec.metadata.name} has no environment {name!r}; it has: {known}")


def target_for(spec: ModelDeployment, env_name: str, ws: Workspace) -> Target:
    """The target object that runs `spec` in environment `env_name`."""
    from stacks.errors import StackError
    from stacks.registry import target_kind

    env = environment(spec, env_name)
    kind = target_kind(env.target)
    try:
        return kind.create(target_inputs(spec, env, ws))
    except StackError as exc:  # a setting the target needs is missing: the user's to fix
        raise UsageError(exc.message, hint=exc.hint) from None


def target_inputs(spec: ModelDeployment, env: Environment, ws: Workspace) -> TargetInputs:
    """What the environment's target is told: names, folders, its settings block as plain
    data, and the image to run (the settings' own, or the one CI built)."""
    from stacks.target import TargetInputs

    block = getattr(env, env.target, None)
    settings: dict[str, Any] = block.model_dump(exclude_none=True) if block is not None else {}
    resolved = with_defaults(spec)
    resources = spec.service.resources if spec.service else None
    return TargetInputs(
        spec=spec.metadata.name,
        environment=env.name,
        state_dir=ws.state,
        bentoml_home=ws.bentoml_home,
        settings=settings,
        replicas=env.replicas,
        max_body_bytes=resolved.service.max_request_bytes,
        rollout_weights=_weights(resolved, env.name),
        image=release_image(spec.metadata.name, settings.get("image")),
        cpu=resources.cpu if resources else None,
        memory=resources.memory if resources else None,
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
    (pipelines/build/images.py writes it)."""
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
    return _weights(with_defaults(spec), env_name)


def _weights(resolved: ResolvedSpec, env_name: str) -> tuple[int, ...]:
    for env in resolved.environments:
        if env.name == env_name and env.rollout.strategy == "canary":
            return tuple(s.weight for s in env.rollout.steps if s.weight is not None)
    return ()
