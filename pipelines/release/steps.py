"""Drive a canary through its steps on a target, analysing every interval; abort at once
when the failures pass the limit (traffic back to 100% stable, canary torn down)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from pipelines.audit.ledger import LedgerKind
from pipelines.core.output import Say
from pipelines.release.prediction_log import LogTail
from pipelines.release.verdict import AnalysisRun, Assessment, Measurement, Phase, Policy, assess
from stacks.reach.errors import ReachError
from stacks.target import Slot, Target
from validators.spec.resolved import ResolvedRollout

Record = Callable[..., object]  # (kind, **details): one ledger entry


@dataclass(frozen=True)
class CanaryResult:
    passed: bool
    reason: str = ""
    measurements: int = 0
    canary_requests: float = 0.0
    rollback_s: float | None = None  # from the failing verdict to 100% stable


class _Probe:
    """Samples of both slots since the canary started: counter deltas from a baseline (or
    CloudWatch windows from the start) and the prediction outputs logged since. Cumulative,
    so a 10% canary on light traffic reaches `min_requests` and stays judged (as a PromQL
    window over the canary would)."""

    def __init__(self, target: Target, api: str) -> None:
        slots = target.state().slots
        kept = (Slot.STABLE, Slot.CANARY)
        self.metrics = {s: target.metrics(s).open(f"/{api}") for s in kept}
        self.logs = {s: LogTail(slots[s].prediction_log).skip_existing() for s in kept}
        self.outputs: dict[Slot, list[float]] = {slot: [] for slot in kept}

    def measure(self) -> Measurement:
        delta = {slot: metrics.read() for slot, metrics in self.metrics.items()}
        for slot, tail in self.logs.items():
            self.outputs[slot] += tail.read()
        return Measurement(
            stable=delta[Slot.STABLE],
            canary=delta[Slot.CANARY],
            stable_outputs=tuple(self.outputs[Slot.STABLE]),
            canary_outputs=tuple(self.outputs[Slot.CANARY]),
        )


def run_canary(
    target: Target, rollout: ResolvedRollout, policy: Policy, api: str, say: Say, record: Record
) -> CanaryResult:
    """Walk the steps; roll back and return a failed result when analysis says so."""
    run = AnalysisRun(rollout.analysis.failure_limit)
    probe = _Probe(target, api)
    served = 0.0  # canary requests judged by the latest measurement (cumulative)
    for number, step in enumerate(rollout.steps, start=1):
        if step.weight is not None:
            target.set_weights({Slot.STABLE: 100 - step.weight, Slot.CANARY: step.weight})
            say(f"  step {number}: canary at {step.weight}% of traffic")
            record(LedgerKind.STEP, step=number, weight=step.weight)
            continue
        duration = step.pause_s or step.analysis_s or 0.0
        say(f"  step {number}: analysing for {duration:g}s every {rollout.analysis.interval_s:g}s")
        deadline = time.monotonic() + duration
        while (left := deadline - time.monotonic()) > 0:
            time.sleep(min(rollout.analysis.interval_s, left))
            verdict = _measure(probe, policy)
            served = verdict.values.get("canary_requests", served)
            record(
                LedgerKind.ANALYSIS,
                phase=verdict.phase.value,
                reasons=list(verdict.reasons),
                values=verdict.values,
            )
            say(f"    {verdict.phase.value:<12} {'; '.join(verdict.reasons) or _summary(verdict)}")
            if run.record(verdict):
                return _abort(target, run, verdict, served)
    if served < policy.min_requests:
        reason = (
            f"the canary served {served:.0f} requests over the whole rollout; "
            f"{policy.min_requests} are needed to trust it"
        )
        return _abort(target, run, Assessment(Phase.INCONCLUSIVE, (reason,)), served)
    return CanaryResult(True, measurements=len(run.history), canary_requests=served)


def _measure(probe: _Probe, policy: Policy) -> Assessment:
    try:
        return assess(policy, probe.measure())
    except ReachError as exc:
        return Assessment(Phase.ERROR, (exc.message,))


def _summary(verdict: Assessment) -> str:
    values = verdict.values
    parts = [f"{values.get('canary_requests', 0):.0f} canary requests"]
    if "canary_error_rate" in values:
        parts.append(f"errors {values['canary_error_rate']:.2%}")
    if "canary_p95_ms" in values and values["canary_p95_ms"] == values["canary_p95_ms"]:
        parts.append(f"p95 {values['canary_p95_ms']:.0f} ms")
    return ", ".join(parts)


def _abort(target: Target, run: AnalysisRun, verdict: Assessment, served: float) -> CanaryResult:
    started = time.monotonic()
    target.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
    switched = time.monotonic() - started
    target.teardown(Slot.CANARY)
    reason = "; ".join(verdict.reasons) or verdict.phase.value
    return CanaryResult(False, reason, len(run.history), served, switched)
