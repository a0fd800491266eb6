"""The one way the pipeline talks to a running slot (or to the environment's endpoint, whose
traffic the target splits by weight): send a request, ask whether it is ready, put a
fixed-rate load on it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class LoadReport:
    """What a fixed-rate load measured."""

    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: int  # requests that got no answer at all

    @property
    def error_rate(self) -> float:
        failed = self.errors + sum(n for s, n in self.statuses.items() if not s.startswith("2"))
        total = self.errors + sum(self.statuses.values())
        return failed / total if total else 1.0


class SlotClient(Protocol):
    """Requests to one address a target hands out."""

    @property
    def address(self) -> str:
        """Where the requests go, as people read it (logs, reports)."""
        ...

    def post(self, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        """POST JSON to the service's `api`: the status (0: no answer at all) and the JSON
        answer (else its text)."""
        ...

    def ready(self) -> bool:
        """Whether it answers its readiness check now."""
        ...

    def load(self, api: str, body: dict[str, Any], rps: float, duration_s: float) -> LoadReport:
        """`rps` requests a second for `duration_s`, each timed by the load client."""
        ...

    def capacity(self) -> LoadReport | None:
        """What the load client reaches alone against a trivial route (None: not measured),
        so a slow load client is not mistaken for a slow service."""
        ...


def nearest_rank(ordered: list[float], q: float) -> float:
    """The nearest-rank quantile of sorted values (hey reports the same kind)."""
    if not ordered:
        return math.nan
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q * len(ordered)) - 1))]
