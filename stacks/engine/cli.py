"""Find the Pulumi CLI this project runs, and check it matches the pinned Python SDK.

`$SHIPYARD_PULUMI_ROOT` (a folder holding `bin/pulumi`), when set, is the only place looked at.
Otherwise: the checkout's `.tools/pulumi` (written by `make setup`), then `pulumi` on PATH.
A CLI is compatible when its version is at least the SDK's (the Automation API's own rule).
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from importlib.metadata import version as dist_version
from pathlib import Path

from stacks.errors import EngineNotFoundError

CHECKOUT_TOOLS = Path(__file__).resolve().parents[2] / ".tools" / "pulumi"
SETUP_HINT = "run `make setup` (it builds the Pulumi CLI from Go modules once and caches it)"


@dataclass(frozen=True)
class PulumiInstall:
    """A Pulumi CLI on disk: `bin_dir` holds `pulumi` and the Python launchers."""

    bin_dir: Path
    version: str

    @property
    def root(self) -> Path:
        return self.bin_dir.parent

    @property
    def executable(self) -> Path:
        return self.bin_dir / "pulumi"


def sdk_version() -> str:
    """The installed Pulumi Python SDK version, e.g. `3.259.0`."""
    return dist_version("pulumi")


def _version_tuple(text: str) -> tuple[int, ...]:
    core = text.strip().lstrip("v").split("-")[0].split("+")[0]
    return tuple(int(part) for part in core.split(".") if part.isdigit())


def read_cli_version(executable: Path) -> str | None:
    """`pulumi version` of an executable, or None when it does not run."""
    try:
        out = subprocess.run(
            [str(executable), "version"],
            capture_output=True,
            text=True,
            timeout=30,
            env={**os.environ, "PULUMI_SKIP_UPDATE_CHECK": "true"},
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip().lstrip("v") or None


def _candidates() -> list[Path]:
    env_root = os.environ.get("SHIPYARD_PULUMI_ROOT")
    if env_root:
        return [Path(env_root) / "bin"]
    found = [CHECKOUT_TOOLS / "bin"]
    on_path = shutil.which("pulumi")
    if on_path:
        found.append(Path(on_path).parent)
    return found


def find_pulumi(required: str | None = None) -> PulumiInstall:
    """The first compatible Pulumi CLI, or an `EngineNotFoundError` saying how to get one."""
    required = required or sdk_version()
    seen: list[str] = []
    for bin_dir in _candidates():
        executable = bin_dir / "pulumi"
        if not executable.exists():
            continue
        found = read_cli_version(executable)
        if found and _version_tuple(found) >= _version_tuple(required):
            return PulumiInstall(bin_dir=bin_dir, version=found)
        seen.append(f"{executable} ({'v' + found if found else 'does not run'})")
    detail = f"; found only {', '.join(seen)}" if seen else ""
    where = " in $SHIPYARD_PULUMI_ROOT/bin" if os.environ.get("SHIPYARD_PULUMI_ROOT") else ""
    raise EngineNotFoundError(f"no Pulumi CLI v{required} or newer{where}{detail}", hint=SETUP_HINT)
