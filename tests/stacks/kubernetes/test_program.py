"""The kubernetes program at every rollout step, under Pulumi mocks, against the k8s schemas."""

from __future__ import annotations

import copy
import functools
import json
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no types
import pytest

from stacks.desired import Desired
from stacks.errors import StackError
from stacks.kubernetes.config import KubernetesTargetConfig, prometheus_queries
from stacks.kubernetes.target import KubernetesTarget
from stacks.registry import target_kind
from stacks.target import Release, Slot
from tests.fakes.kubernetes_program import (
    CANARY,
    CANARY_WEIGHT,
    CONFIG,
    K8S_VERSION,
    STEPS,
    V3,
    V4,
    run,
)
from tests.fakes.pulumi_mocks import Recorded, plain

DNS_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")


def manifest(resource: Recorded) -> dict[str, Any]:
    """The object as `kubectl apply` would send it: apiVersion and kind from the type token."""
    _, group_version, kind = resource.type.split(":")
    api_version = group_version.removeprefix("core/")
    inputs = plain(resource.inputs)
    assert (inputs["apiVersion"], inputs["kind"]) == (api_version, kind)
    return {"apiVersion": api_version, "kind": kind, **inputs}


@functools.cache
def validate(body: str) -> str:
    """Strict schema validation (cached: most objects repeat from one step to the next)."""
    return str(kubernetes_validate.validate(json.loads(body), K8S_VERSION, strict=True))


@pytest.mark.parametrize("step", STEPS)
def test_every_object_validates_against_the_kubernetes_schema(step: str) -> None:
    objects = [r for r in run(STEPS[step]).values() if r.type.startswith("kubernetes:")]
    assert objects
    for resource in objects:
        body = manifest(resource)
        assert validate(json.dumps(body, sort_keys=True)) == K8S_VERSION
        metadata = body["metadata"]
        assert DNS_LABEL.match(metadata["name"]), metadata["name"]
        assert all(LABEL_VALUE.match(v) and len(v) <= 63 for v in metadata["labels"].values())


def test_the_schema_check_is_strict() -> None:
    """A key the API does not know (snake_case instead of camelCase) fails validation."""
    body = manifest(run(STEPS["stable-only"])["service-stable"])
    body["spec"]["ports"][0]["target_port"] = body["spec"]["ports"][0].pop("targetPort")
    with pytest.raises(kubernetes_validate.ValidationError, match="'target_port' was unexpected"):
        kubernetes_validate.validate(body, K8S_VERSION, strict=True)


@pytest.mark.parametrize(
    ("step", "slots", "canary_weight"),
    [
        ("stable-only", ["stable"], None),
        ("canary-0", ["stable", "canary"], "0"),
        ("canary-10", ["stable", "canary"], "10"),
        ("canary-50", ["stable", "canary"], "50"),
        ("canary-100", ["stable", "canary"], "100"),
        ("promoted", ["stable"], None),
    ],
)
def test_each_step_has_its_resources_and_canary_weight(
    step: str, slots: list[str], canary_weight: str | None
) -> None:
    resources = run(STEPS[step])
    per_slot = {
        f"{kind}-{slot}" for kind in ("deployment", "service", "hpa", "pdb") for slot in slots
    }
    ingresses = {"ingress", "ingress-canary"} if canary_weight else {"ingress"}
    providers = {"kubernetes", "kubernetes-namespace"}
    assert set(resources) == {*providers, "namespace", *per_slot, *ingresses}
    primary = plain(resources["ingress"].inputs)
    assert CANARY not in primary["metadata"]["annotations"]
    assert _backend(primary) == "credit-risk-production-stable"
    if canary_weight is None:
        return
    canary = plain(resources["ingress-canary"].inputs)
    assert canary["metadata"]["annotations"][CANARY] == "true"
    assert canary["metadata"]["annotations"][CANARY_WEIGHT] == canary_weight
    assert _backend(canary) == "credit-risk-production-canary"
    # ingress-nginx pairs a canary Ingress with the primary by host and path.
    assert canary["spec"]["rules"][0]["host"] == primary["spec"]["rules"][0]["host"]
    assert canary["spec"]["ingressClassName"] == primary["spec"]["ingressClassName"] == "nginx"


