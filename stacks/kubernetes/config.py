"""The kubernetes target's own inputs (the pipeline maps a spec environment onto them),
the names and labels its objects get, and the Prometheus queries canary analysis reads."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from stacks.errors import StackError
from stacks.target import TargetInputs

BENTO_PORT = 3000  # where a containerized Bento serves its API, /readyz, /livez and /metrics
SERVICE_PORT = 80
DEFAULT_PROMETHEUS = "http://prometheus-server.monitoring.svc"  # the prometheus Helm chart
CANARY_ANNOTATION = "nginx.ingress.kubernetes.io/canary"
CANARY_WEIGHT_ANNOTATION = "nginx.ingress.kubernetes.io/canary-weight"
LABEL_PREFIX = "shipyard.dev"
_MAX_NAME = 63
_LABEL_INVALID = re.compile(r"[^A-Za-z0-9_.-]+")


@dataclass(frozen=True)
class KubernetesTargetConfig:
    """One spec environment on a Kubernetes cluster with the ingress-nginx controller."""

    spec: str
    environment: str
    image: str  # a repository (tagged per release with the Bento version) or a pinned ref
    state_dir: Path  # the project's .shipyard/ (engine home, file backend by default)
    namespace: str | None = None  # default: the spec name
    context: str | None = None  # kubeconfig context; default: the current one
    ingress_class: str = "nginx"
    host: str | None = None  # default: every host the ingress controller serves
    prometheus_url: str = DEFAULT_PROMETHEUS
    replicas: int = 1  # per slot; the HPA's floor
    max_replicas: int | None = None  # the HPA's ceiling; default: 3 x replicas
    cpu: str = "500m"  # request per pod (the HPA scales on its utilization)
    memory: str = "1Gi"  # request and limit per pod
    target_cpu_utilization: int = 70
    max_body_bytes: int = 10 * 1024 * 1024
    metrics_window: str = "1m"
    create_namespace: bool = True  # False when the namespace exists (and is not ours)
    rollout_weights: tuple[int, ...] = ()  # the canary's traffic steps, for previews

    def __post_init__(self) -> None:
        if len(self.object_name("canary")) > _MAX_NAME:
            raise StackError(
                f"kubernetes object name {self.object_name('canary')!r} is over 63 characters",
                hint="shorten the spec or environment name",
            )
        if self.replicas < 1 or self.hpa_max_replicas < self.replicas:
            raise StackError(
                f"replicas must be >= 1 and <= max_replicas, got {self.replicas} and "
                f"{self.hpa_max_replicas}"
            )

    @property
    def project(self) -> str:
        return f"shipyard-{self.spec}"

    @property
    def stack(self) -> str:
        return self.environment

    @property
    def target_namespace(self) -> str:
        return self.namespace or self.spec

    @property
    def hpa_max_replicas(self) -> int:
        return self.max_replicas or 3 * self.replicas

    @property
    def base_name(self) -> str:
        return f"{self.spec}-{self.environment}"

    def object_name(self, slot: str) -> str:
        """Name of a slot's Deployment, Service, HPA and PodDisruptionBudget."""
        return f"{self.base_name}-{slot}"

    def selector(self, slot: str) -> dict[str, str]:
        """The labels a slot's pods are selected by (never change: selectors are immutable)."""
        return {
            f"{LABEL_PREFIX}/spec": self.spec,
            f"{LABEL_PREFIX}/environment": self.environment,
            f"{LABEL_PREFIX}/slot": slot,
        }

    def labels(self, slot: str, bento: str, model: str) -> dict[str, str]:
        """Every label of a slot's objects: the selector, the versions, the usual app labels."""
        return {
            "app.kubernetes.io/name": self.spec,
            "app.kubernetes.io/instance": self.base_name,
            "app.kubernetes.io/version": label_value(bento.rpartition(":")[2]),
            **self.selector(slot),
            f"{LABEL_PREFIX}/model-version": label_value(model_version(model)),
        }

    def image_for(self, bento: str) -> str:
        """The image of a release: the repository tagged with the Bento's version, unless
        the configured image is already pinned (a tag or a digest)."""
        if "@" in self.image or ":" in self.image.rpartition("/")[2]:
            return self.image
        return f"{self.image}:{bento.rpartition(':')[2] or 'latest'}"


