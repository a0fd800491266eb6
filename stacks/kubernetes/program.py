"""The kubernetes target's Pulumi program.

Per slot (`stable`, `canary`): a Deployment of the Bento's image, a Service, an HPA and a
PodDisruptionBudget. Traffic: ingress-nginx canary weights, a primary Ingress to the stable
Service and, while a canary runs, a canary Ingress (same host and path) carrying
`nginx.ingress.kubernetes.io/canary-weight`.
"""

from __future__ import annotations

import pulumi
import pulumi_kubernetes as k8s

from stacks.desired import Desired
from stacks.kubernetes.config import (
    BENTO_PORT,
    CANARY_ANNOTATION,
    CANARY_WEIGHT_ANNOTATION,
    LABEL_PREFIX,
    SERVICE_PORT,
    KubernetesTargetConfig,
)


def program(config: KubernetesTargetConfig, desired: Desired) -> None:
    provider = k8s.Provider("kubernetes", context=config.context)
    depends: list[pulumi.Resource] = []
    if config.create_namespace and desired.slots:
        depends.append(_namespace(config))
    opts = pulumi.ResourceOptions(provider=provider, depends_on=depends)
    services = {
        slot: _slot(config, slot, release, opts) for slot, release in sorted(desired.slots.items())
    }
    primary = "stable" if "stable" in services else next(iter(services), None)
    endpoint: pulumi.Input[str | None] = None
    if primary is not None:
        ingress = _ingress("ingress", config, config.base_name, services[primary], {}, opts)
        endpoint = f"http://{config.host}" if config.host else ingress.status.apply(_address)
    if primary == "stable" and "canary" in services:
        canary = {
            CANARY_ANNOTATION: "true",
            CANARY_WEIGHT_ANNOTATION: str(int(desired.weights.get("canary", 0))),
        }
        name = f"{config.base_name}-canary"
        _ingress("ingress-canary", config, name, services["canary"], canary, opts)
    pulumi.export("namespace", config.target_namespace)
    pulumi.export("endpoint", endpoint)
    pulumi.export("desired", {"slots": desired.slots, "weights": desired.weights})


def _namespace(config: KubernetesTargetConfig) -> k8s.core.v1.Namespace:
    """The namespace, shared with the spec's other environments (and other specs) that use
    it: adopted when it exists, left in place when this stack is destroyed."""
    adopting = k8s.Provider(
        "kubernetes-namespace", context=config.context, upsert_existing_objects=True
    )
    return k8s.core.v1.Namespace(
        "namespace",
        # Labels every sharer sets to the same value (server-side apply shares them).
        metadata={
            "name": config.target_namespace,
            "labels": {"app.kubernetes.io/part-of": "shipyard"},
        },
        opts=pulumi.ResourceOptions(provider=adopting, retain_on_delete=True),
    )


def _address(status: k8s.networking.v1.outputs.IngressStatus | None) -> str | None:
    """`http://<address>` of the ingress controller's load balancer, once it has one."""
    balancer = status.load_balancer if status else None
    for entry in (balancer.ingress if balancer else None) or []:
        if entry.hostname or entry.ip:
            return f"http://{entry.hostname or entry.ip}"
    return None


def _common_labels(config: KubernetesTargetConfig) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": config.spec,
        "app.kubernetes.io/instance": config.base_name,
        f"{LABEL_PREFIX}/spec": config.spec,
        f"{LABEL_PREFIX}/environment": config.environment,
    }


def _slot(
    config: KubernetesTargetConfig, slot: str, release: dict[str, str], opts: pulumi.ResourceOptions
) -> k8s.core.v1.Service:
    """A slot's Deployment, Service, HPA and PodDisruptionBudget; returns the Service."""
    name = config.object_name(slot)
    labels = config.labels(slot, release["bento"], release["model"])
    metadata: k8s.meta.v1.ObjectMetaArgsDict = {
        "name": name,
        "namespace": config.target_namespace,
        "labels": labels,
    }
    # The HPA owns the replica count once the Deployment exists.
    deployment_opts = pulumi.ResourceOptions.merge(
        opts, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])
    )
    deployment = k8s.apps.v1.Deployment(
        f"deployment-{slot}",
        metadata=metadata,
        spec=_deployment_spec(config, slot, release, labels),
        opts=deployment_opts,
    )
    child = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(depends_on=[deployment]))
    selector = config.selector(slot)
    service = k8s.core.v1.Service(
        f"service-{slot}",
        metadata=metadata,
        spec={
            "type": "ClusterIP",
            "selector": selector,
            "ports": [{"name": "http", "port": SERVICE_PORT, "target_port": "http"}],
        },
        opts=child,
    )
    _autoscaling(config, slot, metadata, child)
    return service


