"""An in-process target for tests of the release stages and of the plug-in point: slots and
weights kept in a JSON file (so every `target_for` of one environment sees the same state),
requests answered by a script (`Answer`: canned answers, or a real model's scores), the
environment's endpoint split by weight, counters of what each slot answered. Built on the
shared `SlotMoves`, like the real targets; registered by name with `registered()`."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from stacks import registry
from stacks.desired import Desired
from stacks.reach.client import LoadReport
from stacks.reach.metrics import CounterSource, SlotSample
from stacks.slot_moves import SlotMoves
from stacks.target import (
    PreviewSummary,
    Release,
    Slot,
    SlotState,
    TargetInputs,
    TargetKind,
    TargetState,
)

NAME = "memory"
# (slot or None for the endpoint, model of the slot, request body) -> (status, answer)
Answer = Callable[[str | None, str, dict[str, Any]], tuple[int, Any]]


def predicts(_slot: str | None, _model: str, body: dict[str, Any]) -> tuple[int, Any]:
    return 200, [0.5] * len(body["rows"])


@dataclass
class Script:
    """What every memory target answers, and what it was asked (shared per test)."""

    answer: Answer = predicts
    served: dict[tuple[str, str], int] = field(default_factory=dict)  # (env, slot) -> requests
    errors: dict[tuple[str, str], int] = field(default_factory=dict)  # (env, slot) -> 5xx
    destroyed: int = 0
    pick: random.Random = field(default_factory=lambda: random.Random(7))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def record(self, key: tuple[str, str], status: int) -> None:
        with self.lock:
            self.served[key] = self.served.get(key, 0) + 1
            self.errors[key] = self.errors.get(key, 0) + (status >= 500)


SCRIPT = Script()


@dataclass(frozen=True)
class MemoryConfig:
    spec: str
    environment: str
    state_file: Path


def memory_config(inputs: TargetInputs) -> MemoryConfig:
    return MemoryConfig(
        inputs.spec,
        inputs.environment,
        inputs.state_dir / NAME / f"{inputs.spec}-{inputs.environment}.json",
    )


@dataclass(frozen=True)
class MemoryClient:
    target: MemoryTarget
    slot: str | None

    @property
    def address(self) -> str:
        return f"{NAME}://{self.slot or 'endpoint'}"

    def post(self, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        desired = self.target.desired()
        slot = self.slot
        if slot is None:  # the endpoint: one slot per request, by the weights in effect now
            slots = list(desired.weights)
            with SCRIPT.lock:
                slot = SCRIPT.pick.choices(slots, [desired.weights[s] for s in slots])[0]
        status, answer = SCRIPT.answer(self.slot, desired.slots[slot]["model"], body)
        SCRIPT.record((self.target.config.environment, slot), status)
        return status, answer

    def ready(self) -> bool:
        return self.slot is None or self.slot in self.target.desired().slots

    def load(self, api: str, body: dict[str, Any], rps: float, duration_s: float) -> LoadReport:
        statuses = [str(self.post(api, body)[0]) for _ in range(max(1, round(rps * duration_s)))]
        counts = {s: statuses.count(s) for s in set(statuses)}
        return LoadReport(len(statuses), rps, 1.0, 2.0, 3.0, counts, 0)

    def capacity(self) -> LoadReport | None:
        return None


class MemoryCounters(CounterSource):
    def __init__(self, key: tuple[str, str]) -> None:
        self.key = key

    @property
    def address(self) -> str:
        return f"{NAME}://{'/'.join(self.key)}/metrics"

    def counters(self, endpoint: str) -> SlotSample:
        with SCRIPT.lock:
            return SlotSample(SCRIPT.served.get(self.key, 0), SCRIPT.errors.get(self.key, 0))


class MemoryTarget(SlotMoves):
    name = NAME

    def __init__(self, config: MemoryConfig) -> None:
        self.config = config

    def desired(self) -> Desired:
        return Desired.load(self.config.state_file)

    def _apply(self, desired: Desired, refresh: bool = False) -> None:
        desired.save(self.config.state_file)

    def set_weights(self, weights: dict[Slot, int]) -> None:
        self._apply(self._with_weights(weights))

    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        release = desired.slots[slot.value]
        url = f"{NAME}://{slot.value}"
        return SlotState(slot, Release(release["bento"], release["model"]), url, url, weight)

    def state(self) -> TargetState:
        desired = self.desired()
        slots = {
            Slot(s): self._slot_state(Slot(s), desired, int(desired.weights.get(s, 0)))
            for s in desired.slots
        }
        return TargetState(f"{NAME}://endpoint" if slots else None, slots)

    def slot_client(self, slot: Slot | None) -> MemoryClient:
        return MemoryClient(self, slot.value if slot else None)

    def metrics(self, slot: Slot) -> MemoryCounters:
        return MemoryCounters((self.config.environment, slot.value))

    def preview(self, slot: Slot, release: Release) -> PreviewSummary:
        return PreviewSummary({"update": 1}, [])

    def destroy(self) -> None:
        SCRIPT.destroyed += 1
        self.config.state_file.unlink(missing_ok=True)


def kind(name: str = NAME) -> TargetKind:
    return TargetKind(name, memory_config, MemoryTarget)


@contextmanager
def registered(answer: Answer = predicts, name: str = NAME) -> Iterator[Script]:
    """The memory target registered as `name` for the duration, with a fresh script."""
    global SCRIPT
    SCRIPT = Script(answer)
    registry.register_target(kind(name))
    try:
        yield SCRIPT
    finally:
        registry._TARGETS.pop(name, None)
