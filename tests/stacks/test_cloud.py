"""What the cloud targets share, on a target of this file: its stack outputs live in memory
and its program registers one resource per slot under Pulumi mocks, so every move and the
offline preview run through `CloudTarget` itself, without an engine."""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pulumi
import pytest

from stacks.cloud import CloudTarget, PreviewParts
from stacks.desired import Desired
from stacks.engine.mock_preview import MOCK_NOTE, Described, Recorded
from stacks.errors import StackError
from stacks.target import Release, Slot, SlotState

V3 = Release("credit_risk:aaa111", "models:/credit-risk/3")
V4 = Release("credit_risk:bbb222", "models:/credit-risk/4")


@dataclass(frozen=True)
class Config:
    project: str = "shipyard-credit-risk"
    stack: str = "production"
    state_dir: Path = Path("/nonexistent")
    rollout_weights: tuple[int, ...] = (10, 50)


class Thing(pulumi.CustomResource):
    def __init__(self, name: str, props: dict[str, Any]) -> None:
        super().__init__("test:index:Thing", name, props)


class InMemoryTarget(CloudTarget[Config]):
    """Outputs are a dict; each `pulumi up` stores the desired state it ran with."""

    name = "in-memory"

    def __init__(self) -> None:
        super().__init__(Config())
        self.outputs: dict[str, Any] = {}
        self.ups: list[Desired] = []

    def _program(self, desired: Desired) -> None:
        for slot, release in desired.slots.items():
            Thing(slot, {"bento": release["bento"], "weight": desired.weights.get(slot, 0)})

    def _endpoint(self, outputs: dict[str, Any]) -> str | None:
        return "https://in-memory.example" if outputs.get("desired", {}).get("slots") else None

    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        release = desired.slots[slot.value]
        url = f"https://in-memory.example/{slot.value}"
        return SlotState(slot, Release(release["bento"], release["model"]), url, url, weight)

    def _preview_parts(self) -> PreviewParts:
        return PreviewParts(self._describe, lambda: "no credentials here")

    @staticmethod
    def _describe(resource: Recorded) -> Described | None:
        fields = {
            "bento": str(resource.inputs["bento"]),
            "weight": f"{resource.inputs['weight']:g}%",
        }
        return Described("Thing", resource.name, fields)

    def _outputs(self) -> dict[str, Any]:
        return copy.deepcopy(self.outputs)

    def _apply(self, desired: Desired, refresh: bool = False) -> None:
        self.ups.append(copy.deepcopy(desired))
        self.outputs = {"desired": asdict(desired)}


def test_nothing_deployed_reads_as_no_endpoint_and_no_slots() -> None:
    target = InMemoryTarget()
    state = target.state()
    assert (state.endpoint, state.slots) == (None, {})
    assert target.desired() == Desired()


def test_the_state_is_read_back_from_the_stack_outputs() -> None:
    target = InMemoryTarget()
    target.deploy(Slot.STABLE, V3)
    target.deploy(Slot.CANARY, V4)
    target.set_weights({Slot.STABLE: 90, Slot.CANARY: 10})
    state = target.state()
    assert state.endpoint == "https://in-memory.example"
    assert state.weights == {Slot.STABLE: 90, Slot.CANARY: 10}
    assert state.slots[Slot.CANARY].release == V4
    assert [up.weights for up in target.ups] == [
        {"stable": 100},
        {"stable": 100, "canary": 0},
        {"stable": 90, "canary": 10},
    ]


def test_a_promotion_is_one_engine_update_per_move() -> None:
    target = InMemoryTarget()
    target.deploy(Slot.STABLE, V3)
    target.deploy(Slot.CANARY, V4)
    promoted = target.promote()
    assert promoted.release == V4
    assert [(sorted(up.slots), up.weights) for up in target.ups[2:]] == [
        (["canary", "stable"], {"stable": 0, "canary": 100}),
        (["canary", "stable"], {"stable": 0, "canary": 100}),
        (["canary", "stable"], {"stable": 100, "canary": 0}),
        (["stable"], {"stable": 100}),
    ]
    assert target.ups[3].slots["stable"]["bento"] == V4.bento


def test_weights_go_only_to_slots_that_run() -> None:
    target = InMemoryTarget()
    target.deploy(Slot.STABLE, V3)
    with pytest.raises(StackError, match="cannot send traffic to canary: no release runs there"):
        target.set_weights({Slot.STABLE: 50, Slot.CANARY: 50})
    assert len(target.ups) == 1


def test_without_credentials_the_whole_rollout_is_previewed_with_mocks() -> None:
    target = InMemoryTarget()
    target.deploy(Slot.STABLE, V3)
    preview = target.preview(Slot.CANARY, V4)
    assert preview.note == f"no credentials here: {MOCK_NOTE}"
    assert preview.changes == {"same": 1, "create": 1}
    assert preview.steps == ["+ Thing canary (bento credit_risk:bbb222, weight 0%)"]
    steps = [(s.title, s.changes) for s in preview.rollout]
    assert steps[1:3] == [
        ("canary at 10%", {"update": 2}),
        ("canary at 50%", {"update": 2}),
    ]
    assert preview.rollout[-1].changes.get("delete") == 1  # the canary is gone after promotion
    assert len(target.ups) == 1, "a preview changes nothing"


def test_the_engine_settings_default_to_the_state_folder() -> None:
    target = InMemoryTarget()
    assert target.settings.state_dir == Path("/nonexistent/pulumi")
    assert target.settings is target.settings
