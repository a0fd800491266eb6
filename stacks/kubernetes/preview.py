"""How a kubernetes release previews: each object's key fields, and whether a live
`pulumi preview` can run here (a kubeconfig and the kubernetes resource plugin)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from stacks.engine.mock_preview import Described, Recorded, plain
from stacks.kubernetes.config import CANARY_WEIGHT_ANNOTATION


def describe(resource: Recorded) -> Described | None:
    """Kind, `namespace/name` and the fields a reviewer checks; providers are not shown."""
    if resource.type.startswith("pulumi:providers:"):
        return None
    kind = resource.type.rsplit(":", 1)[-1]
    inputs = plain(resource.inputs)
    metadata = inputs.get("metadata") or {}
    name = metadata.get("name", resource.name)
    if metadata.get("namespace"):
        name = f"{metadata['namespace']}/{name}"
    spec = inputs.get("spec") or {}
    fields = _FIELDS.get(kind, lambda _spec, _meta: {})(spec, metadata)
    rank = list(_FIELDS).index(kind) if kind in _FIELDS else len(_FIELDS)
    return Described(kind, name, fields, rank)


def _deployment(spec: dict[str, Any], _meta: dict[str, Any]) -> dict[str, str]:
    containers = spec.get("template", {}).get("spec", {}).get("containers") or [{}]
    labels = spec.get("template", {}).get("metadata", {}).get("labels", {})
    fields = {"image": str(containers[0].get("image")), "replicas": str(spec.get("replicas"))}
    if "shipyard.dev/model-version" in labels:
        fields["model"] = f"v{labels['shipyard.dev/model-version']}"
    return fields


def _ingress(spec: dict[str, Any], meta: dict[str, Any]) -> dict[str, str]:
    paths = (spec.get("rules") or [{}])[0].get("http", {}).get("paths") or [{}]
    service = paths[0].get("backend", {}).get("service", {}).get("name")
    fields = {"to": str(service)}
    weight = (meta.get("annotations") or {}).get(CANARY_WEIGHT_ANNOTATION)
    if weight is not None:
        fields["canary-weight"] = f"{weight}%"
    return fields


def _hpa(spec: dict[str, Any], _meta: dict[str, Any]) -> dict[str, str]:
    return {"replicas": f"{spec.get('minReplicas')}..{spec.get('maxReplicas')}"}


def _service(spec: dict[str, Any], _meta: dict[str, Any]) -> dict[str, str]:
    return {"slot": str((spec.get("selector") or {}).get("shipyard.dev/slot"))}


def _pdb(spec: dict[str, Any], _meta: dict[str, Any]) -> dict[str, str]:
    return {"max-unavailable": str(spec.get("maxUnavailable"))}


_FIELDS = {  # in the order a preview shows them
    "Deployment": _deployment,
    "Service": _service,
    "HorizontalPodAutoscaler": _hpa,
    "PodDisruptionBudget": _pdb,
    "Ingress": _ingress,
}


def missing_credentials() -> str | None:
    """Why no cluster can be reached from here, or None when a kubeconfig (or an in-cluster
    service account) is there to try."""
    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        return None
    configured = os.environ.get("KUBECONFIG")
    paths = configured.split(os.pathsep) if configured else [str(Path.home() / ".kube/config")]
    if any(Path(p).is_file() for p in paths if p):
        return None
    return "no cluster credentials (no kubeconfig: KUBECONFIG or ~/.kube/config)"
