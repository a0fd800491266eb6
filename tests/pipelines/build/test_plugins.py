"""`shipyard plugins`: the provider plugins the specs' cloud targets need, at the pinned SDKs'
versions, installed through the Pulumi CLI into the engine's home (a stand-in `pulumi` here:
installing needs the network)."""

from __future__ import annotations

import shutil
import stat
from importlib import metadata
from pathlib import Path

import pytest

from pipelines.build.plugins import install, needed
from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from stacks.engine import automation
from stacks.engine.cli import PulumiInstall
from stacks.errors import StackError

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "spec" / "repo"


@pytest.fixture
def project(tmp_path: Path) -> Workspace:
    shutil.copytree(FIXTURES, tmp_path, dirs_exist_ok=True)
    return Workspace.at(tmp_path)


def test_each_cloud_target_needs_the_plugin_of_its_pinned_sdk(project: Workspace) -> None:
    full = load_spec(project.root / "specs" / "full.yaml", project.root)  # kubernetes + aws
    minimal = load_spec(project.root / "specs" / "minimal.yaml", project.root)  # local only
    assert needed([full, minimal]) == {
        "aws": metadata.version("pulumi-aws"),
        "kubernetes": metadata.version("pulumi-kubernetes"),
    }
    assert needed([minimal]) == {}


def test_missing_plugins_are_installed_and_present_ones_skipped(project: Workspace) -> None:
    plugins = project.state / "pulumi" / "home" / "plugins"
    (plugins / f"resource-kubernetes-v{metadata.version('pulumi-kubernetes')}").mkdir(parents=True)
    asked: list[tuple[str, str]] = []
    said: list[str] = []
    install([], project, said.append, lambda _settings, name, v: asked.append((name, v)))
    assert asked == [("aws", metadata.version("pulumi-aws"))]
    assert said == [
        f"pulumi-resource-aws: installed v{metadata.version('pulumi-aws')}",
        "pulumi-resource-kubernetes: already installed",
    ]


def fake_pulumi(tmp_path: Path, script: str) -> automation.EngineSettings:
    bin_dir = tmp_path / "pulumi-bin"
    bin_dir.mkdir()
    (bin_dir / "pulumi").write_text("#!/bin/sh\n" + script)
    (bin_dir / "pulumi").chmod(stat.S_IRWXU)
    return automation.EngineSettings.local(tmp_path / "state", PulumiInstall(bin_dir, "3.0.0"))


def test_the_cli_installs_into_the_engines_home(tmp_path: Path) -> None:
    seen = tmp_path / "seen"
    settings = fake_pulumi(tmp_path, f'echo "$PULUMI_HOME $*" > {seen}\n')
    argv = automation.install_plugin(settings, "aws", "7.51.1")
    assert argv[1:] == ["plugin", "install", "resource", "aws", "7.51.1"]
    home = settings.state_dir / "home"
    assert seen.read_text().split() == [str(home), *argv[1:]]


def test_a_failed_download_is_a_clear_error(tmp_path: Path) -> None:
    settings = fake_pulumi(
        tmp_path,
        'echo "Will retry" >&2\necho "error: failed to download plugin: aws" >&2\nexit 1\n',
    )
    with pytest.raises(StackError, match=r"could not install the aws plugin v7\.51\.1: ") as err:
        automation.install_plugin(settings, "aws", "7.51.1")
    assert "failed to download plugin" in err.value.message
    assert "network" in err.value.hint
