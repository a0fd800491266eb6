"""The agent's Prometheus metrics (served at /metrics), in a registry of its own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from pipelines.core.outcomes import Outcome

# The phases an environment's rollout is in (Argo Rollouts' words), as /status says them.
PHASES = ("Progressing", "Paused", "Degraded", "Healthy", "NotDeployed")


class AgentMetrics:
    """The agent's Prometheus metrics, in a registry of its own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.reconciles = Counter(
            "shipyard_agent_reconciles", "Ticks of the reconcile loop", registry=self.registry
        )
        self.duration = Histogram(
            "shipyard_agent_reconcile_duration_seconds",
            "Seconds one tick took (applies and canaries included)",
            buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900),
            registry=self.registry,
        )
        self.heals = Counter(
            "shipyard_agent_heals", "Drift healed", ["spec", "env", "heal"], registry=self.registry
        )
        self.rollbacks = Counter(
            "shipyard_agent_rollbacks",
            "Applies that rolled back",
            ["spec", "env"],
            registry=self.registry,
        )
        self.outcomes = Counter(
            "shipyard_agent_applies",
            "Applies by outcome",
            ["spec", "env", "outcome"],
            registry=self.registry,
        )
        self.problems = Counter(
            "shipyard_agent_problems", "Problems a tick reported", registry=self.registry
        )
        self.phase = Gauge(
            "shipyard_agent_rollout_phase",
            "1 for the phase each environment's rollout is in",
            ["spec", "env", "phase"],
            registry=self.registry,
        )
        self.leader = Gauge(
            "shipyard_agent_leader", "1 while this agent leads", registry=self.registry
        )

    def ticked(self, seconds: float, problems: int) -> None:
        self.reconciles.inc()
        self.duration.observe(seconds)
        self.problems.inc(problems)

    def outcome(self, spec: str, env: str, outcome: str) -> None:
        self.outcomes.labels(spec, env, outcome).inc()
        if outcome == Outcome.ROLLED_BACK:
            self.rollbacks.labels(spec, env).inc()

    def healed(self, spec: str, env: str, heal: str) -> None:
        self.heals.labels(spec, env, heal).inc()

    def phases(self, services: Iterable[dict[str, Any]]) -> None:
        """Each environment's phase as /status computed it: 1 for its phase, 0 for the others
        (as kube-state-metrics shows a pod's), so a phase that ended is seen to end."""
        for service in services:
            spec, env, now = service["spec"], service["env"], service.get("phase")
            for phase in PHASES:
                self.phase.labels(spec, env, phase).set(1 if phase == now else 0)

    def text(self) -> bytes:
        from prometheus_client import generate_latest

        return generate_latest(self.registry)
