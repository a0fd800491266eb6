"""Canary analysis: a pure verdict on one measurement of canary vs stable, like Argo
Rollouts' `assessMetricStatus` — Successful, Failed, Inconclusive or Error.

Sound on small samples: nothing is judged before the canary has `min_requests` requests;
the error rate fails only when a one-sided binomial test says it exceeds the spec's limit;
latency fails only when the canary's p95 is over the limit *and* a Mann-Whitney test says
the canary is slower than stable (when both have histograms and stable has enough requests
to compare; CloudWatch gives a p95, not a histogram, so there the limit alone decides, as in
an Argo AnalysisTemplate); a p95 the metrics cannot give is an Error, never a pass; the
output distribution fails only on a significant Kolmogorov-Smirnov shift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from stacks.reach.metrics import SlotSample


class Phase(StrEnum):
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    INCONCLUSIVE = "Inconclusive"
    ERROR = "Error"


@dataclass(frozen=True)
class Policy:
    min_requests: int = 50
    error_rate_max: float = 0.01
    latency_p95_ms: float | None = None
    alpha: float = 0.05
    max_output_shift: float = 0.2  # KS statistic between canary and stable outputs


@dataclass(frozen=True)
class Measurement:
    """What happened in one interval, per slot."""

    stable: SlotSample
    canary: SlotSample
    stable_outputs: tuple[float, ...] = ()
    canary_outputs: tuple[float, ...] = ()


@dataclass(frozen=True)
class Assessment:
    phase: Phase
    reasons: tuple[str, ...] = ()
    values: dict[str, float] = field(default_factory=dict)


def quantile_ms(sample: SlotSample, q: float) -> float:
    """The q-quantile of the latency histogram in ms, interpolated inside its bucket."""
    total = sample.buckets[-1][1] if sample.buckets else 0.0
    if total <= 0:
        return math.nan
    rank, lower_le, lower_n = q * total, 0.0, 0.0
    for le, cumulative in sample.buckets:
        if cumulative >= rank:
            if math.isinf(le):
                return lower_le * 1000
            share = (rank - lower_n) / (cumulative - lower_n) if cumulative > lower_n else 1.0
            return 1000 * (lower_le + share * (le - lower_le))
        lower_le, lower_n = le, cumulative
    return math.nan


def p95_ms(sample: SlotSample) -> float:
    """The sample's p95 latency in ms: the source's own (CloudWatch) or the histogram's."""
    return sample.p95_ms if sample.p95_ms is not None else quantile_ms(sample, 0.95)


def _expand(sample: SlotSample, cap: int = 5000) -> list[float]:
    """Bucket midpoints repeated by count (scaled down to `cap` values), for rank tests."""
    out: list[float] = []
    total = sample.buckets[-1][1] if sample.buckets else 0.0
    scale = min(1.0, cap / total) if total else 1.0
    lower, previous = 0.0, 0.0
    for le, cumulative in sample.buckets:
        upper = lower * 2 if math.isinf(le) else le
        out += [(lower + upper) / 2] * round((cumulative - previous) * scale)
        lower, previous = (le if not math.isinf(le) else lower), cumulative
    return out


def assess(policy: Policy, m: Measurement) -> Assessment:
    """The verdict on one measurement; `reasons` name the failing measurement."""
    from scipy import stats

    canary = m.canary
    if canary.requests < policy.min_requests:
        return Assessment(
            Phase.INCONCLUSIVE,
            (
                f"canary served {canary.requests:.0f} requests; "
                f"{policy.min_requests} needed to judge",
            ),
            {"canary_requests": canary.requests},
        )
    values: dict[str, float] = {
        "canary_requests": canary.requests,
        "canary_error_rate": canary.errors / canary.requests,
        "stable_requests": m.stable.requests,
    }
    if m.stable.requests:
        values["stable_error_rate"] = m.stable.errors / m.stable.requests
    if policy.latency_p95_ms is not None and math.isnan(p95_ms(canary)):
        return Assessment(
            Phase.ERROR,
            (
                f"the canary served {canary.requests:.0f} requests but its metrics give no "
                "p95 latency to judge",
            ),
            values,
        )
    reasons: list[str] = []
    # The limit is absolute, as an Argo AnalysisTemplate's successCondition: errors the
    # stable slot also has (a shared dependency down) do not excuse the canary.
    allowed = policy.error_rate_max
    p_errors = stats.binomtest(
        int(canary.errors), int(canary.requests), allowed, alternative="greater"
    ).pvalue
    values["error_rate_p_value"] = float(p_errors)
    if p_errors < policy.alpha:
        reasons.append(
            f"canary error rate {values['canary_error_rate']:.2%} is above {allowed:.2%} "
            f"(binomial p={p_errors:.2g}, {canary.errors:.0f}/{canary.requests:.0f})"
        )
    reasons += _latency(policy, m, values, stats)
    reasons += _outputs(policy, m, values, stats)
    return Assessment(Phase.FAILED if reasons else Phase.SUCCESSFUL, tuple(reasons), values)


def _latency(policy: Policy, m: Measurement, values: dict[str, float], stats: Any) -> list[str]:
    p95 = p95_ms(m.canary)
    values["canary_p95_ms"] = p95
    if policy.latency_p95_ms is None or not p95 > policy.latency_p95_ms:
        return []
    values["stable_p95_ms"] = p95_ms(m.stable)
    both_histograms = bool(m.canary.buckets and m.stable.buckets)
    if both_histograms and m.stable.requests >= policy.min_requests:
        test = stats.mannwhitneyu(
            _expand(m.canary),
            _expand(m.stable),
            alternative="greater",
        )
        values["latency_p_value"] = float(test.pvalue)
        if test.pvalue >= policy.alpha:
            return []
    return [
        f"canary p95 latency {p95:.0f} ms is above {policy.latency_p95_ms:g} ms "
        f"(stable {values['stable_p95_ms']:.0f} ms)"
    ]


def _outputs(policy: Policy, m: Measurement, values: dict[str, float], stats: Any) -> list[str]:
    if min(len(m.canary_outputs), len(m.stable_outputs)) < policy.min_requests:
        return []
    test = stats.ks_2samp(m.canary_outputs, m.stable_outputs)
    values["output_ks"] = float(test.statistic)
    values["output_p_value"] = float(test.pvalue)
    if test.statistic > policy.max_output_shift and test.pvalue < policy.alpha:
        return [
            f"canary predictions shifted from stable's (KS {test.statistic:.2f}, "
            f"p={test.pvalue:.2g})"
        ]
    return []


@dataclass
class AnalysisRun:
    """Failures counted across measurements; the rollout aborts past `failure_limit`."""

    failure_limit: int
    failures: int = 0
    errors: int = 0
    history: list[Assessment] = field(default_factory=list)

    def record(self, assessment: Assessment) -> bool:
        """Add a verdict; True when the canary must be rolled back now."""
        self.history.append(assessment)
        if assessment.phase == Phase.FAILED:
            self.failures += 1
        elif assessment.phase == Phase.ERROR:
            self.errors += 1
        return self.failures > self.failure_limit or self.errors > self.failure_limit

    @property
    def last_failure(self) -> Assessment | None:
        failed = [a for a in self.history if a.phase in (Phase.FAILED, Phase.ERROR)]
        return failed[-1] if failed else None
