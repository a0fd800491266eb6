"""Walking a canary's steps: weights set in order, every interval measured on the target's own
metrics sources, an abort that puts all traffic on stable at once, and a canary that never
served enough requests is not trusted. The target is an in-memory stand-in whose counters
follow a script. An operator's abort, promote, pause and resume act on the walk."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import scipy.stats  # noqa: F401  (imported by the first verdict otherwise: not in a pause)

from pipelines.release.control import Command, Request
from pipelines.release.inflight import ResumePoint
from pipelines.release.steps import run_canary
from pipelines.release.verdict import Policy
from stacks.reach.metrics import CounterSource, SlotSample
from stacks.target import Release, Slot, SlotState, TargetState
from validators.spec.resolved import ResolvedAnalysis, ResolvedRollout, ResolvedStep


class Growing(CounterSource):
    """Counters that grow by `per_read` requests (and `errors` of them 5xx) on every read."""

    def __init__(self, per_read: int, errors: int) -> None:
        self.per_read, self.errors, self.reads = per_read, errors, 0

    @property
    def address(self) -> str:
        return "memory"

    def counters(self, endpoint: str) -> SlotSample:
        n = self.reads
        self.reads += 1
        buckets = ((0.05, float(n * self.per_read)), (float("inf"), float(n * self.per_read)))
        return SlotSample(n * self.per_read, n * self.errors, buckets)


@dataclass
class MemoryTarget:
    canary: Growing
    stable: Growing = field(default_factory=lambda: Growing(100, 0))
    weights: list[dict[Slot, int]] = field(default_factory=list)
    torn_down: list[Slot] = field(default_factory=list)

    def state(self) -> TargetState:
        release = Release("svc:1", "models:/m/1")
        slots = {
            s: SlotState(s, release, f"memory://{s.value}", f"memory://{s.value}", 50)
            for s in (Slot.STABLE, Slot.CANARY)
            if s not in self.torn_down
        }
        return TargetState("memory://", slots)

    def set_weights(self, weights: dict[Slot, int]) -> None:
        self.weights.append(dict(weights))

    def teardown(self, slot: Slot) -> None:
        self.torn_down.append(slot)

    def metrics(self, slot: Slot) -> Growing:
        return self.canary if slot == Slot.CANARY else self.stable


ROLLOUT = ResolvedRollout(
    strategy="canary",
    steps=(ResolvedStep(weight=20), ResolvedStep(pause_s=0.5), ResolvedStep(weight=60)),
    analysis=ResolvedAnalysis(interval_s=0.05, failure_limit=1, min_requests=30),
)
POLICY = Policy(min_requests=30, error_rate_max=0.01)


def walk(
    target: MemoryTarget, start: ResumePoint | None = None
) -> tuple[Any, list[tuple[str, dict[str, Any]]], list[str]]:
    records: list[tuple[str, dict[str, Any]]] = []
    said: list[str] = []
    result = run_canary(
        target,  # type: ignore[arg-type]
        ROLLOUT,
        POLICY,
        "predict",
        said.append,
        lambda kind, **details: records.append((str(kind), details)),
        start=start,
    )
    return result, records, said


def test_a_healthy_canary_walks_every_step_in_order() -> None:
    target = MemoryTarget(canary=Growing(20, 0))
    result, records, _ = walk(target)
    assert result.passed
    assert target.weights == [
        {Slot.STABLE: 80, Slot.CANARY: 20},
        {Slot.STABLE: 40, Slot.CANARY: 60},
    ]
    assert target.torn_down == []
    steps = [details for kind, details in records if kind == "step"]
    assert steps == [{"step": 1, "weight": 20}, {"step": 3, "weight": 60}]
    phases = [details["phase"] for kind, details in records if kind == "analysis"]
    assert phases
    assert phases[-1] == "Successful"
    assert result.canary_requests >= 30


def test_a_failing_canary_is_aborted_past_the_failure_limit() -> None:
    target = MemoryTarget(canary=Growing(20, 5))  # 25% errors
    result, records, _ = walk(target)
    assert not result.passed
    assert "canary error rate" in result.reason
    assert target.weights[-1] == {Slot.STABLE: 100, Slot.CANARY: 0}
    assert target.torn_down == [Slot.CANARY]
    assert [d["phase"] for k, d in records if k == "analysis"].count("Failed") == 2
    assert result.rollback_s is not None


def test_a_resumed_canary_starts_after_the_step_it_had_reached() -> None:
    target = MemoryTarget(canary=Growing(20, 0))
    start = ResumePoint(step=1, weights={"stable": 80, "canary": 20}, served=12.0)
    result, records, _ = walk(target, start)
    assert result.passed
    assert [d for k, d in records if k == "step"] == [{"step": 3, "weight": 60}]
    assert target.weights == [{Slot.STABLE: 40, Slot.CANARY: 60}]
    served = [d["served"] for k, d in records if k == "analysis"]
    assert served
    assert served[0] >= 12.0  # what the dead run had judged, plus what was measured since
    assert result.canary_requests == served[-1]


def test_a_resumed_canary_keeps_the_failures_already_counted() -> None:
    target = MemoryTarget(canary=Growing(20, 5))  # 25% errors
    start = ResumePoint(step=1, weights={"stable": 80, "canary": 20}, failures=1)
    result, records, _ = walk(target, start)
    assert not result.passed
    assert [d["phase"] for k, d in records if k == "analysis"].count("Failed") == 1
    assert target.weights[-1] == {Slot.STABLE: 100, Slot.CANARY: 0}


def test_a_canary_resumed_after_its_last_step_is_judged_on_what_it_served() -> None:
    target = MemoryTarget(canary=Growing(20, 0))
    done = ResumePoint(step=3, weights={"stable": 40, "canary": 60}, served=45.0)
    result, records, _ = walk(target, done)
    assert result.passed
    assert result.canary_requests == 45.0
    assert records == []
    too_little = ResumePoint(step=3, weights={"stable": 40, "canary": 60}, served=3.0)
    result, _, _ = walk(MemoryTarget(canary=Growing(20, 0)), too_little)
    assert not result.passed
    assert "served 3 requests" in result.reason


def test_a_canary_that_served_too_little_is_not_trusted() -> None:
    target = MemoryTarget(canary=Growing(1, 0))
    result, _, _ = walk(target)
    assert not result.passed
    assert "30 are needed to trust it" in result.reason
    assert target.weights[-1] == {Slot.STABLE: 100, Slot.CANARY: 0}
    assert target.torn_down == [Slot.CANARY]


class Script:
    """An operator's commands, each given `at` seconds into the walk (release/control.py's
    StoreControl takes them from the state store; here from a list)."""

    def __init__(self, *given: tuple[float, Command]) -> None:
        self.started = time.monotonic()
        self.given = list(given)
        self.answers: list[tuple[str, str]] = []

    def take(self) -> Request | None:
        if self.given and time.monotonic() - self.started >= self.given[0][0]:
            _, command = self.given.pop(0)
            return Request(f"id-{command}", command, "alice", time.time())
        return None

    def done(self, taken: Request, what: str) -> None:
        self.answers.append((taken.command.value, what))


def walk_with(target: MemoryTarget, control: Script, rollout: ResolvedRollout = ROLLOUT) -> Any:
    records: list[tuple[str, dict[str, Any]]] = []
    result = run_canary(
        target,  # type: ignore[arg-type]
        rollout,
        POLICY,
        "predict",
        lambda _: None,
        lambda kind, **details: records.append((str(kind), details)),
        control,
    )
    return result, records


def test_an_operator_abort_rolls_back_at_once_and_is_answered() -> None:
    target, control = MemoryTarget(canary=Growing(20, 0)), Script((0.1, Command.ABORT))
    result, records = walk_with(target, control)
    assert (result.passed, result.reason) == (False, "aborted by alice")
    assert target.weights[-1] == {Slot.STABLE: 100, Slot.CANARY: 0}
    assert target.torn_down == [Slot.CANARY]
    assert ("operator", {"command": "abort", "by": "alice", "step": 2}) in records
    assert [c for c, _ in control.answers] == ["abort"]
    assert control.answers[0][1].startswith("aborted: all traffic back on stable")


def test_an_operator_promote_skips_the_remaining_steps() -> None:
    target, control = MemoryTarget(canary=Growing(20, 0)), Script((0.1, Command.PROMOTE))
    result, _ = walk_with(target, control)
    assert (result.passed, result.promoted_by) == (True, "alice")
    assert target.weights == [{Slot.STABLE: 80, Slot.CANARY: 20}]  # step 3 (60%) skipped
    assert target.torn_down == []
    assert control.answers == [("promote", "promoting: the remaining steps are skipped")]


def test_a_paused_step_stands_still_while_analysis_goes_on_until_resumed() -> None:
    target = MemoryTarget(canary=Growing(20, 0))
    control = Script((0.05, Command.PAUSE), (0.05, Command.RETRY), (1.0, Command.RESUME))
    started = time.monotonic()
    result, records = walk_with(target, control)
    took = time.monotonic() - started
    assert result.passed
    assert took >= 1.0 + 0.5 - 0.1  # the 0.5 s step ran around the pause of about 0.95 s
    measured = [d for k, d in records if k == "analysis"]
    assert len(measured) >= 15  # one every 0.05 s while paused too
    assert [c for c, _ in control.answers] == ["pause", "retry", "resume"]
    assert control.answers[1][1] == "nothing to retry: the rollout is paused at step 2"


def test_a_paused_canary_that_fails_is_still_rolled_back() -> None:
    target = MemoryTarget(canary=Growing(20, 5))
    control = Script((0.0, Command.PAUSE))
    result, _ = walk_with(target, control)
    assert not result.passed
    assert "canary error rate" in result.reason
    assert target.torn_down == [Slot.CANARY]
