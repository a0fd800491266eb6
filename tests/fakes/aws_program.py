"""The aws target's literal config and releases, its program under Pulumi mocks, and the
target with `pulumi up` replaced by those mocks; shared by the aws tests."""

from __future__ import annotations

import copy
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stacks.aws.config import AwsTargetConfig
from stacks.aws.program import program
from stacks.aws.target import AwsTarget
from stacks.desired import Desired
from tests.fakes.pulumi_mocks import Recorded, by_name, plain, run_program

ROLE = "arn:aws:iam::123456789012:role/sagemaker-credit-risk"
CONFIG = AwsTargetConfig(
    spec="credit-risk",
    environment="production",
    image="123456789012.dkr.ecr.eu-west-1.amazonaws.com/credit-risk",
    role_arn=ROLE,
    state_dir=Path("/nonexistent"),
    region="eu-west-1",
    instance_type="ml.c5.xlarge",
    instance_count=2,
    max_instance_count=6,
    invocations_per_instance=250.0,
)
V3 = {"bento": "credit_risk:aaa111", "model": "models:/credit-risk/3"}
V4 = {"bento": "credit_risk:bbb222", "model": "models:/credit-risk/4"}
STEPS = {
    "stable-only": Desired({"stable": V3}, {"stable": 100}),
    "canary-0": Desired({"stable": V3, "canary": V4}, {"stable": 100, "canary": 0}),
    "canary-10": Desired({"stable": V3, "canary": V4}, {"stable": 90, "canary": 10}),
    "canary-50": Desired({"stable": V3, "canary": V4}, {"stable": 50, "canary": 50}),
    "canary-100": Desired({"stable": V3, "canary": V4}, {"stable": 0, "canary": 100}),
    "promoted": Desired({"stable": V4}, {"stable": 100}),
}
SAGEMAKER = "aws:sagemaker/"
SCALING = "aws:appautoscaling/"


def run(desired: Desired, config: AwsTargetConfig = CONFIG) -> dict[str, Recorded]:
    return by_name(run_program(lambda: program(config, desired)))


def variants(resources: dict[str, Recorded]) -> dict[str, dict[str, Any]]:
    config = plain(resources["endpoint-config"].inputs)
    return {v["variantName"]: v for v in config["productionVariants"]}


class MockedAwsTarget(AwsTarget):
    """Each `pulumi up` runs the program under mocks; the stack outputs are what it ran with."""

    def __init__(self, config: AwsTargetConfig) -> None:
        super().__init__(config)
        self.ups: list[dict[str, Recorded]] = []
        self.ran_with = Desired()

    def _outputs(self) -> dict[str, Any]:
        endpoint = CONFIG.endpoint_name if self.ran_with.slots else None
        return {"desired": copy.deepcopy(asdict(self.ran_with)), "endpoint": endpoint}

    def _apply(self, desired: Desired, refresh: bool = False) -> None:
        self.ups.append(run(desired, self.config))
        self.ran_with = copy.deepcopy(desired)