def _backend(ingress: dict[str, Any]) -> str:
    (path,) = ingress["spec"]["rules"][0]["http"]["paths"]
    assert (path["path"], path["pathType"]) == ("/", "Prefix")
    assert path["backend"]["service"]["port"] == {"number": 80}
    name: str = path["backend"]["service"]["name"]
    return name


@pytest.mark.parametrize(
    ("step", "expected"),
    [("canary-10", {"stable": V3, "canary": V4}), ("promoted", {"stable": V4})],
)
def test_deployments_run_each_slots_release_with_probes_and_resources(
    step: str, expected: dict[str, dict[str, str]]
) -> None:
    resources = run(STEPS[step])
    for slot, release in expected.items():
        deployment = plain(resources[f"deployment-{slot}"].inputs)
        spec, template = deployment["spec"], deployment["spec"]["template"]
        version = release["bento"].split(":")[1]
        labels = template["metadata"]["labels"]
        assert labels["shipyard.dev/spec"] == "credit-risk"
        assert labels["shipyard.dev/slot"] == slot
        assert labels["app.kubernetes.io/version"] == version
        assert labels["shipyard.dev/model-version"] == release["model"].rsplit("/", 1)[1]
        assert deployment["metadata"]["labels"] == labels
        assert spec["replicas"] == 2
        assert spec["selector"]["matchLabels"].items() <= labels.items()
        assert template["metadata"]["annotations"]["shipyard.dev/model"] == release["model"]
        (container,) = template["spec"]["containers"]
        assert container["image"] == f"registry.example.com/credit-risk:{version}"
        assert container["ports"] == [{"name": "http", "containerPort": 3000}]
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 3000}
        assert container["livenessProbe"]["httpGet"] == {"path": "/livez", "port": 3000}
        assert container["resources"] == {
            "requests": {"cpu": "1", "memory": "2Gi"},
            "limits": {"memory": "2Gi"},
        }
        service = plain(resources[f"service-{slot}"].inputs)
        assert service["spec"]["selector"] == spec["selector"]["matchLabels"]
        assert service["spec"]["ports"] == [{"name": "http", "port": 80, "targetPort": "http"}]


def test_each_slot_scales_with_an_hpa_and_keeps_a_disruption_budget() -> None:
    resources = run(STEPS["canary-50"])
    for slot in ("stable", "canary"):
        hpa = plain(resources[f"hpa-{slot}"].inputs)["spec"]
        assert hpa["scaleTargetRef"] == {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "name": f"credit-risk-production-{slot}",
        }
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
        assert hpa["metrics"][0]["resource"]["name"] == "cpu"
        pdb = plain(resources[f"pdb-{slot}"].inputs)["spec"]
        deployment = plain(resources[f"deployment-{slot}"].inputs)["spec"]
        assert pdb == {"maxUnavailable": 1, "selector": deployment["selector"]}


def test_the_providers_use_the_kubeconfig_context_and_the_namespace_is_adopted() -> None:
    resources = run(STEPS["stable-only"])
    for name in ("kubernetes", "kubernetes-namespace"):
        assert resources[name].type == "pulumi:providers:kubernetes"
        assert resources[name].inputs["context"] == "prod-cluster"
    # Two environments of a spec may share the namespace: the second adopts it.
    assert resources["kubernetes-namespace"].inputs["upsertExistingObjects"] == "true"
    assert "upsertExistingObjects" not in resources["kubernetes"].inputs
    assert resources["namespace"].inputs["metadata"]["name"] == "credit-risk"
    objects = [r.inputs["metadata"] for r in resources.values() if r.type.startswith("kubernetes:")]
    assert {meta.get("namespace", meta["name"]) for meta in objects} == {"credit-risk"}


def test_an_existing_namespace_is_used_not_created() -> None:
    config = KubernetesTargetConfig(
        spec="credit-risk",
        environment="staging",
        image="registry.example.com/credit-risk@sha256:" + "0" * 64,
        state_dir=Path("/nonexistent"),
        namespace="models",
        create_namespace=False,
    )
    resources = run(STEPS["stable-only"], config)
    assert not {"namespace", "kubernetes-namespace"} & set(resources)
    deployment = plain(resources["deployment-stable"].inputs)
    assert deployment["metadata"]["namespace"] == "models"
    assert deployment["spec"]["template"]["spec"]["containers"][0]["image"] == config.image
    assert "host" not in plain(resources["ingress"].inputs)["spec"]["rules"][0]


