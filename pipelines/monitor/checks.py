"""The monitor's verdicts, pure: the same `GateResult` as the offline gates, computed from
what the stream kept (bucket counts, samples), the /metrics window and the labelled outputs.

Families: `drift` (input drift per feature, the offline drift gate's statistic and verdict),
`output` (shift of the model's output against its output on the evaluation data), `slo`
(p95 latency and error rate) and `accuracy` (the spec's model metrics on labelled traffic).
A check with too little traffic passes with a note saying so: it is not judged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np

from pipelines.release.verdict import p95_ms
from stacks.reach.metrics import SlotSample
from validators.gates.drift import (
    FeatureProfile,
    Profile,
    binned_drift,
    drift_gate,
    drift_verdict,
)
from validators.gates.metrics import metric
from validators.gates.result import Comparison, Gate, GateResult, compare, fmt
from validators.spec.model import DriftGate, MetricGate, SloMonitor

if TYPE_CHECKING:
    import pandas as pd
    from numpy.typing import NDArray

MIN_ROWS = 100  # predictions a drift verdict needs
MIN_REQUESTS = 50  # requests an SLO verdict needs
MIN_LABELS = 50  # labelled predictions an accuracy verdict needs


def not_judged(family: str, name: str, threshold: float | None, why: str) -> GateResult:
    return GateResult(family, name, True, None, threshold, "<=", note=f"not judged: {why}")


def input_drift(
    profile: Profile, counts: Mapping[str, NDArray[np.int64]], gate: DriftGate, rows: int
) -> GateResult:
    """Drift of every profiled feature from its window bucket counts (PSI, Jensen-Shannon)."""
    if rows < MIN_ROWS:
        return not_judged("drift", "input drift", gate.max, f"{rows} predictions (< {MIN_ROWS})")
    drifts = [binned_drift(fp, counts[name]) for name, fp in profile.features.items()]
    reference = int(next(iter(profile.features.values())).reference.sum())
    return drift_verdict(drifts, gate, {"reference": reference, "current": rows})


def sampled_drift(
    reference: pd.DataFrame, sample: pd.DataFrame | None, gate: DriftGate, rows: int
) -> GateResult:
    """KS or Wasserstein: the offline drift gate itself, on a uniform sample of the window."""
    if sample is None or rows < MIN_ROWS:
        return not_judged("drift", "input drift", gate.max, f"{rows} predictions (< {MIN_ROWS})")
    result = drift_gate(reference, sample, gate)
    evidence = {**result.evidence, "sampled": {"sample": len(sample), "window": rows}}
    return replace(result, evidence=evidence)


def output_shift(
    output: FeatureProfile, counts: NDArray[np.int64], method: str, limit: float, rows: int
) -> GateResult:
    """The output's drift score against its distribution on the evaluation data. PSI and JS
    come from the counts; for KS and Wasserstein (which need raw values) the monitor uses PSI."""
    name = "output shift"
    if rows < MIN_ROWS:
        return not_judged("output", name, limit, f"{rows} predictions (< {MIN_ROWS})")
    drift = binned_drift(output, counts)
    used = method if method in ("psi", "jensen_shannon") else "psi"
    score = drift.score(used)
    assert score is not None
    evidence = {"method": used, "feature": drift.to_json(), "rows": rows}
    note = f"{used} of the model output vs its output on the evaluation data"
    return GateResult(
        Gate.OUTPUT, name, compare(score, "<=", limit), score, limit, "<=", evidence, note=note
    )


def drift_series(
    profile: Profile, counts: Mapping[str, NDArray[np.int64]], method: str
) -> dict[str, list[float | None]]:
    """Per feature, the binned drift score of each time bin (None: an empty bin). KS and
    Wasserstein are not binned statistics: their series is PSI's."""
    used = method if method in ("psi", "jensen_shannon") else "psi"
    series: dict[str, list[float | None]] = {}
    for name, fp in profile.features.items():
        points: list[float | None] = []
        for row in counts[name]:
            points.append(binned_drift(fp, row).score(used) if row.sum() else None)
        series[name] = points
    return series


def slo_results(sample: SlotSample, slo: SloMonitor, since: str) -> list[GateResult]:
    """p95 latency and error rate of the window's requests against the spec's objectives."""
    evidence = {"requests": sample.requests, "errors": sample.errors, "measured_since": since}
    out = []
    for name, limit, value in (
        ("latency p95 ms", slo.latency_p95_ms, p95_ms(sample)),
        (
            "error rate",
            slo.error_rate_max,
            sample.errors / sample.requests if sample.requests else 0.0,
        ),
    ):
        if limit is None:
            continue
        if sample.requests < MIN_REQUESTS:
            why = f"{sample.requests:.0f} requests (< {MIN_REQUESTS})"
            out.append(replace(not_judged("slo", name, limit, why), evidence=evidence))
            continue
        note = f"{sample.requests:.0f} requests since {since}"
        passed = compare(value, "<=", limit)
        out.append(GateResult(Gate.SLO, name, passed, value, limit, "<=", evidence, note=note))
    return out


def accuracy_results(
    labels: NDArray[np.float64],
    outputs: NDArray[np.float64],
    gates: list[MetricGate],
    offline: Mapping[str, float],
) -> list[GateResult]:
    """The spec's model metrics on labelled live traffic: each `min`/`max` bound, and
    `max_regression` against the same metric on the evaluation data (the offline figure)."""
    out: list[GateResult] = []
    for gate in gates:
        m = metric(gate.metric)
        if len(labels) < MIN_LABELS:
            why = f"{len(labels)} labelled predictions (< {MIN_LABELS})"
            out.append(not_judged("accuracy", gate.metric, gate.min, why))
            continue
        value = m(labels, outputs)
        evidence: dict[str, Any] = {"labelled": len(labels), "offline": offline.get(gate.metric)}
        bounds: list[tuple[Comparison, float | None]] = [(">=", gate.min), ("<=", gate.max)]
        for comparison, limit in bounds:
            if limit is not None:
                ok = compare(value, comparison, limit)
                out.append(
                    GateResult(Gate.ACCURACY, gate.metric, ok, value, limit, comparison, evidence)
                )
        base = offline.get(gate.metric)
        if gate.max_regression is not None and base is not None and math.isfinite(base):
            drop = m.regression_of(base, value)
            note = f"live {fmt(value)} vs offline {fmt(base)}"
            ok = compare(drop, "<=", gate.max_regression)
            name = f"{gate.metric} regression vs offline"
            out.append(
                GateResult(
                    Gate.ACCURACY, name, ok, drop, gate.max_regression, "<=", evidence, note=note
                )
            )
    return out


def breaches(results: list[GateResult]) -> list[GateResult]:
    """Results that were measured and failed (an error is not a breach: nothing was measured)."""
    return [r for r in results if not r.passed and not r.error]
