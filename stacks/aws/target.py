"""The `aws` target: a SageMaker endpoint whose production variants are the slots.

The changes, the desired state and the previews are those of every cloud target
(stacks/cloud.py): each change is a new endpoint configuration the endpoint is updated to;
the provider waits for the endpoint to be `InService` again, so `deploy` returns once the
variant serves.
"""

from __future__ import annotations

from typing import Any

from stacks.aws.cloudwatch import CloudWatchMetrics
from stacks.aws.config import AwsTargetConfig, CloudWatchSource, aws_config, cloudwatch_source
from stacks.aws.sagemaker import SageMakerClient
from stacks.cloud import CloudTarget, PreviewParts
from stacks.desired import Desired
from stacks.errors import StackError
from stacks.target import Release, Slot, SlotState, TargetKind


class AwsTarget(CloudTarget[AwsTargetConfig]):
    name = "aws"

    def _program(self, desired: Desired) -> None:
        from stacks.aws.program import program

        program(self.config, desired)

    def _endpoint(self, outputs: dict[str, Any]) -> str | None:
        return self._endpoint_url() if outputs.get("endpoint") else None

    def _preview_parts(self) -> PreviewParts:
        from stacks.aws.preview import REPLACED, describe, missing_credentials

        return PreviewParts(describe, missing_credentials, REPLACED)

    def _endpoint_url(self, slot: Slot | None = None) -> str:
        """`sagemaker://REGION/ENDPOINT`, with `?variant=SLOT` for one slot: requests to it
        are signed InvokeEndpoint calls (stacks/aws/sagemaker.py), pinned to the variant."""
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

    def slot_client(self, slot: Slot | None) -> SageMakerClient:
        """Signed InvokeEndpoint calls: to the slot's variant, or (None) by weight."""
        return SageMakerClient(self._endpoint_url(slot))

    def metrics(self, slot: Slot) -> CloudWatchMetrics:
        return CloudWatchMetrics(self.metrics_source(slot).url)

    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        """`url` invokes the slot's variant; `metrics_url` names its CloudWatch series,
        which canary analysis reads (stacks/aws/cloudwatch.py)."""
        release = desired.slots[slot.value]
        url = self._endpoint_url(slot)
        metrics = self.metrics_source(slot).url
        return SlotState(slot, Release(release["bento"], release["model"]), url, metrics, weight)


KIND = TargetKind("aws", aws_config, AwsTarget)
