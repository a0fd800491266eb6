"""Deploying a release to a slot, promotion and teardown, the same on every target: written
once in terms of a target's own desired state, `set_weights`, `_slot_state` and `_apply` (one
engine update to a desired state)."""

from __future__ import annotations

from abc import ABC, abstractmethod

from stacks.desired import Desired
from stacks.errors import StackError
from stacks.target import Release, Slot, SlotState, TargetState, weights_total_100


class SlotMoves(ABC):
    @abstractmethod
    def desired(self) -> Desired: ...

    @abstractmethod
    def state(self) -> TargetState: ...

    @abstractmethod
    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        """How `slot` is reached: its request and metrics addresses."""

    @abstractmethod
    def set_weights(self, weights: dict[Slot, int]) -> None: ...

    @abstractmethod
    def _apply(self, desired: Desired, refresh: bool = False) -> None:
        """Bring the target to `desired` (one engine update; with `refresh`, what really
        runs is read first, so drift made behind the engine's back is put right too)."""

    def repair(self) -> None:
        """Put back what drifted from the last desired state: a stopped server, a hand-edited
        route or weight (an engine update that reads what really runs first)."""
        self._apply(self.desired(), refresh=True)

    def deploy(self, slot: Slot, release: Release) -> SlotState:
        """Run `release` in `slot`: with no traffic, unless nothing else has any."""
        desired = self.desired()
        desired.slots[slot.value] = {"bento": release.bento, "model": release.model}
        if not any(desired.weights.get(s, 0) for s in desired.slots):
            desired.weights = {slot.value: 100}
        desired.weights.setdefault(slot.value, 0)
        self._apply(desired)
        return self._slot_state(slot, desired, desired.weights[slot.value])

    def _with_weights(self, weights: dict[Slot, int]) -> Desired:
        """The desired state with `weights` (summing to 100, only to slots that run)."""
        weights_total_100(weights)
        desired = self.desired()
        missing = [s.value for s, w in weights.items() if w and s.value not in desired.slots]
        if missing:
            raise StackError(f"cannot send traffic to {', '.join(missing)}: no release runs there")
        desired.weights = {s: int(weights.get(Slot(s), 0)) for s in desired.slots}
        return desired

    def promote(self) -> SlotState:
        """The canary's release becomes stable: all traffic to the canary, stable redeployed
        with its release, traffic back to stable, the canary removed."""
        canary = self.desired().slots.get(Slot.CANARY.value)
        if canary is None:
            raise StackError("nothing to promote: no release runs in the canary slot")
        self.set_weights({Slot.CANARY: 100, Slot.STABLE: 0})
        self.deploy(Slot.STABLE, Release(canary["bento"], canary["model"]))
        self.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
        self.teardown(Slot.CANARY)
        return self.state().slots[Slot.STABLE]

    def teardown(self, slot: Slot) -> None:
        """Remove `slot`'s release; refused while it still has traffic."""
        desired = self.desired()
        if slot.value not in desired.slots:
            return
        if desired.weights.get(slot.value, 0):
            raise StackError(
                f"{slot.value} still has {desired.weights[slot.value]}% of traffic; "
                "move it first (set_weights)"
            )
        del desired.slots[slot.value]
        desired.weights.pop(slot.value, None)
        self._apply(desired)
