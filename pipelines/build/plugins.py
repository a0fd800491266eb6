"""`shipyard plugins [SPEC...]`: install the Pulumi provider plugins the specs' cloud
targets need, at the versions of the pinned Python SDKs (`pulumi-kubernetes`, `pulumi-aws`
in uv.lock), into the engine's home under .shipyard/. The engine never downloads a plugin by
itself; a CI runner with network access runs this before apply (deploy.yml does)."""

from __future__ import annotations

from collections.abc import Callable
from importlib import metadata
from pathlib import Path

from pipelines.core.specs import load_valid
from pipelines.core.workspace import Workspace
from stacks.engine import automation
from validators.spec.model import ModelDeployment

# target -> the Python SDK whose version the plugin must match
SDKS = {"kubernetes": "pulumi-kubernetes", "aws": "pulumi-aws"}


def needed(specs: list[ModelDeployment]) -> dict[str, str]:
    """Plugin name -> version, for every cloud target the specs deploy to."""
    targets = sorted({env.target for spec in specs for env in spec.environments} & SDKS.keys())
    return {target: metadata.version(SDKS[target]) for target in targets}


def install(
    paths: list[Path],
    ws: Workspace,
    say: Callable[[str], None],
    installer: Callable[[automation.EngineSettings, str, str], object] = automation.install_plugin,
) -> dict[str, str]:
    """Install what `needed` names (skipping plugins already there); what was needed."""
    plugins = needed([spec for spec, _ in load_valid(paths, ws.root)])
    settings = automation.EngineSettings.local(ws.state / "pulumi")
    for name, version in plugins.items():
        if automation.missing_plugin(settings, name) is None:
            say(f"pulumi-resource-{name}: already installed")
            continue
        installer(settings, name, version)
        say(f"pulumi-resource-{name}: installed v{version}")
    if not plugins:
        say("no kubernetes or aws environment: no plugin needed")
    return plugins
