"""The `kubernetes` target: a Deployment per slot, traffic split by ingress-nginx canary weights.

The changes, the desired state and the previews are those of every cloud target
(stacks/cloud.py); the provider waits for Deployments to be ready, so `deploy` returns once
the slot's pods pass their readiness probe.
"""

from __future__ import annotations

from typing import Any

from stacks.cloud import CloudTarget, PreviewParts
from stacks.kubernetes.config import (
    SERVICE_PORT,
    KubernetesTargetConfig,
    PrometheusQueries,
    prometheus_queries,
    slot_metrics_url,
)
from stacks.local.config import Desired
from stacks.target import Release, Slot, SlotState, register_target


class KubernetesTarget(CloudTarget[KubernetesTargetConfig]):
    name = "kubernetes"

    def _program(self, desired: Desired) -> None:
        from stacks.kubernetes.program import program

        program(self.config, desired)

    def _endpoint(self, outputs: dict[str, Any]) -> str | None:
        address: str | None = outputs.get("endpoint")
        return address

    def _preview_parts(self) -> PreviewParts:
        from stacks.kubernetes.preview import describe, missing_credentials

        return PreviewParts(describe, missing_credentials)

    def metrics_source(self, slot: Slot) -> PrometheusQueries:
        """The Prometheus address and the PromQL canary analysis reads for `slot`."""
        return prometheus_queries(self.config, slot.value)

    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        release = desired.slots[slot.value]
        service = f"{self.config.object_name(slot.value)}.{self.config.target_namespace}"
        url = f"http://{service}.svc.cluster.local:{SERVICE_PORT}"
        metrics = slot_metrics_url(self.config, slot.value)
        return SlotState(slot, Release(release["bento"], release["model"]), url, metrics, weight)


register_target("kubernetes", KubernetesTarget)
