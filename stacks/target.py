"""The one interface the pipeline drives every target through, and the registry of targets.

A target runs a released version in a slot (`stable`, `canary`), splits traffic between
slots, promotes the canary, tears slots down, and tells where to send requests and where each
slot's metrics are. Targets register by name; third parties add theirs with
`register_target` (or the `shipyard.targets` entry-point group).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from stacks.errors import StackError


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

    def destroy(self) -> None:
        """Remove everything this target created."""
        ...


TargetFactory = Callable[..., Target]
_TARGETS: dict[str, TargetFactory] = {}


def register_target(name: str, factory: TargetFactory) -> None:
    _TARGETS[name] = factory


def target_factory(name: str) -> TargetFactory:
    """The factory registered as `name`; an unknown name lists the known ones."""
    _load_entry_points()
    try:
        return _TARGETS[name]
    except KeyError:
        known = ", ".join(sorted(_TARGETS)) or "none"
        raise StackError(f"unknown target {name!r}; known targets: {known}") from None


def known_targets() -> list[str]:
    _load_entry_points()
    return sorted(_TARGETS)


def _load_entry_points() -> None:
    from importlib.metadata import entry_points

    # Importing a target module registers it: `aws`, `kubernetes`, `local`.
    import stacks.aws.target
    import stacks.kubernetes.target
    import stacks.local.target  # noqa: F401

    for entry in entry_points(group="shipyard.targets"):
        if entry.name not in _TARGETS:
            register_target(entry.name, entry.load())


def weights_total_100(weights: dict[Slot, Any]) -> None:
    total = sum(int(w) for w in weights.values())
    if total != 100 or any(int(w) < 0 for w in weights.values()):
        raise StackError(f"traffic weights must be >= 0 and sum to 100, got {weights}")
