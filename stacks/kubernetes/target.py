"""The `kubernetes` target: a Deployment per slot, traffic split by ingress-nginx canary weights.

The changes, the desired state and the previews are those of every cloud target
(stacks/cloud.py); the provider waits for Deployments to be ready, so `deploy` returns once
the slot's pods pass their readiness probe.
"""

from __future__ import annotations

from typing import Any

from stacks.cloud import CloudTarget, PreviewParts
from stacks.desired import Desired
from stacks.kubernetes.config import (
    SERVICE_PORT,
    KubernetesTargetConfig,
    PrometheusQueries,
    kubernetes_config,
    prometheus_queries,
    slot_metrics_url,
)
from stacks.kubernetes.prometheus import PrometheusSource
from stacks.reach.http import HttpClient
from stacks.target import Release, Slot, SlotState, TargetKind


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

    def _slot_url(self, slot: Slot) -> str:
        """The slot's Service in cluster DNS (apply must run where it resolves)."""
        service = f"{self.config.object_name(slot.value)}.{self.config.target_namespace}"
        return f"http://{service}.svc.cluster.local:{SERVICE_PORT}"

    def _slot_state(self, slot: Slot, desired: Desired, weight: int) -> SlotState:
        release = desired.slots[slot.value]
        url, metrics = self._slot_url(slot), slot_metrics_url(self.config, slot.value)
        return SlotState(slot, Release(release["bento"], release["model"]), url, metrics, weight)

    def slot_client(self, slot: Slot | None) -> HttpClient:
        """The ingress for the endpoint (the stable slot's Service when it has no address)."""
        if slot is None:
            endpoint = self.state().endpoint
            return HttpClient(endpoint or self._slot_url(Slot.STABLE))
        return HttpClient(self._slot_url(slot))

    def metrics(self, slot: Slot) -> PrometheusSource:
        """The slot's pods' counters summed in Prometheus."""
        return PrometheusSource(slot_metrics_url(self.config, slot.value))


KIND = TargetKind("kubernetes", kubernetes_config, KubernetesTarget)