def _deployment_spec(
    config: KubernetesTargetConfig, slot: str, release: dict[str, str], labels: dict[str, str]
) -> k8s.apps.v1.DeploymentSpecArgsDict:
    annotations = {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(BENTO_PORT),
        "prometheus.io/path": "/metrics",
        f"{LABEL_PREFIX}/bento": release["bento"],
        f"{LABEL_PREFIX}/model": release["model"],
    }
    return {
        "replicas": config.replicas,
        "selector": {"match_labels": config.selector(slot)},
        # No capacity lost while a slot's pods are replaced.
        "strategy": {
            "type": "RollingUpdate",
            "rolling_update": {"max_surge": 1, "max_unavailable": 0},
        },
        "template": {
            "metadata": {"labels": labels, "annotations": annotations},
            "spec": {"containers": [_container(config, slot, release)]},
        },
    }


def _container(
    config: KubernetesTargetConfig, slot: str, release: dict[str, str]
) -> k8s.core.v1.ContainerArgsDict:
    env = {"SHIPYARD_SPEC": config.spec, "SHIPYARD_SLOT": slot, "BENTOML_DO_NOT_TRACK": "true"}
    return {
        "name": "bento",
        "image": config.image_for(release["bento"]),
        "ports": [{"name": "http", "container_port": BENTO_PORT}],
        "env": [{"name": key, "value": value} for key, value in env.items()],
        "resources": {
            "requests": {"cpu": config.cpu, "memory": config.memory},
            "limits": {"memory": config.memory},
        },
        # Loading a model can take a while: liveness only starts once /livez answered.
        "startup_probe": _probe("/livez", period=5, failures=60),
        "liveness_probe": _probe("/livez", period=10, failures=3),
        "readiness_probe": _probe("/readyz", period=5, failures=3),
    }


def _probe(path: str, period: int, failures: int) -> k8s.core.v1.ProbeArgsDict:
    return {
        "http_get": {"path": path, "port": BENTO_PORT},
        "period_seconds": period,
        "failure_threshold": failures,
        "timeout_seconds": 2,
    }


def _autoscaling(
    config: KubernetesTargetConfig,
    slot: str,
    metadata: k8s.meta.v1.ObjectMetaArgsDict,
    opts: pulumi.ResourceOptions,
) -> None:
    cpu_target: k8s.autoscaling.v2.MetricTargetArgsDict = {
        "type": "Utilization",
        "average_utilization": config.target_cpu_utilization,
    }
    k8s.autoscaling.v2.HorizontalPodAutoscaler(
        f"hpa-{slot}",
        metadata=metadata,
        spec={
            "scale_target_ref": {
                "api_version": "apps/v1",
                "kind": "Deployment",
                "name": config.object_name(slot),
            },
            "min_replicas": config.replicas,
            "max_replicas": config.hpa_max_replicas,
            "metrics": [{"type": "Resource", "resource": {"name": "cpu", "target": cpu_target}}],
        },
        opts=opts,
    )
    k8s.policy.v1.PodDisruptionBudget(
        f"pdb-{slot}",
        metadata=metadata,
        spec={"max_unavailable": 1, "selector": {"match_labels": config.selector(slot)}},
        opts=opts,
    )


def _ingress(
    resource: str,
    config: KubernetesTargetConfig,
    name: str,
    service: k8s.core.v1.Service,
    annotations: dict[str, str],
    opts: pulumi.ResourceOptions,
) -> k8s.networking.v1.Ingress:
    backend: k8s.networking.v1.IngressBackendArgsDict = {
        "service": {"name": service.metadata.name, "port": {"number": SERVICE_PORT}}
    }
    rule: k8s.networking.v1.IngressRuleArgsDict = {
        "http": {"paths": [{"path": "/", "path_type": "Prefix", "backend": backend}]}
    }
    if config.host:
        rule["host"] = config.host
    body = {"nginx.ingress.kubernetes.io/proxy-body-size": str(config.max_body_bytes)}
    return k8s.networking.v1.Ingress(
        resource,
        metadata={
            "name": name,
            "namespace": config.target_namespace,
            "labels": _common_labels(config),
            "annotations": {**body, **annotations},
        },
        spec={"ingress_class_name": config.ingress_class, "rules": [rule]},
        opts=opts,
    )
