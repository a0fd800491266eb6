"""Serving gates of a deployed slot: smoke requests from evaluation rows, then a load test
at the spec's rate (with the load client's own capacity measured beside it)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from stacks.errors import StackError
from stacks.reach.client import SlotClient
from stacks.reach.errors import ReachError
from stacks.target import Slot, Target
from validators.gates.result import GateResult
from validators.sources.datasets import read_dataset
from validators.spec.durations import parse_duration
from validators.spec.model import ModelDeployment
from validators.spec.resolved import with_defaults

SMOKE_ROWS = 20


def slot_ready(target: Target, slot: Slot | None) -> bool:
    """Whether the slot (None: the environment's endpoint) answers its readiness probe; a
    target or endpoint that cannot be reached is not ready."""
    try:
        return target.slot_client(slot).ready()
    except (ReachError, StackError, OSError):
        return False


def sample_rows(
    spec: ModelDeployment, root: Path, columns: list[str], count: int
) -> list[dict[str, Any]]:
    """The first `count` evaluation rows, restricted to the model's input columns."""
    if spec.data is None:
        return []
    data = read_dataset(
        root, spec.data.evaluation.path, spec.data.evaluation.rev, "data.evaluation"
    )
    frame = data.frame[columns].head(count)
    rows: list[dict[str, Any]] = []
    for record in frame.to_dict(orient="records"):
        rows.append(
            {
                k: (None if isinstance(v, float) and math.isnan(v) else _plain(v))
                for k, v in record.items()
            }
        )
    return rows


def _plain(value: Any) -> Any:
    return value.item() if hasattr(value, "item") else value


def serving_gates(
    spec: ModelDeployment, client: SlotClient, rows: list[dict[str, Any]]
) -> list[GateResult]:
    """Smoke requests, then (when the spec has serving gates) the load test at its rate,
    through the target's client of what is being judged."""
    from validators.gates.serving import load_results, smoke

    resolved = with_defaults(spec)
    api = resolved.service.api
    results = [smoke(lambda body: client.post(api, body), rows[:SMOKE_ROWS])]
    gate = spec.gates.serving if spec.gates else None
    if not results[0].passed or gate is None or not rows:
        return results
    profile = gate.load
    rps = profile.rps if profile else 20.0
    duration = parse_duration(profile.duration if profile else "10s")
    report = client.load(api, {"rows": [rows[0]]}, rps, duration)
    capacity = client.capacity()
    return results + load_results(report, capacity, rps, gate.latency_p95_ms, gate.error_rate_max)
