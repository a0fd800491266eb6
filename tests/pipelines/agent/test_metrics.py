"""The agent's metrics as Prometheus text: ticks with their duration and problems, applies
by outcome with rollbacks counted apart, heals by kind, and the leader gauge."""

from __future__ import annotations

from pipelines.agent.metrics import AgentMetrics


def test_what_the_agent_counts() -> None:
    metrics = AgentMetrics()
    metrics.ticked(0.3, 2)
    metrics.outcome("credit", "production", "promoted")
    metrics.outcome("credit", "production", "rolled back")
    metrics.healed("credit", "production", "weights")
    metrics.leader.set(1)
    text = metrics.text().decode()
    for line in (
        "shipyard_agent_reconciles_total 1.0",
        "shipyard_agent_reconcile_duration_seconds_count 1.0",
        "shipyard_agent_problems_total 2.0",
        'shipyard_agent_applies_total{env="production",outcome="rolled back",spec="credit"} 1.0',
        'shipyard_agent_rollbacks_total{env="production",spec="credit"} 1.0',
        'shipyard_agent_heals_total{env="production",heal="weights",spec="credit"} 1.0',
        "shipyard_agent_leader 1.0",
    ):
        assert line in text, line


def test_each_environment_is_in_one_phase_at_a_time() -> None:
    metrics = AgentMetrics()
    metrics.phases([{"spec": "credit", "env": "production", "phase": "Progressing"}])
    metrics.phases([{"spec": "credit", "env": "production", "phase": "Healthy"}])
    text = metrics.text().decode()
    gauge = 'shipyard_agent_rollout_phase{env="production",phase="%s",spec="credit"} %s'
    assert gauge % ("Healthy", "1.0") in text
    assert gauge % ("Progressing", "0.0") in text
    assert gauge % ("Degraded", "0.0") in text
