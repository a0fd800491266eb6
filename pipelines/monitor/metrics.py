"""Latency and errors over a window from `/metrics`, whose counters run since server start.

Each monitor run scrapes every slot's counters and keeps them as a snapshot in the state
store (so an hourly job on a fresh runner still has the last run's). The window's figures
are the difference between now and the last snapshot at or before the window's start (else
the earliest one after it);
with no snapshot yet, they are the counts since the servers started, and the report says so.
A server restart (counts going down) counts from zero again (`SlotSample.since`). The
successive snapshots inside the window give the latency and error-rate time series.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pipelines.release.verdict import quantile_ms
from stacks.reach.metrics import SlotSample

if TYPE_CHECKING:
    from pipelines.state.store import Store

KEEP = 5000  # snapshots kept per environment (hourly runs: more than half a year)


@dataclass(frozen=True)
class Snapshot:
    ts: float
    slots: dict[str, SlotSample] = field(default_factory=dict)

    def to_json(self) -> dict[str, object]:
        return {
            "ts": self.ts,
            "slots": {
                slot: {
                    "requests": s.requests,
                    "errors": s.errors,
                    # "+Inf" as Prometheus writes it: JSON (and PostgreSQL) has no infinity
                    "buckets": [["+Inf" if math.isinf(le) else le, n] for le, n in s.buckets],
                }
                for slot, s in self.slots.items()
            },
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Snapshot:
        slots = data.get("slots") or {}
        assert isinstance(slots, dict)
        return cls(
            float(data["ts"]),  # type: ignore[arg-type]
            {
                slot: SlotSample(
                    float(s["requests"]),
                    float(s["errors"]),
                    tuple((float(le), float(n)) for le, n in s["buckets"]),
                )
                for slot, s in slots.items()
            },
        )


def combined(samples: list[SlotSample]) -> SlotSample:
    """The counts of several servers added up (latency buckets by upper bound). Percentiles
    a source computed (CloudWatch) do not add up: the highest of the slots that served is
    kept, which can only overstate the p95."""
    buckets: dict[float, float] = {}
    for sample in samples:
        for le, n in sample.buckets:
            buckets[le] = buckets.get(le, 0.0) + n
    p95s = [s.p95_ms for s in samples if s.p95_ms is not None and s.requests]
    return SlotSample(
        sum(s.requests for s in samples),
        sum(s.errors for s in samples),
        tuple(sorted(buckets.items())),
        max(p95s) if p95s else None,
    )


def between(earlier: Snapshot | None, later: Snapshot) -> SlotSample:
    """All slots' requests between two snapshots (a slot new since `earlier` counts whole)."""
    return combined(
        [
            sample.since(earlier.slots.get(slot, SlotSample())) if earlier else sample
            for slot, sample in later.slots.items()
        ]
    )


def baseline_of(snapshots: list[Snapshot], start: float) -> Snapshot | None:
    """The last snapshot at or before `start`, else the earliest one (None: there is none)."""
    before = [s for s in snapshots if s.ts <= start]
    if before:
        return max(before, key=lambda s: s.ts)
    return min(snapshots, key=lambda s: s.ts) if snapshots else None


@dataclass(frozen=True)
class Point:
    """One interval between two snapshots: when it ended, requests, p95 and error rate."""

    ts: float
    requests: float
    p95_ms: float
    error_rate: float


def window_sample(
    snapshots: list[Snapshot], now: Snapshot, start: float
) -> tuple[SlotSample, float | None, list[Point]]:
    """The window's requests, the time its count starts from (None: server start) and the
    per-interval series from the snapshots inside the window."""
    base = baseline_of(snapshots, start)
    inside = sorted((s for s in snapshots if base is None or s.ts > base.ts), key=lambda s: s.ts)
    series, previous = [], base
    for snapshot in [*inside, now]:
        delta = between(previous, snapshot)
        rate = delta.errors / delta.requests if delta.requests else float("nan")
        series.append(Point(snapshot.ts, delta.requests, quantile_ms(delta, 0.95), rate))
        previous = snapshot
    return between(base, now), (base.ts if base else None), series


def load_snapshots(store: Store, spec: str, env: str) -> list[Snapshot]:
    """The snapshots earlier runs kept for (spec, env), oldest first."""
    return [Snapshot.from_json(record) for record in store.snapshots(spec, env)]


def save_snapshot(store: Store, spec: str, env: str, now: Snapshot) -> None:
    """Keep `now` (and the newest KEEP before it) for the next run, on any machine."""
    store.add_snapshot(spec, env, now.ts, now.to_json(), KEEP)
