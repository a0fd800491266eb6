"""`.ci/deploy-env`: the repository's and the GitHub Environments' variables and secrets turned
into what apply and monitor read, written to $GITHUB_ENV as a job's later steps get them; run
here with `curl` replaced by a stand-in for GitHub's OIDC token endpoint."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

PEM = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEH\n-----END PRIVATE KEY-----"


def run(
    repo: Path, tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, str]]:
    fakes = tmp_path / "bin"
    fakes.mkdir(exist_ok=True)
    curl = fakes / "curl"  # answers as GitHub's token endpoint does, naming what it was asked
    curl.write_text(
        '#!/bin/sh\nfor a in "$@"; do url=$a; done\n'
        'printf \'{"count":1,"value":"jwt-for-%s"}\' "${url##*audience=}"\n'
    )
    curl.chmod(0o755)
    github_env = tmp_path / "github_env"
    github_env.write_text("")
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, str(repo / ".ci" / "deploy-env")],
        env={
            "PATH": f"{fakes}:/usr/bin:/bin",
            "GITHUB_ENV": str(github_env),
            "RUNNER_TEMP": str(tmp_path / "runner"),
            "GITHUB_RUN_ID": "4242",
            **env,
        },
        capture_output=True,
        text=True,
    )
    lines = github_env.read_text().splitlines()
    return result, dict(line.split("=", 1) for line in lines)


def test_nothing_set_keeps_the_embedded_default(repo: Path, tmp_path: Path) -> None:
    result, exported = run(repo, tmp_path, PULUMI_BACKEND="", AWS_ROLE="")
    assert result.returncode == 0, result.stderr
    assert exported == {}
    assert "nothing set" in result.stdout


def test_every_setting_reaches_the_later_steps(repo: Path, tmp_path: Path) -> None:
    result, exported = run(
        repo,
        tmp_path,
        PULUMI_BACKEND="s3://shipyard-state/prod?region=eu-west-1",
        PULUMI_PASSPHRASE="correct horse",
        PULUMI_TOKEN="pul-123",
        SIGNING_KEY_PEM=PEM,
        KUBECONFIG_DATA="apiVersion: v1\nkind: Config\n",
        AWS_ROLE="arn:aws:iam::123456789012:role/shipyard-deploy",
        AWS_REGION_NAME="eu-west-1",
        ACTIONS_ID_TOKEN_REQUEST_URL="https://token.example/?api-version=2.0",
        ACTIONS_ID_TOKEN_REQUEST_TOKEN="request-token",
    )
    assert result.returncode == 0, result.stderr
    assert exported["PULUMI_BACKEND_URL"] == "s3://shipyard-state/prod?region=eu-west-1"
    assert exported["PULUMI_ACCESS_TOKEN"] == "pul-123"
    assert exported["AWS_REGION"] == "eu-west-1"
    assert exported["AWS_ROLE_ARN"] == "arn:aws:iam::123456789012:role/shipyard-deploy"
    assert exported["AWS_ROLE_SESSION_NAME"] == "shipyard-4242"
    files = {
        "PULUMI_CONFIG_PASSPHRASE_FILE": "correct horse",
        "SHIPYARD_SIGNING_KEY": PEM + "\n",
        "KUBECONFIG": "apiVersion: v1\nkind: Config\n\n",
        "AWS_WEB_IDENTITY_TOKEN_FILE": "jwt-for-sts.amazonaws.com",
    }
    for name, content in files.items():
        path = Path(exported[name])
        assert path.read_text() == content, name
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, name  # the runner's user only
    for secret in ("correct horse", "pul-123", "MIGHAgEA", "jwt-for"):
        assert secret not in result.stdout + result.stderr


def test_an_aws_role_without_id_token_permission_is_a_clear_error(
    repo: Path, tmp_path: Path
) -> None:
    result, exported = run(repo, tmp_path, AWS_ROLE="arn:aws:iam::1:role/r")
    assert result.returncode == 2
    assert "give it 'permissions: id-token: write'" in result.stderr
    assert "AWS_ROLE_ARN" not in exported


@pytest.mark.parametrize("name", ["PULUMI_BACKEND", "AWS_ROLE"])
def test_a_value_cannot_smuggle_another_variable_in(repo: Path, tmp_path: Path, name: str) -> None:
    env = {name: "s3://bucket\nLD_PRELOAD=/tmp/evil.so"}
    if name == "AWS_ROLE":
        env |= {
            "ACTIONS_ID_TOKEN_REQUEST_URL": "https://t/?a=1",
            "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "t",
        }
    result, exported = run(repo, tmp_path, **env)
    assert result.returncode == 2
    assert "must be one line" in result.stderr
    assert "LD_PRELOAD" not in exported


def test_the_script_is_executable(repo: Path) -> None:
    assert os.access(repo / ".ci" / "deploy-env", os.X_OK)


def ecr_login(repo: Path, tmp_path: Path, *args: str, **env: str) -> list[str]:
    """Run .ci/ecr-login in a project whose specs name images; the calls `aws` and `docker`
    received, one line each."""
    fakes, calls = tmp_path / "bin", tmp_path / "calls"
    fakes.mkdir(exist_ok=True)
    for tool in ("aws", "docker"):
        (fakes / tool).write_text(f'#!/bin/sh\necho "{tool} $*" >> {calls}\ncat >/dev/null\n')
        (fakes / tool).chmod(0o755)
    (tmp_path / "specs").mkdir(exist_ok=True)
    (tmp_path / "specs" / "a.yaml").write_text(
        "aws: {image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/credit-risk}\n"
    )
    (tmp_path / "specs" / "b.yaml").write_text("kubernetes: {image: ghcr.io/acme/churn}\n")
    bash = shutil.which("bash")
    assert bash is not None
    subprocess.run(
        [bash, str(repo / ".ci" / "ecr-login"), *args],
        cwd=tmp_path,
        env={"PATH": f"{fakes}:/usr/bin:/bin", **env},
        check=True,
        capture_output=True,
        text=True,
    )
    return calls.read_text().splitlines() if calls.exists() else []


def test_docker_logs_in_to_each_ecr_registry_the_specs_name(repo: Path, tmp_path: Path) -> None:
    calls = ecr_login(
        repo,
        tmp_path,
        "210987654321.dkr.ecr.us-east-1.amazonaws.com/shared",
        AWS_ROLE_ARN="arn:aws:iam::123456789012:role/shipyard-deploy",
    )
    assert sorted(calls) == [  # the two sides of each pipe run at once: any order
        "aws ecr get-login-password --region eu-west-1",
        "aws ecr get-login-password --region us-east-1",
        "docker login --username AWS --password-stdin 123456789012.dkr.ecr.eu-west-1.amazonaws.com",
        "docker login --username AWS --password-stdin 210987654321.dkr.ecr.us-east-1.amazonaws.com",
    ]


def test_without_aws_credentials_nothing_is_called(repo: Path, tmp_path: Path) -> None:
    assert ecr_login(repo, tmp_path) == []
