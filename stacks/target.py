"""The one interface the pipeline drives every target through, and the types it speaks.

A target runs a released version in a slot (`stable`, `canary`), splits traffic between
slots, promotes the canary, tears slots down, and hands out a client and a metrics source per
slot (stacks/reach). Targets are found by name in stacks/registry.py.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any, Protocol

from stacks.errors import StackError
from stacks.reach.client import SlotClient
from stacks.reach.metrics import MetricsSource


class Slot(StrEnum):
    STABLE = "stable"
    CANARY = "canary"


@dataclass(frozen=True)
class Release:
    """What runs in a slot: a built Bento and the model version it serves."""

    bento: str
    model: str
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SlotState:
    slot: Slot
    release: Release
    url: str
    metrics_url: str
    weight: int
    prediction_log: str | None = None  # folder of the slot's JSONL prediction logs, if local


@dataclass(frozen=True)
class TargetState:
    """What the target runs now (read from the stack and the host, not remembered)."""

    endpoint: str | None
    slots: dict[Slot, SlotState]

    @property
    def weights(self) -> dict[Slot, int]:
        return {slot: s.weight for slot, s in self.slots.items()}


@dataclass(frozen=True)
class RolloutStepPreview:
    """What one step of a release changes: counts per operation (`create`, `update`,
    `replace`, `delete`, `same`) and one line per changed resource with its key fields."""

    title: str  # "deploy canary credit_risk:abc", "canary at 10%", "promote: ..."
    changes: dict[str, int]
    resources: list[str]


@dataclass(frozen=True)
class PreviewSummary:
    """The preview of a change, for plans: counts per operation and the engine's steps of the
    first change; where the target previews a whole release, each rollout step; and `note`
    saying how the preview was made when it was not `pulumi preview` against the live stack
    (e.g. "no cluster credentials: previewed with Pulumi mocks")."""

    changes: dict[str, int]
    steps: list[str]
    rollout: list[RolloutStepPreview] = field(default_factory=list)
    note: str = ""


class Target(Protocol):
    """A place a spec's environment runs (`local`, `kubernetes`, `aws`)."""

    name: str

    def state(self) -> TargetState: ...

    def deploy(self, slot: Slot, release: Release) -> SlotState:
        """Run `release` in `slot` (created, or replaced when it runs another release);
        returns once the slot answers its readiness probe. Traffic is not changed."""
        ...

    def set_weights(self, weights: dict[Slot, int]) -> None:
        """Split traffic (percentages summing to 100); returns once it is in effect."""
        ...

    def promote(self) -> SlotState:
        """The canary's release becomes stable, with all traffic; the canary is torn down."""
        ...

    def teardown(self, slot: Slot) -> None:
        """Remove `slot` (its traffic must already be 0)."""
        ...

    def preview(self, slot: Slot, release: Release) -> PreviewSummary:
        """What `deploy(slot, release)` would change, without changing anything; a target
        that knows the rollout's steps also previews each of them (`PreviewSummary.rollout`)."""
        ...

    def repair(self) -> None:
        """Put back what drifted from what this target last applied — a stopped server, a
        route or weight edited by hand — reading what really runs first (`pulumi up
        --refresh`). Slots, releases and weights stay as last set."""
        ...

    def destroy(self) -> None:
        """Remove everything this target created."""
        ...

    def slot_client(self, slot: Slot | None) -> SlotClient:
        """Requests to `slot` alone, or (None) to the environment's endpoint, whose traffic
        the target splits by weight."""
        ...

    def metrics(self, slot: Slot) -> MetricsSource:
        """Where what `slot` serves is measured."""
        ...


@dataclass(frozen=True)
class TargetInputs:
    """What the pipeline tells a target about one spec environment — never the spec itself.
    `settings` is the environment's block named after the target (`kubernetes: {...}`) as
    plain data, empty when the spec has none; each target reads what it knows from it."""

    spec: str
    environment: str
    state_dir: Path  # the project's .shipyard/
    bentoml_home: Path
    settings: Mapping[str, Any] = field(default_factory=dict)
    replicas: int | None = None
    max_body_bytes: int = 10 * 1024 * 1024
    rollout_weights: tuple[int, ...] = ()  # the canary's traffic steps (empty: direct)
    image: str | None = None  # the image to run (settings' own, or the one CI built)
    cpu: str | None = None
    memory: str | None = None

    def field(self, name: str) -> str:
        """Where a setting lives in the spec, for messages: `environments[prod].aws.role_arn`."""
        return f"environments[{self.environment}].{name}"


@dataclass(frozen=True)
class TargetKind:
    """A target as the registry knows it: its name, how its own config is made from the
    pipeline's inputs (a `StackError` naming the setting when one is missing), and the class
    that drives it."""

    name: str
    config: Callable[[TargetInputs], Any]
    factory: Callable[[Any], Target]

    def create(self, inputs: TargetInputs) -> Target:
        return self.factory(self.config(inputs))


def weights_total_100(weights: dict[Slot, Any]) -> None:
    total = sum(int(w) for w in weights.values())
    if total != 100 or any(int(w) < 0 for w in weights.values()):
        raise StackError(f"traffic weights must be >= 0 and sum to 100, got {weights}")
