"""The kubernetes target's literal config and releases, and its program under Pulumi mocks;
shared by the kubernetes tests."""

from __future__ import annotations

from pathlib import Path

from stacks.desired import Desired
from stacks.kubernetes.config import KubernetesTargetConfig
from stacks.kubernetes.program import program
from tests.fakes.pulumi_mocks import Recorded, by_name, run_program

K8S_VERSION = "1.33"
CANARY = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT = "nginx.ingress.kubernetes.io/canary-weight"
CONFIG = KubernetesTargetConfig(
    spec="credit-risk",
    environment="production",
    image="registry.example.com/credit-risk",
    state_dir=Path("/nonexistent"),
    context="prod-cluster",
    host="credit.example.com",
    replicas=2,
    max_replicas=5,
    cpu="1",
    memory="2Gi",
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


def run(desired: Desired, config: KubernetesTargetConfig = CONFIG) -> dict[str, Recorded]:
    return by_name(run_program(lambda: program(config, desired)))