def test_no_release_means_no_objects() -> None:
    assert set(run(Desired())) == {"kubernetes"}  # the provider alone: nothing in the cluster


def test_prometheus_queries_read_one_slots_pods() -> None:
    queries = prometheus_queries(CONFIG, "canary")
    assert queries.url == "http://prometheus-server.monitoring.svc"
    pods = 'namespace="credit-risk",pod=~"credit-risk-production-canary-.+"'
    assert queries.request_rate == f"sum(rate(bentoml_service_request_total{{{pods}}}[1m]))"
    assert 'http_response_code=~"5.."' in queries.error_rate
    assert queries.error_rate.endswith(f"/ {queries.request_rate}")
    assert "bentoml_service_request_duration_seconds_bucket" in queries.latency_p95_ms
    assert queries.latency_p95_ms.startswith("1000 * histogram_quantile(0.95,")


def test_config_rejects_names_kubernetes_refuses() -> None:
    with pytest.raises(StackError, match="over 63 characters"):
        KubernetesTargetConfig("s" * 50, "production", "img", Path("/nonexistent"))
    with pytest.raises(StackError, match="replicas must be >= 1 and <= max_replicas"):
        KubernetesTargetConfig("s", "p", "img", Path("/nonexistent"), replicas=4, max_replicas=2)


# --- the target, with the engine replaced by the mocks ---------------------------------------


class MockedKubernetesTarget(KubernetesTarget):
    """Each `pulumi up` runs the program under mocks; the stack outputs are what it ran with."""

    def __init__(self, config: KubernetesTargetConfig) -> None:
        super().__init__(config)
        self.ups: list[dict[str, Recorded]] = []
        self.ran_with = Desired()

    def _outputs(self) -> dict[str, Any]:
        return {"desired": copy.deepcopy(asdict(self.ran_with)), "endpoint": "http://x"}

    def _apply(self, desired: Desired, refresh: bool = False) -> None:
        self.ups.append(run(desired, self.config))
        self.ran_with = copy.deepcopy(desired)


def _canary_weight(resources: dict[str, Recorded]) -> str | None:
    if "ingress-canary" not in resources:
        return None
    return str(resources["ingress-canary"].inputs["metadata"]["annotations"][CANARY_WEIGHT])


def test_a_canary_rollout_through_the_target() -> None:
    target = MockedKubernetesTarget(CONFIG)
    target.deploy(Slot.STABLE, Release(V3["bento"], V3["model"]))
    target.deploy(Slot.CANARY, Release(V4["bento"], V4["model"]))
    for weight in (10, 50):
        target.set_weights({Slot.STABLE: 100 - weight, Slot.CANARY: weight})
    promoted = target.promote()
    assert [_canary_weight(up) for up in target.ups] == [
        None, "0", "10", "50", "100", "100", "0", None,
    ]  # fmt: skip
    images = [
        plain(up["deployment-stable"].inputs)["spec"]["template"]["spec"]["containers"][0]["image"]
        for up in target.ups
    ]
    assert images[:5] == ["registry.example.com/credit-risk:aaa111"] * 5
    assert images[5:] == ["registry.example.com/credit-risk:bbb222"] * 3
    assert promoted.release == Release(V4["bento"], V4["model"])
    assert promoted.weight == 100
    assert promoted.url == "http://credit-risk-production-stable.credit-risk.svc.cluster.local:80"
    assert set(target.state().slots) == {Slot.STABLE}


def test_the_target_refuses_unsafe_traffic_changes() -> None:
    target = MockedKubernetesTarget(CONFIG)
    target.deploy(Slot.STABLE, Release(V3["bento"], V3["model"]))
    with pytest.raises(StackError, match="cannot send traffic to canary: no release runs there"):
        target.set_weights({Slot.STABLE: 50, Slot.CANARY: 50})
    with pytest.raises(StackError, match="stable still has 100% of traffic"):
        target.teardown(Slot.STABLE)
    with pytest.raises(StackError, match="nothing to promote"):
        target.promote()
    with pytest.raises(StackError, match="must be >= 0 and sum to 100"):
        target.set_weights({Slot.STABLE: 90})
    assert len(target.ups) == 1


def test_the_target_registers_as_kubernetes() -> None:
    assert target_kind("kubernetes").factory is KubernetesTarget
    assert MockedKubernetesTarget(CONFIG).metrics_source(Slot.STABLE).url == CONFIG.prometheus_url