def model_version(uri: str) -> str:
    """`models:/credit-risk/3` -> `3`; `models:/credit-risk@champion` -> `champion`."""
    return re.split(r"[/@]", uri.rstrip("/"))[-1]


def label_value(text: str) -> str:
    """`text` as a valid label value: allowed characters only, alphanumeric ends, <= 63."""
    value = _LABEL_INVALID.sub("-", text)[:_MAX_NAME]
    return value.strip("-_.")


@dataclass(frozen=True)
class PrometheusQueries:
    """Where and what canary analysis reads for one slot (PromQL over BentoML's metrics)."""

    url: str
    request_rate: str  # requests per second
    error_rate: str  # share of 5xx responses, 0..1
    latency_p95_ms: str


def slot_selector(config: KubernetesTargetConfig, slot: str) -> str:
    """PromQL label matchers of the series of `slot`'s pods, as the Prometheus Helm chart
    labels scraped pods (`namespace`, `pod`)."""
    return f'namespace="{config.target_namespace}",pod=~"{config.object_name(slot)}-.+"'


def slot_metrics_url(config: KubernetesTargetConfig, slot: str) -> str:
    """Where canary analysis reads `slot`'s counters: Prometheus, summed over the slot's pods
    (one pod's /metrics is not the slot, and the Service is not reachable from a CI runner);
    the `prometheus+http://…/?match=SELECTOR` form validators/prometheus.py reads."""
    selector = urlencode({"match": slot_selector(config, slot)})
    return f"prometheus+{config.prometheus_url.rstrip('/')}/?{selector}"


def prometheus_queries(config: KubernetesTargetConfig, slot: str) -> PrometheusQueries:
    """Queries over the pods of `slot` (see `slot_selector`); the pods carry the
    `prometheus.io/*` scrape annotations."""
    pods = slot_selector(config, slot)
    window = config.metrics_window
    total = f"sum(rate(bentoml_service_request_total{{{pods}}}[{window}]))"
    errors = (
        f'sum(rate(bentoml_service_request_total{{{pods},http_response_code=~"5.."}}[{window}]))'
    )
    buckets = f"bentoml_service_request_duration_seconds_bucket{{{pods}}}"
    return PrometheusQueries(
        url=config.prometheus_url,
        request_rate=total,
        error_rate=f"{errors} / {total}",
        latency_p95_ms=f"1000 * histogram_quantile(0.95, sum by (le) (rate({buckets}[{window}])))",
    )


SETTINGS = ("namespace", "context", "ingress_class", "host", "prometheus_url")


def kubernetes_config(inputs: TargetInputs) -> KubernetesTargetConfig:
    """The kubernetes target's config of one spec environment; `image` is required."""
    if not inputs.image:
        raise StackError(
            f"{inputs.field('kubernetes.image')}: needed for a kubernetes target",
            hint="set it to the repository CI pushes the Bento's image to, or pass the "
            "image CI built in $SHIPYARD_IMAGES",
        )
    optional: dict[str, Any] = {k: inputs.settings.get(k) for k in SETTINGS}
    optional.update(cpu=inputs.cpu, memory=inputs.memory)
    return KubernetesTargetConfig(
        spec=inputs.spec,
        environment=inputs.environment,
        image=inputs.image,
        state_dir=inputs.state_dir,
        replicas=inputs.replicas or 1,
        max_body_bytes=inputs.max_body_bytes,
        rollout_weights=inputs.rollout_weights,
        **{k: v for k, v in optional.items() if v is not None},
    )
