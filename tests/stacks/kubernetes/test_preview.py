"""What a plan shows of the kubernetes program's objects, and when a live preview can run."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stacks.engine.mock_preview import Described, Recorded
from stacks.kubernetes.preview import describe, missing_credentials
from tests.fakes.kubernetes_program import STEPS, run

NS = "credit-risk/credit-risk-production"


def test_a_canary_step_shows_each_objects_key_fields() -> None:
    shown = {name: describe(r) for name, r in run(STEPS["canary-10"]).items()}
    assert shown["namespace"] == Described("Namespace", "credit-risk", {})
    assert shown["deployment-canary"] == Described(
        "Deployment",
        f"{NS}-canary",
        {"image": "registry.example.com/credit-risk:bbb222", "replicas": "2", "model": "v4"},
    )
    assert shown["ingress"] == Described("Ingress", NS, {"to": "credit-risk-production-stable"})
    assert shown["ingress-canary"] == Described(
        "Ingress", f"{NS}-canary", {"to": "credit-risk-production-canary", "canary-weight": "10%"}
    )
    assert shown["hpa-stable"] == Described(
        "HorizontalPodAutoscaler", f"{NS}-stable", {"replicas": "2..5"}
    )
    assert shown["service-stable"] == Described("Service", f"{NS}-stable", {"slot": "stable"})
    assert shown["pdb-canary"] == Described(
        "PodDisruptionBudget", f"{NS}-canary", {"max-unavailable": "1"}
    )


def test_providers_are_not_shown_and_other_kinds_show_no_fields() -> None:
    assert [n for n, r in run(STEPS["stable-only"]).items() if describe(r) is None] == [
        "kubernetes",
        "kubernetes-namespace",
    ]
    config_map = Recorded("kubernetes:core/v1:ConfigMap", "cm", {"metadata": {"name": "x"}})
    assert describe(config_map) == Described("ConfigMap", "x", {})
    unnamed = Recorded("kubernetes:core/v1:Secret", "logical", {})
    assert describe(unnamed) == Described("Secret", "logical", {})


@pytest.fixture
def no_cluster(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    monkeypatch.delenv("KUBECONFIG", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def test_without_a_kubeconfig_it_says_where_it_looked(no_cluster: Path) -> None:
    assert missing_credentials() == (
        "no cluster credentials (no kubeconfig: KUBECONFIG or ~/.kube/config)"
    )


def test_a_kubeconfig_on_the_kubeconfig_path_is_enough(
    no_cluster: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = no_cluster / "second"
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(no_cluster / "absent"), ""]))
    assert missing_credentials() is not None
    config.write_text("apiVersion: v1\n")
    monkeypatch.setenv("KUBECONFIG", os.pathsep.join([str(no_cluster / "absent"), str(config)]))
    assert missing_credentials() is None


def test_the_default_kubeconfig_or_a_service_account_is_enough(
    no_cluster: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (no_cluster / ".kube").mkdir()
    (no_cluster / ".kube" / "config").write_text("apiVersion: v1\n")
    assert missing_credentials() is None
    (no_cluster / ".kube" / "config").unlink()
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.0.0.1")
    assert missing_credentials() is None
