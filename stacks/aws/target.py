"""The `aws` target: a SageMaker endpoint whose production variants are the slots.

Every change is a `pulumi up` of the program with the new desired state (releases per slot
and weights): a new endpoint configuration the endpoint is updated to; the provider waits for
the endpoint to be `InService` again, so `deploy` returns once the variant serves. The desired
state is a stack output: it travels with the Pulumi backend (file, S3, Pulumi Cloud).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Any

from stacks import automation
from stacks.aws.config import AwsTargetConfig, CloudWatchSource, cloudwatch_source
from stacks.errors import StackError
from stacks.local.config import Desired
from stacks.target import (
    PreviewSummary,
    Release,
    Slot,
    SlotState,
    TargetState,
    register_target,
    weights_total_100,
)

if TYPE_CHECKING:
    from pulumi import automation as auto


class AwsTarget:
    name = "aws"

    def __init__(
        self, config: AwsTargetConfig, settings: automation.EngineSettings | None = None
    ) -> None:
        self.config = config
        self._settings = settings
        self.log: list[str] = []

    @property
    def settings(self) -> automation.EngineSettings:
        if self._settings is None:
            self._settings = automation.EngineSettings.local(self.config.state_dir / "pulumi")
        return self._settings

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
        endpoint = outputs.get("endpoint")
        return TargetState(endpoint=self._endpoint_url() if endpoint else None, slots=slots)

    def _endpoint_url(self, slot: Slot | None = None) -> str:
        """`sagemaker://REGION/ENDPOINT`, with `?variant=SLOT` for one slot: requests to it
        are signed InvokeEndpoint calls (validators/sagemaker.py), pinned to the variant."""
        region = self.config.resolved_region()
        if region is None:
            raise StackError(
                "no AWS region: the endpoint's address is unknown",
                hint="set the environment's aws.region, or AWS_REGION",
            )
        url = f"sagemaker://{region}/{self.config.endpoint_name}"
        return f"{url}?variant={slot.value}" if slot else url

    def metrics_source(self, slot: Slot) -> CloudWatchSource:
        """The CloudWatch metrics canary analysis reads for `slot` (its production variant)."""
        return cloudwatch_source(self.config, slot.value)

    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        """`url` invokes the slot's variant; `metrics_url` names its CloudWatch series,
        which canary analysis reads (validators/cloudwatch.py)."""
        release = desired.slots[slot.value]
        url = self._endpoint_url(slot)
        metrics = self.metrics_source(slot).url
        return SlotState(slot, Release(release["bento"], release["model"]), url, metrics, weight)

    # --- changing -----------------------------------------------------------------------

    def deploy(self, slot: Slot, release: Release) -> SlotState:
        desired = self.desired()
        desired.slots[slot.value] = {"bento": release.bento, "model": release.model}
        if not any(desired.weights.get(s, 0) for s in desired.slots):
            desired.weights = {slot.value: 100}
        desired.weights.setdefault(slot.value, 0)
        self._apply(desired)
        return self._slot_state(slot, desired, desired.weights[slot.value])

    def set_weights(self, weights: dict[Slot, int]) -> None:
        weights_total_100(weights)
        desired = self.desired()
        missing = [s.value for s, w in weights.items() if w and s.value not in desired.slots]
        if missing:
            raise StackError(f"cannot send traffic to {', '.join(missing)}: no release runs there")
        desired.weights = {s: int(weights.get(Slot(s), 0)) for s in desired.slots}
        self._apply(desired)

    def promote(self) -> SlotState:
        canary = self.desired().slots.get(Slot.CANARY.value)
        if canary is None:
            raise StackError("nothing to promote: no release runs in the canary slot")
        self.set_weights({Slot.CANARY: 100, Slot.STABLE: 0})
        self.deploy(Slot.STABLE, Release(canary["bento"], canary["model"]))
        self.set_weights({Slot.STABLE: 100, Slot.CANARY: 0})
        self.teardown(Slot.CANARY)
        return self.state().slots[Slot.STABLE]

    def teardown(self, slot: Slot) -> None:
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

    def preview(self, slot: Slot, release: Release) -> PreviewSummary:
        """Every step of the release (the deploy, each variant weight, the promotion) run
        through the program under Pulumi mocks; the first change also by `pulumi preview`
        of the live stack when AWS credentials and the aws plugin are there."""
        from stacks.aws.preview import REPLACED, describe, missing_credentials
        from stacks.aws.program import program
        from stacks.mockpreview import LIVE_NOTE, MOCK_NOTE, mock_preview, rollout_stages

        config = self.config
        current = self.desired()
        stages = rollout_stages(current, slot, release, config.rollout_weights)
        offline = missing_credentials() or automation.missing_plugin(self.settings, "aws")
        mocked = mock_preview(
            lambda desired: program(config, desired), current, stages, describe, REPLACED
        )
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
        from stacks.aws.program import program

        config = self.config
        return automation.stack(
            self.settings, config.project, config.stack, lambda: program(config, desired)
        )

    def _outputs(self) -> dict[str, Any]:
        return automation.outputs(self.settings, self.config.project, self.config.stack)

    def _apply(self, desired: Desired) -> None:
        st = self._stack(desired)
        self.log += automation.recover(st, self.settings)
        with automation.engine_errors(self.config.project, self.config.stack):
            st.up()


def _desired(outputs: dict[str, Any]) -> Desired:
    """The desired state the last successful update ran with (a stack output)."""
    data = outputs.get("desired") or {}
    return Desired(slots=dict(data.get("slots", {})), weights=dict(data.get("weights", {})))


register_target("aws", AwsTarget)
