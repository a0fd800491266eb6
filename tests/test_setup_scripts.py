"""The setup scripts fail with a message that says what to install."""

from __future__ import annotations

import subprocess
from pathlib import Path


def test_pulumi_build_without_go_says_what_to_install(repo: Path, tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(repo / ".ci" / "build-pulumi"), "3.259.0", str(tmp_path / "bin")],
        env={"PATH": "/usr/bin:/bin", "HOME": str(tmp_path), "SHIPYARD_CACHE": str(tmp_path)},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 3
    assert "no 'pulumi' v3.259.0 on PATH and no Go toolchain to build it" in result.stderr
    assert "Install Go 1.25 or newer" in result.stderr


def test_launchers_run_python_modules_from_the_chosen_interpreter(
    repo: Path, tmp_path: Path
) -> None:
    fake_python = tmp_path / "python"
    fake_python.write_text('#!/bin/sh\necho "$@"\n')
    fake_python.chmod(0o755)
    launchers = repo / ".ci" / "pulumi-launchers"
    env = {"PATH": "/usr/bin:/bin", "PULUMI_PYTHON_CMD": str(fake_python)}
    dynamic = subprocess.run(
        [str(launchers / "pulumi-resource-pulumi-python"), "127.0.0.1:1234"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert dynamic.stdout.split()[:2] == ["-u", "-c"]
    assert 'runpy.run_module("pulumi.dynamic", run_name="__main__"' in dynamic.stdout
    assert dynamic.stdout.split()[-1] == "127.0.0.1:1234"
    policy = subprocess.run(
        [str(launchers / "pulumi-analyzer-policy-python"), "127.0.0.1:1", "/packs/p"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert policy.stdout.split() == ["-u", "-m", "pulumi.policy", "127.0.0.1:1", "/packs/p"]

    venv = tmp_path / "venv"
    (venv / "bin").mkdir(parents=True)
    (venv / "bin" / "python").symlink_to(fake_python)
    in_venv = subprocess.run(
        [str(launchers / "pulumi-analyzer-policy-python"), "a", "b", f"-virtualenv={venv}"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=True,
    )
    assert in_venv.stdout.split() == ["-u", "-m", "pulumi.policy", "a", "b"]
    missing = subprocess.run(
        [str(launchers / "pulumi-resource-pulumi-python")],
        env={"PATH": "/usr/bin:/bin", "PULUMI_RUNTIME_VIRTUALENV": str(tmp_path / "none")},
        capture_output=True,
        text=True,
    )
    assert missing.returncode == 1
    assert "is not a virtualenv" in missing.stderr
