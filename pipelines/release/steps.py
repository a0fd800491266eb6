"""Drive a canary through its steps on a target, analysing every interval; abort at once
when the failures pass the limit (traffic back to 100% stable, canary torn down)."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from pipelines.audit.ledger import LedgerKind
from pipelines.core.output import Say
from pipelines.release.control import CHECK_EVERY, Command, Request
from pipelines.release.inflight import ResumePoint
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
    promoted_by: str = ""  # an operator who skipped the remaining steps


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
    target: Target,
    rollout: ResolvedRollout,
    policy: Policy,
    api: str,
    say: Say,
    record: Record,
    control: Control | None = None,
    start: ResumePoint | None = None,
) -> CanaryResult:
    """Walk the steps; roll back and return a failed result when analysis says so, or when
    an operator aborts (`control`, release/control.py); skip the remaining steps when one
    promotes; hold the current step's clock while paused (analysis goes on meanwhile, so a
    paused canary that fails is still rolled back).

    `start`: a dead run's canary taken up again — the steps up to `start.step` are done, the
    failures it counted still count, and measurements start from now (the counters of the
    dead run's probe are gone), added to the canary requests it had judged."""
    run = AnalysisRun(rollout.analysis.failure_limit)
    probe = _Probe(target, api)
    operator = _Operator(control, say, record)
    carried = 0.0  # canary requests judged before a resume
    first = 1
    if start is not None:
        run.failures, run.errors, carried, first = (
            start.failures,
            start.errors,
            start.served,
            start.step + 1,
        )
        if start.paused:
            operator.paused_at = time.monotonic()
    served = carried  # canary requests judged by the latest measurement (cumulative)
    interval = rollout.analysis.interval_s
    for number, step in enumerate(rollout.steps, start=1):
        if number < first:
            continue
        operator.step = number
        if step.weight is not None:
            target.set_weights({Slot.STABLE: 100 - step.weight, Slot.CANARY: step.weight})
            say(f"  step {number}: canary at {step.weight}% of traffic")
            record(LedgerKind.STEP, step=number, weight=step.weight)
            continue
        duration = step.pause_s or step.analysis_s or 0.0
        say(f"  step {number}: analysing for {duration:g}s every {interval:g}s")
        deadline = time.monotonic() + duration
        due = time.monotonic() + interval
        while True:
            now = time.monotonic()
            wake = due if operator.paused_at is not None else min(due, deadline)
            if now < wake:
                time.sleep(min(wake - now, CHECK_EVERY) if control else wake - now)
                order = operator.check()
                if order == Command.ABORT:
                    verdict = Assessment(Phase.FAILED, (f"aborted by {operator.by}",))
                    return operator.carried(_abort(target, run, verdict, served))
                if order == Command.PROMOTE:
                    return operator.carried(
                        CanaryResult(True, "", len(run.history), served, promoted_by=operator.by)
                    )
                deadline += operator.resumed_after()
                continue
            verdict = _measure(probe, policy)
            served = carried + verdict.values.get("canary_requests", served - carried)
            record(
                LedgerKind.ANALYSIS,
                phase=verdict.phase.value,
                reasons=list(verdict.reasons),
                values=verdict.values,
                served=served,
            )
            say(f"    {verdict.phase.value:<12} {'; '.join(verdict.reasons) or _summary(verdict)}")
            if run.record(verdict):
                return _abort(target, run, verdict, served)
            if operator.paused_at is None and now >= deadline:
                break
            due = now + interval
    if served < policy.min_requests:
        reason = (
            f"the canary served {served:.0f} requests over the whole rollout; "
            f"{policy.min_requests} are needed to trust it"
        )
        return _abort(target, run, Assessment(Phase.INCONCLUSIVE, (reason,)), served)
    return CanaryResult(True, measurements=len(run.history), canary_requests=served)


class Control(Protocol):
    """Where a canary takes operators' commands from (release/control.py StoreControl)."""

    def take(self) -> Request | None: ...

    def done(self, taken: Request, what: str) -> None: ...


class _Operator:
    """The commands taken during one canary: each is recorded in the ledger and answered
    (`done`) once carried out; pause and resume keep the time the step's clock stood."""

    def __init__(self, control: Control | None, say: Say, record: Record) -> None:
        self.control, self.say, self.record = control, say, record
        self.step = 0
        self.paused_at: float | None = None
        self.by = ""
        self._taken: Request | None = None
        self._held = 0.0  # seconds paused, not yet added to the step's deadline

    def check(self) -> Command | None:
        """The command to act on now: ABORT or PROMOTE (the caller acts, then `carried`);
        PAUSE, RESUME and RETRY are answered here."""
        taken = self.control.take() if self.control else None
        if taken is None:
            return None
        self.by, self._taken = taken.by, taken
        self.record(LedgerKind.OPERATOR, command=taken.command.value, by=taken.by, step=self.step)
        self.say(f"  {taken.command} by {taken.by} at step {self.step}")
        if taken.command in (Command.ABORT, Command.PROMOTE):
            return taken.command
        if taken.command == Command.PAUSE and self.paused_at is None:
            self.paused_at = time.monotonic()
            self._answer(f"paused at step {self.step}; the step's clock stands until resume")
        elif taken.command == Command.RESUME and self.paused_at is not None:
            self._held += time.monotonic() - self.paused_at
            self.paused_at = None
            self._answer(f"resumed at step {self.step}")
        else:
            state = "paused" if self.paused_at is not None else "running"
            self._answer(f"nothing to {taken.command}: the rollout is {state} at step {self.step}")
        return None

    def resumed_after(self) -> float:
        """Seconds the step stood paused since last asked (added to its deadline)."""
        held, self._held = self._held, 0.0
        return held

    def carried(self, result: CanaryResult) -> CanaryResult:
        if self._taken is not None:
            what = (
                "promoting: the remaining steps are skipped"
                if result.passed
                else (f"aborted: all traffic back on stable {result.rollback_s or 0:.2f}s after")
            )
            self._answer(what)
        return result

    def _answer(self, what: str) -> None:
        if self.control is not None and self._taken is not None:
            self.control.done(self._taken, what)


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
