"""The agent's deployment files in docs/agent/, checked offline: every document of the
Kubernetes manifest against the API's schemas (strict: no unknown field), the permissions it
grants against what the kubernetes target creates, and the systemd unit with
`systemd-analyze verify`."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import kubernetes_validate  # type: ignore[import-untyped]  # ships no types
import pytest
import yaml

from tests.fakes.kubernetes_program import CONFIG, K8S_VERSION, STEPS, run

AGENT = Path(__file__).resolve().parents[2] / "docs" / "agent"
MANIFEST = AGENT / "kubernetes.yaml"
UNIT = AGENT / "shipyard-agent.service"
WRITE = ["get", "list", "watch", "create", "update", "patch", "delete"]
READ = ["get", "list", "watch"]
# Kinds the Pulumi provider waits on, with what it watches meanwhile (read-only).
WATCHED = {("apps", "replicasets"), ("", "pods"), ("", "endpoints"), ("", "persistentvolumeclaims")}


def documents() -> list[dict[str, Any]]:
    return [doc for doc in yaml.safe_load_all(MANIFEST.read_text(encoding="utf-8")) if doc]


def by_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in documents() if doc["kind"] == kind]


# The newest schemas the package ships, and the version the kubernetes target is tested on.
@pytest.mark.parametrize("version", sorted({kubernetes_validate.latest_version(), K8S_VERSION}))
def test_every_document_validates_strictly(version: str) -> None:
    docs = documents()
    assert [doc["kind"] for doc in docs] == [
        "Namespace",
        "ServiceAccount",
        "Role",
        "RoleBinding",
        "ClusterRole",
        "ClusterRoleBinding",
        "Deployment",
        "Service",
    ]
    for doc in docs:
        kubernetes_validate.validate(doc, version, strict=True)


def test_the_strict_check_catches_a_misspelt_field() -> None:
    (deployment,) = by_kind("Deployment")
    deployment["spec"]["template"]["spec"]["containers"][0]["readOnlyRootFileSystem"] = True
    with pytest.raises(kubernetes_validate.ValidationError, match="'readOnlyRootFileSystem'"):
        kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def _kinds_the_target_creates() -> set[tuple[str, str]]:
    """(API group, kind) of every object of the kubernetes program at any rollout step (the
    type `kubernetes:apps/v1:Deployment`; the core group is `core/v1` there, "" in RBAC)."""
    created = set()
    for step in STEPS.values():
        for resource in run(step).values():
            if resource.type.startswith("kubernetes:"):
                _, group_version, kind = resource.type.split(":")
                group = group_version.rpartition("/")[0]
                created.add(("" if group == "core" else group, kind))
    return created


PLURAL = {
    "Deployment": "deployments",
    "Service": "services",
    "HorizontalPodAutoscaler": "horizontalpodautoscalers",
    "PodDisruptionBudget": "poddisruptionbudgets",
    "Ingress": "ingresses",
    "Namespace": "namespaces",
}


def _grants(rules: list[dict[str, Any]]) -> dict[tuple[str, str], list[str]]:
    return {
        (group, resource): rule["verbs"]
        for rule in rules
        for group in rule["apiGroups"]
        for resource in rule["resources"]
    }


def test_the_role_grants_what_the_kubernetes_target_creates_and_nothing_more() -> None:
    created = {(group, PLURAL[kind]) for group, kind in _kinds_the_target_creates()}
    namespaced = created - {("", "namespaces")}
    (role,) = by_kind("Role")
    grants = _grants(role["rules"])
    assert {key for key, verbs in grants.items() if verbs == WRITE} == namespaced
    assert {key for key, verbs in grants.items() if verbs == READ} == WATCHED
    assert set(grants) == namespaced | WATCHED
    # The namespace is cluster-scoped: created or adopted, never deleted (retain_on_delete).
    assert ("", "namespaces") in created
    (cluster_role,) = by_kind("ClusterRole")
    assert _grants(cluster_role["rules"]) == {
        ("", "namespaces"): ["get", "list", "watch", "create", "update", "patch"]
    }


def test_the_bindings_give_the_roles_to_the_agents_service_account() -> None:
    (account,) = by_kind("ServiceAccount")
    subject = {"kind": "ServiceAccount", **account["metadata"]}
    del subject["labels"]
    for binding_kind, role_kind in (("RoleBinding", "Role"), ("ClusterRoleBinding", "ClusterRole")):
        (binding,) = by_kind(binding_kind)
        (granted,) = by_kind(role_kind)
        assert binding["subjects"] == [subject]
        assert binding["roleRef"] == {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": role_kind,
            "name": granted["metadata"]["name"],
        }
    # In the namespace the target deploys to (by default the spec's name).
    (role,), (role_binding,) = by_kind("Role"), by_kind("RoleBinding")
    namespace = CONFIG.target_namespace
    assert role["metadata"]["namespace"] == role_binding["metadata"]["namespace"] == namespace


def test_the_agent_runs_once_unprivileged_probed_and_reads_secrets_by_reference() -> None:
    (deployment,) = by_kind("Deployment")
    spec = deployment["spec"]
    assert (spec["replicas"], spec["strategy"]) == (1, {"type": "Recreate"})
    pod = spec["template"]["spec"]
    assert pod["serviceAccountName"] == by_kind("ServiceAccount")[0]["metadata"]["name"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["terminationGracePeriodSeconds"] >= 60
    (container,) = pod["containers"]
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    command = container["command"]
    assert command[command.index("--listen") + 1] == "0.0.0.0:8686"
    assert container["ports"] == [{"name": "api", "containerPort": 8686, "protocol": "TCP"}]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["httpGet"] == {"path": "/healthz", "port": "api"}
    assert set(container["resources"]) == {"requests", "limits"}
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]]
    assert "emptyDir" in volumes[mounts["/var/lib/shipyard"]]
    assert command[command.index("-C") + 1] == "/var/lib/shipyard"  # the project: writable
    env = {item["name"]: item for item in container["env"]}
    for name in ("SHIPYARD_STATE_URL", "SHIPYARD_AGENT_TOKEN", "SHIPYARD_NOTIFY_URL"):
        assert set(env[name]) == {"name", "valueFrom"}, f"{name} must come from the Secret"
        assert env[name]["valueFrom"]["secretKeyRef"]["name"] == "shipyard-agent"
    assert by_kind("Secret") == []  # referred to, never written here


def test_the_service_reaches_the_agents_api() -> None:
    (deployment,), (service,) = by_kind("Deployment"), by_kind("Service")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    assert service["spec"]["selector"].items() <= labels.items()
    assert service["spec"]["ports"] == [
        {"name": "api", "port": 8686, "targetPort": "api", "protocol": "TCP"}
    ]


# --- the systemd unit -------------------------------------------------------------------------


def directives(text: str) -> dict[str, list[str]]:
    """`Section.Key` -> its values, in order (continuation lines joined)."""
    found: dict[str, list[str]] = {}
    section = ""
    for line in re.sub(r"\\\n\s*", " ", text).splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        found.setdefault(f"{section}.{key}", []).append(value)
    return found


def test_the_unit_runs_the_agent_as_its_own_user_and_restarts_it() -> None:
    unit = directives(UNIT.read_text(encoding="utf-8"))
    (exec_start,) = unit["Service.ExecStart"]
    assert exec_start.split()[:4] == [
        "/opt/shipyard/.venv/bin/shipyard",
        "-C",
        "/opt/shipyard/checkout",
        "agent",
    ]
    assert "--repo ${SHIPYARD_REPO} --branch main --env production" in exec_start
    assert exec_start.endswith("--interval 30s --listen 127.0.0.1:8686")
    assert unit["Service.EnvironmentFile"] == ["/etc/shipyard/agent.env"]
    assert unit["Service.User"] == ["shipyard"]
    assert (unit["Service.Restart"], unit["Service.RestartSec"]) == (["always"], ["5"])
    assert unit["Service.KillSignal"] == ["SIGTERM"]
    assert int(unit["Service.TimeoutStopSec"][0]) >= 60
    assert unit["Service.SuccessExitStatus"] == ["143"]  # the exit of a clean stop
    assert unit["Service.NoNewPrivileges"] == ["yes"]
    assert unit["Service.ProtectSystem"] == ["full"]
    assert unit["Install.WantedBy"] == ["multi-user.target"]


SYSTEMD_ANALYZE = shutil.which("systemd-analyze")
needs_systemd_analyze = pytest.mark.skipif(
    SYSTEMD_ANALYZE is None, reason="systemd-analyze is not installed on this machine"
)


def verify(tmp_path: Path, *edits: tuple[str, str]) -> subprocess.CompletedProcess[str]:
    """`systemd-analyze verify` of a copy of the unit running /bin/true with the same arguments
    (verify checks that ExecStart's program exists), after `edits` (old, new)."""
    assert SYSTEMD_ANALYZE is not None
    text = UNIT.read_text(encoding="utf-8")
    executable = "ExecStart=/opt/shipyard/.venv/bin/shipyard "
    assert text.count(executable) == 1
    text = text.replace(executable, "ExecStart=/bin/true ")
    for old, new in edits:
        assert old in text
        text = text.replace(old, new)
    copy = tmp_path / UNIT.name
    copy.write_text(text, encoding="utf-8")
    return subprocess.run(
        [SYSTEMD_ANALYZE, "verify", "--man=no", str(copy)],
        capture_output=True,
        text=True,
        timeout=60,
    )


@needs_systemd_analyze
def test_systemd_analyze_verify_finds_nothing(tmp_path: Path) -> None:
    """verify exits 0 on a bad value (it ignores the line), so any output fails the test."""
    result = verify(tmp_path)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@needs_systemd_analyze
def test_systemd_analyze_verify_reports_a_bad_value(tmp_path: Path) -> None:
    """The check above can fail: a misspelt value is reported (on stderr, with status 0)."""
    result = verify(tmp_path, ("Restart=always", "Restart=allways"))
    assert "Failed to parse service restart specifier, ignoring: allways" in result.stderr
