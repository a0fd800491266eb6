"""The kubernetes program at every rollout step: each object's labels, annotations, probes,
replicas and resources pinned in full (the program under Pulumi mocks)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fakes.kubernetes_program import CANARY, CANARY_WEIGHT, CONFIG, STEPS, run
from tests.fakes.pulumi_mocks import plain


def _labels(slot: str, release: dict[str, str]) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": "credit-risk",
        "app.kubernetes.io/instance": "credit-risk-production",
        "app.kubernetes.io/version": release["bento"].split(":")[1],
        "shipyard.dev/spec": "credit-risk",
        "shipyard.dev/environment": "production",
        "shipyard.dev/slot": slot,
        "shipyard.dev/model-version": release["model"].rsplit("/", 1)[1],
    }


def _probe(path: str, period: int, failures: int) -> dict[str, Any]:
    return {
        "httpGet": {"path": path, "port": 3000},
        "periodSeconds": period,
        "failureThreshold": failures,
        "timeoutSeconds": 2,
    }


@pytest.mark.parametrize("step", STEPS)
def test_every_step_pins_labels_probes_replicas_and_resources(step: str) -> None:
    resources = run(STEPS[step])
    for slot, release in STEPS[step].slots.items():
        labels = _labels(slot, release)
        name = f"credit-risk-production-{slot}"
        for kind in ("deployment", "service", "hpa", "pdb"):
            metadata = plain(resources[f"{kind}-{slot}"].inputs)["metadata"]
            assert metadata == {"name": name, "namespace": "credit-risk", "labels": labels}
        spec = plain(resources[f"deployment-{slot}"].inputs)["spec"]
        assert spec["replicas"] == 2
        # The selector never carries the versions: it is immutable once the Deployment exists.
        assert spec["selector"] == {
            "matchLabels": {
                "shipyard.dev/spec": "credit-risk",
                "shipyard.dev/environment": "production",
                "shipyard.dev/slot": slot,
            }
        }
        assert spec["strategy"] == {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0},
        }
        assert spec["template"]["metadata"] == {
            "labels": labels,
            "annotations": {
                "prometheus.io/scrape": "true",
                "prometheus.io/port": "3000",
                "prometheus.io/path": "/metrics",
                "shipyard.dev/bento": release["bento"],
                "shipyard.dev/model": release["model"],
            },
        }
        (container,) = spec["template"]["spec"]["containers"]
        assert container == {
            "name": "bento",
            "image": f"registry.example.com/credit-risk:{release['bento'].split(':')[1]}",
            "ports": [{"name": "http", "containerPort": 3000}],
            "env": [
                {"name": "SHIPYARD_SPEC", "value": "credit-risk"},
                {"name": "SHIPYARD_SLOT", "value": slot},
                {"name": "BENTOML_DO_NOT_TRACK", "value": "true"},
            ],
            "resources": {"requests": {"cpu": "1", "memory": "2Gi"}, "limits": {"memory": "2Gi"}},
            "startupProbe": _probe("/livez", period=5, failures=60),
            "livenessProbe": _probe("/livez", period=10, failures=3),
            "readinessProbe": _probe("/readyz", period=5, failures=3),
        }
        hpa = plain(resources[f"hpa-{slot}"].inputs)["spec"]
        assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 5)
        assert hpa["metrics"] == [
            {
                "type": "Resource",
                "resource": {
                    "name": "cpu",
                    "target": {"type": "Utilization", "averageUtilization": 70},
                },
            }
        ]


@pytest.mark.parametrize("step", STEPS)
def test_every_step_pins_the_ingress_labels_and_annotations(step: str) -> None:
    resources = run(STEPS[step])
    common = {
        "app.kubernetes.io/name": "credit-risk",
        "app.kubernetes.io/instance": "credit-risk-production",
        "shipyard.dev/spec": "credit-risk",
        "shipyard.dev/environment": "production",
    }
    body = {"nginx.ingress.kubernetes.io/proxy-body-size": str(CONFIG.max_body_bytes)}
    primary = plain(resources["ingress"].inputs)["metadata"]
    assert primary == {
        "name": "credit-risk-production",
        "namespace": "credit-risk",
        "labels": common,
        "annotations": body,
    }
    namespace = plain(resources["namespace"].inputs)["metadata"]
    assert namespace == {"name": "credit-risk", "labels": {"app.kubernetes.io/part-of": "shipyard"}}
    weight = STEPS[step].weights.get("canary")
    if "canary" not in STEPS[step].slots:
        assert "ingress-canary" not in resources
        return
    canary = plain(resources["ingress-canary"].inputs)["metadata"]
    assert canary == {
        "name": "credit-risk-production-canary",
        "namespace": "credit-risk",
        "labels": common,
        "annotations": body | {CANARY: "true", CANARY_WEIGHT: str(weight)},
    }
