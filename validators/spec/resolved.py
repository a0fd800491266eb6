"""Defaults, applied in one place: `with_defaults(spec)` returns a separate, resolved type.

`DEFAULTS` is also what the generated JSON Schema and docs/spec.md show as each field's default.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeVar

from validators.spec import model as m
from validators.spec.durations import parse_duration, parse_quantity

DEFAULTS: dict[tuple[type[m.SpecObject], str], object] = {
    (m.Column, "nullable"): False,
    (m.Batching, "max_batch_size"): 64,
    (m.Batching, "max_latency_ms"): 1000,
    (m.Service, "api"): "predict",
    (m.Service, "workers"): 1,
    (m.Service, "timeout"): "30s",
    (m.Service, "max_request_size"): "10Mi",
    (m.ServingGate, "load"): {"rps": 20, "duration": "10s"},
    (m.Environment, "replicas"): 1,
    (m.Analysis, "interval"): "10s",
    (m.Analysis, "failure_limit"): 2,
    (m.Analysis, "min_requests"): 50,
    (m.Monitoring, "window"): "1h",
    (m.DriftMonitor, "action"): "alert",
    (m.SloMonitor, "action"): "alert",
}


def default(owner: type[m.SpecObject], name: str) -> object:
    return DEFAULTS[(owner, name)]


T = TypeVar("T")


def _pick(value: T | None, owner: type[m.SpecObject], name: str) -> T:
    return value if value is not None else default(owner, name)  # type: ignore[return-value]


@dataclass(frozen=True)
class ResolvedService:
    api: str
    max_batch_size: int
    max_latency_ms: int
    workers: int
    timeout_s: float
    max_request_bytes: int
    cpu: str | None
    memory: str | None


@dataclass(frozen=True)
class ResolvedAnalysis:
    interval_s: float
    failure_limit: int
    min_requests: int


@dataclass(frozen=True)
class ResolvedStep:
    """A canary step with its duration in seconds: exactly one field is set."""

    weight: int | None = None
    pause_s: float | None = None
    analysis_s: float | None = None


@dataclass(frozen=True)
class ResolvedRollout:
    strategy: Literal["canary", "direct"]
    steps: tuple[ResolvedStep, ...]
    analysis: ResolvedAnalysis


@dataclass(frozen=True)
class ResolvedEnvironment:
    name: str
    target: str
    # the built-in target's settings block (its defaults when omitted); None for a target a
    # plugin registers: the spec has no block for it
    settings: m.LocalSettings | m.KubernetesSettings | m.AwsSettings | None
    replicas: int
    approvals: tuple[m.Approval, ...]
    rollout: ResolvedRollout


@dataclass(frozen=True)
class ResolvedSpec:
    """A valid spec with every default filled in; `spec` is what the user wrote."""

    spec: m.ModelDeployment
    name: str
    service: ResolvedService
    environments: tuple[ResolvedEnvironment, ...]


def with_defaults(spec: m.ModelDeployment) -> ResolvedSpec:
    """Fill in every default. Call it on a spec that passed `checks.check_spec`."""
    return ResolvedSpec(
        spec=spec,
        name=spec.metadata.name,
        service=_service(spec.service or m.Service()),
        environments=tuple(_environment(env) for env in spec.environments),
    )


def _service(service: m.Service) -> ResolvedService:
    batching = service.batching or m.Batching()
    resources = service.resources or m.Resources()
    return ResolvedService(
        api=_pick(service.api, m.Service, "api"),
        max_batch_size=_pick(batching.max_batch_size, m.Batching, "max_batch_size"),
        max_latency_ms=_pick(batching.max_latency_ms, m.Batching, "max_latency_ms"),
        workers=_pick(service.workers, m.Service, "workers"),
        timeout_s=parse_duration(_pick(service.timeout, m.Service, "timeout")),
        max_request_bytes=int(
            parse_quantity(_pick(service.max_request_size, m.Service, "max_request_size"))
        ),
        cpu=resources.cpu,
        memory=resources.memory,
    )


def _environment(env: m.Environment) -> ResolvedEnvironment:
    blocks = {"local": m.LocalSettings, "kubernetes": m.KubernetesSettings, "aws": m.AwsSettings}
    block = blocks.get(env.target)
    settings = (getattr(env, env.target) or block()) if block is not None else None
    return ResolvedEnvironment(
        name=env.name,
        target=env.target,
        settings=settings,
        replicas=_pick(env.replicas, m.Environment, "replicas"),
        approvals=tuple(env.approvals or ()),
        rollout=_rollout(env.rollout or m.Rollout()),
    )


def _rollout(rollout: m.Rollout) -> ResolvedRollout:
    analysis = rollout.analysis or m.Analysis()
    steps = tuple(
        ResolvedStep(
            weight=step.weight,
            pause_s=parse_duration(step.pause) if step.pause else None,
            analysis_s=parse_duration(step.analysis.duration) if step.analysis else None,
        )
        for step in rollout.steps or ()
    )
    return ResolvedRollout(
        strategy=rollout.strategy or ("canary" if steps else "direct"),
        steps=steps,
        analysis=ResolvedAnalysis(
            interval_s=parse_duration(_pick(analysis.interval, m.Analysis, "interval")),
            failure_limit=_pick(analysis.failure_limit, m.Analysis, "failure_limit"),
            min_requests=_pick(analysis.min_requests, m.Analysis, "min_requests"),
        ),
    )
