"""Serving gates on a running service, judged from what the target's client measured: smoke
requests (each answer must be one finite number per row, never a 5xx) and a fixed-rate load
(p95 latency and error rate against the spec). How the requests reach the slot is the
target's (stacks/reach); this module only judges the answers."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from validators.gates.result import Gate, GateResult, compare, stopwatch

Send = Callable[[dict[str, Any]], tuple[int, Any]]  # one JSON request: (status, answer)


class LoadFigures(Protocol):
    """What a load test measured (stacks.reach.client.LoadReport has this shape)."""

    @property
    def requests(self) -> int: ...
    @property
    def rps(self) -> float: ...
    @property
    def p50_ms(self) -> float: ...
    @property
    def p95_ms(self) -> float: ...
    @property
    def p99_ms(self) -> float: ...
    @property
    def statuses(self) -> Mapping[str, int]: ...
    @property
    def errors(self) -> int: ...
    @property
    def error_rate(self) -> float: ...


def smoke(send: Send, rows: list[dict[str, Any]]) -> GateResult:
    """Each row sent alone: a 2xx answer holding one finite number per row, never a 5xx."""
    bad: list[dict[str, Any]] = []
    with stopwatch() as t:
        for index, row in enumerate(rows):
            status, body = send({"rows": [row]})
            ok = 200 <= status < 300 and isinstance(body, list) and len(body) == 1
            ok = ok and isinstance(body[0], int | float) and math.isfinite(body[0])
            if not ok:
                bad.append({"row": index, "status": status, "answer": str(body)[:200]})
    share = (len(rows) - len(bad)) / max(len(rows), 1)
    return GateResult(
        gate=Gate.SERVING,
        name="smoke",
        passed=not bad,
        measured=share,
        threshold=1.0,
        comparison=">=",
        evidence={"requests": len(rows), "failures": bad[:10]},
        duration_s=t[0],
        note=f"{len(rows) - len(bad)}/{len(rows)} answered with a prediction",
    )


def load_results(
    report: LoadFigures,
    capacity: LoadFigures | None,
    rps: float,
    p95_max_ms: float | None,
    error_rate_max: float | None,
) -> list[GateResult]:
    """The load test as gate results: p95 latency and error rate against the spec."""
    evidence = {
        "requests": report.requests,
        "achieved_rps": report.rps,
        "target_rps": rps,
        "p50_ms": report.p50_ms,
        "p95_ms": report.p95_ms,
        "p99_ms": report.p99_ms,
        "statuses": dict(report.statuses),
        "client_errors": report.errors,
        "client_capacity_rps": capacity.rps if capacity else None,
    }
    note = f"{report.requests} requests at {report.rps:.0f}/s (target {rps:g}/s)"
    if capacity:
        note += f"; the client alone reaches {capacity.rps:.0f}/s"
    results = []
    for name, measured, limit in (
        ("latency p95 ms", report.p95_ms, p95_max_ms),
        ("error rate", report.error_rate, error_rate_max),
    ):
        if limit is None:
            continue
        results.append(
            GateResult(
                gate=Gate.SERVING,
                name=name,
                passed=compare(measured, "<=", limit),
                measured=measured,
                threshold=limit,
                comparison="<=",
                evidence=evidence,
                note=note,
            )
        )
    return results
