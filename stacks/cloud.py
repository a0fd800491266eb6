"""What the cloud targets (`kubernetes`, `aws`) share.

Every change is a `pulumi up` of the target's program with the new desired state (releases per
slot and weights); the providers wait for the new pods or variant to serve, so `deploy`
returns once the slot is ready. The desired state is a stack output: it travels with the
Pulumi backend (file, S3, Pulumi Cloud), so any machine can drive the next step. A target
says how its slots are reached (`_slot_state`, `_endpoint`) and which program, preview
description and credentials check it uses.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Generic, NamedTuple, Protocol, TypeVar

from stacks.desired import Desired
from stacks.engine import automation
from stacks.slot_moves import SlotMoves
from stacks.target import (
    PreviewSummary,
    Release,
    Slot,
    TargetState,
)

if TYPE_CHECKING:
    from pulumi import automation as auto

    from stacks.engine.mock_preview import Describe


class CloudConfig(Protocol):
    @property
    def project(self) -> str: ...
    @property
    def stack(self) -> str: ...
    @property
    def state_dir(self) -> Path: ...
    @property
    def rollout_weights(self) -> tuple[int, ...]: ...


C = TypeVar("C", bound=CloudConfig)


class PreviewParts(NamedTuple):
    """A target's side of a mock preview."""

    describe: Describe  # what a plan shows of a resource
    missing_credentials: Callable[[], str | None]  # why no live preview can run here
    replaced: frozenset[str] = frozenset()  # type tokens whose changes replace the resource


class CloudTarget(SlotMoves, Generic[C]):
    name: str  # the target kind a spec names; also the provider plugin it needs

    def __init__(self, config: C, settings: automation.EngineSettings | None = None) -> None:
        self.config = config
        self._settings = settings
        self.log: list[str] = []

    @property
    def settings(self) -> automation.EngineSettings:
        if self._settings is None:
            self._settings = automation.EngineSettings.local(self.config.state_dir / "pulumi")
        return self._settings

    # --- what a target says -------------------------------------------------------------

    @abstractmethod
    def _program(self, desired: Desired) -> None:
        """Register the resources of `desired` (run inside a Pulumi program)."""

    @abstractmethod
    def _endpoint(self, outputs: dict[str, Any]) -> str | None:
        """The environment's address, from the stack outputs (None: nothing runs)."""

    @abstractmethod
    def _preview_parts(self) -> PreviewParts:
        """The target's side of a mock preview (imported when a preview runs)."""

    # --- reading ------------------------------------------------------------------------

    def desired(self) -> Desired:
        return _desired(self._outputs())

    def state(self) -> TargetState:
        outputs = self._outputs()
        desired = _desired(outputs)
        slots = {
            Slot(slot): self._slot_state(Slot(slot), desired, int(desired.weights.get(slot, 0)))
            for slot in desired.slots
        }
        return TargetState(endpoint=self._endpoint(outputs), slots=slots)

    # --- changing -----------------------------------------------------------------------

    def set_weights(self, weights: dict[Slot, int]) -> None:
        desired = self._with_weights(weights)
        self._apply(desired)

    def preview(self, slot: Slot, release: Release) -> PreviewSummary:
        """Every step of the release (the deploy, each weight, the promotion) run through
        the program under Pulumi mocks; the first change also by `pulumi preview` of the
        live stack when credentials and the provider plugin are there."""
        from stacks.engine.mock_preview import LIVE_NOTE, MOCK_NOTE, mock_preview, rollout_stages

        config = self.config
        current = self.desired()
        stages = rollout_stages(current, slot, release, config.rollout_weights)
        parts = self._preview_parts()
        offline = parts.missing_credentials() or automation.missing_plugin(self.settings, self.name)
        mocked = mock_preview(self._program, current, stages, parts.describe, parts.replaced)
        if offline:
            return replace(mocked, note=f"{offline}: {MOCK_NOTE}")
        live = automation.preview(self._stack(stages[0][1]), config.project, config.stack)
        return replace(live, rollout=mocked.rollout, note=LIVE_NOTE)

    def destroy(self) -> None:
        st = self._stack(Desired())
        self.log += automation.recover(st, self.settings)
        with automation.engine_errors(self.config.project, self.config.stack):
            st.destroy()
            st.workspace.remove_stack(self.config.stack)

    # --- engine -------------------------------------------------------------------------

    def _stack(self, desired: Desired) -> auto.Stack:
        config = self.config
        return automation.stack(
            self.settings, config.project, config.stack, lambda: self._program(desired)
        )

    def _outputs(self) -> dict[str, Any]:
        return automation.outputs(self.settings, self.config.project, self.config.stack)

    def _apply(self, desired: Desired, refresh: bool = False) -> None:
        st = self._stack(desired)
        self.log += automation.recover(st, self.settings)
        with automation.engine_errors(self.config.project, self.config.stack):
            st.up(refresh=refresh)


def _desired(outputs: dict[str, Any]) -> Desired:
    """The desired state the last successful update ran with (a stack output)."""
    data = outputs.get("desired") or {}
    return Desired(slots=dict(data.get("slots", {})), weights=dict(data.get("weights", {})))
