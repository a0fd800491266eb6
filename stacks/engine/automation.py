"""Run stack programs through the Pulumi Automation API with project-local defaults.

The embedded default keeps everything under a state folder (normally `.shipyard/pulumi`):
the file backend (`state/`), `PULUMI_HOME` (`home/`), and a generated passphrase file for
stack secrets. `PULUMI_BACKEND_URL` selects any other backend (S3, Pulumi Cloud, ...).
Engine failures become typed `StackError`s.
"""

from __future__ import annotations

import contextlib
import os
import re
import secrets
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from stacks.engine.cli import PulumiInstall, find_pulumi
from stacks.errors import StackError, StackLockedError, StackOperationError
from stacks.target import PreviewSummary

if TYPE_CHECKING:
    from pulumi import automation as auto

OpName = TypeVar("OpName", bound=str)
_SUMMARY_LINE = re.compile(r"^[+~-]\s*\d+ to ")  # "+ 4 to create": the summary, not a step

# Quiet and offline: the engine never checks for updates or fetches plugins here.
ENGINE_ENV = {
    "PULUMI_SKIP_UPDATE_CHECK": "true",
    "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
    "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
}


class EngineSettings:
    """Where a stack's state lives and which engine runs it. The engine is looked for when
    first needed: reading what a target runs (a plan) works without one."""

    def __init__(
        self, state_dir: Path, backend_url: str, install: PulumiInstall | None = None
    ) -> None:
        self.state_dir = state_dir
        self.backend_url = backend_url
        self._install = install

    @property
    def install(self) -> PulumiInstall:
        if self._install is None:
            self._install = find_pulumi()
        return self._install

    @classmethod
    def local(cls, state_dir: Path, install: PulumiInstall | None = None) -> EngineSettings:
        """File backend under `state_dir/state` unless `PULUMI_BACKEND_URL` says otherwise."""
        state_dir = state_dir.resolve()
        url = os.environ.get("PULUMI_BACKEND_URL") or (state_dir / "state").as_uri()
        return cls(state_dir=state_dir, backend_url=url, install=install)

    def env(self) -> dict[str, str]:
        """Environment for every engine process."""
        home = self.state_dir / "home"
        home.mkdir(parents=True, exist_ok=True)
        if self.backend_url.startswith("file://"):
            Path(self.backend_url.removeprefix("file://")).mkdir(parents=True, exist_ok=True)
        python_bin = str(Path(sys.executable).parent)
        env = {
            **ENGINE_ENV,
            "PULUMI_HOME": str(home),
            "PULUMI_BACKEND_URL": self.backend_url,
            "PULUMI_PYTHON_CMD": sys.executable,
            # The launchers beside the CLI run dynamic providers with this project's Python.
            "PATH": os.pathsep.join([str(self.install.bin_dir), python_bin, os.environ["PATH"]]),
        }
        if not ({"PULUMI_CONFIG_PASSPHRASE", "PULUMI_CONFIG_PASSPHRASE_FILE"} & os.environ.keys()):
            env["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(self._passphrase_file())
        return env

    def _passphrase_file(self) -> Path:
        path = self.state_dir / "passphrase"
        ensure_passphrase(path)
        return path


def ensure_passphrase(path: Path) -> None:
    """A generated passphrase in `path` (0600) unless one is there. Processes starting at once
    (two agents) agree on one: it is written whole to a private file first, then linked into
    place, which fails for all but the first; none ever reads a half-written file."""
    if path.exists():
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    draft = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(32))
        # another process that put its own in place first wins: that one holds
        with contextlib.suppress(FileExistsError):
            os.link(draft, path)
    finally:
        draft.unlink(missing_ok=True)


def stack(
    settings: EngineSettings,
    project: str,
    stack_name: str,
    program: Callable[[], None],
) -> auto.Stack:
    """Create or select `project/stack_name` running the inline `program`."""
    from pulumi import automation as auto

    with engine_errors(project, stack_name):
        return auto.create_or_select_stack(
            stack_name=stack_name,
            project_name=project,
            program=program,
            opts=_options(settings, project),
        )


def outputs(settings: EngineSettings, project: str, stack_name: str) -> dict[str, Any]:
    """The stack's outputs, `{}` when it does not exist: reading creates no stack (a plan
    on a pull request must not write to a shared backend)."""
    from pulumi import automation as auto

    opts = _options(settings, project)
    try:
        st = auto.select_stack(stack_name, project, lambda: None, opts=opts)
    except auto.StackNotFoundError:
        return {}
    with engine_errors(project, stack_name):
        return {key: out.value for key, out in st.outputs().items()}


def _options(settings: EngineSettings, project: str) -> auto.LocalWorkspaceOptions:
    from pulumi import automation as auto

    work_dir = settings.state_dir / "projects" / project
    work_dir.mkdir(parents=True, exist_ok=True)
    return auto.LocalWorkspaceOptions(
        work_dir=str(work_dir),
        pulumi_home=str(settings.state_dir / "home"),
        pulumi_command=auto.PulumiCommand(root=str(settings.install.root)),
        env_vars=settings.env(),
        project_settings=auto.ProjectSettings(
            name=project,
            runtime="python",
            backend=auto.ProjectBackend(url=settings.backend_url),
        ),
        secrets_provider="passphrase",
    )


@contextmanager
def engine_errors(project: str, stack_name: str) -> Iterator[None]:
    """Turn Automation-API exceptions into `StackError`s that name the stack."""
    from pulumi import automation as auto

    where = f"{project}/{stack_name}"
    try:
        yield
    except auto.ConcurrentUpdateError as exc:
        raise StackLockedError(
            f"another update holds the lock of stack {where}",
            hint="wait for it to finish; if its process is gone, the next apply clears the lock",
        ) from exc
    except auto.CommandError as exc:
        raise StackOperationError(
            f"pulumi failed on stack {where}: {_engine_message(exc)}",
            hint="fix the cause the engine names and run the command again",
        ) from exc


def _engine_message(exc: Exception) -> str:
    """The engine's own error lines, without the Automation API's framing."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    errors = [line.removeprefix("error:").strip() for line in lines if line.startswith("error:")]
    return "; ".join(dict.fromkeys(errors or lines[-1:]))


def preview(st: auto.Stack, project: str, stack_name: str) -> PreviewSummary:
    """`pulumi preview` of `st`: counts per operation and one line per resource step."""
    with engine_errors(project, stack_name):
        result = st.preview()
    steps = dict.fromkeys(
        line.strip()
        for line in result.stdout.splitlines()
        if line.strip().startswith(("+", "~", "-")) and not _SUMMARY_LINE.match(line.strip())
    )
    return PreviewSummary(change_counts(result.change_summary), list(steps))


def missing_plugin(settings: EngineSettings, name: str) -> str | None:
    """Why the engine cannot run `name`'s resources here (it never downloads a plugin), or
    None when the `pulumi-resource-<name>` plugin is installed or on PATH."""
    plugins = settings.state_dir / "home" / "plugins"
    if any(plugins.glob(f"resource-{name}-v*")) or shutil.which(f"pulumi-resource-{name}"):
        return None
    return (
        f"no pulumi-resource-{name} plugin (install it with `pulumi plugin install resource "
        f"{name}` where the network allows)"
    )


def install_plugin(settings: EngineSettings, name: str, version: str) -> list[str]:
    """Install the `pulumi-resource-<name>` plugin at `version` into the engine's home (needs
    the network); the command run. StackError with the engine's words if it fails."""
    argv = [str(settings.install.executable), "plugin", "install", "resource", name, version]
    done = subprocess.run(
        argv, env={**os.environ, **settings.env()}, capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        said = [line for line in (done.stderr or done.stdout).splitlines() if line.strip()]
        raise StackError(
            f"could not install the {name} plugin v{version}: {' / '.join(said[-2:])}",
            hint="the runner needs network access to the plugin's download site",
        )
    return argv


def change_counts(changes: Mapping[OpName, int] | None) -> dict[str, int]:
    """An engine change summary as plain `{"create": 1, "same": 2}` (keys are `OpType`s)."""
    return {getattr(op, "value", op): count for op, count in (changes or {}).items()}


def recover(st: auto.Stack, settings: EngineSettings) -> list[str]:
    """Clear what an update killed mid-way left behind, so the next update converges:
    a lock whose process is gone (file backends), then pending operations (refresh).
    Returns what was done, for the record."""
    done: list[str] = []
    project, name = st.workspace.project_settings().name, st.name
    for lock in _stale_locks(settings, project, name):
        with engine_errors(project, name):
            st.cancel()
        lock.unlink(missing_ok=True)
        done.append(f"removed the lock left by a killed update ({lock.name})")
    with engine_errors(project, name):
        pending = (st.export_stack().deployment or {}).get("pending_operations") or []
        if pending:
            st.refresh(clear_pending_creates=True)
            done.append(f"cleared {len(pending)} pending operation(s) and refreshed the state")
    return done


def _stale_locks(settings: EngineSettings, project: str, stack_name: str) -> list[Path]:
    """Lock files of `project/stack_name` taken on this host by a process that is gone."""
    import json
    import socket

    if not settings.backend_url.startswith("file://"):
        return []
    root = Path(settings.backend_url.removeprefix("file://")) / ".pulumi" / "locks"
    stale = []
    for lock in root.glob(f"**/{project}/{stack_name}/*.json"):
        try:
            owner = json.loads(lock.read_text())
        except (OSError, ValueError):
            continue
        pid = int(owner.get("pid", 0) or 0)
        if owner.get("hostname", socket.gethostname()) == socket.gethostname() and not _alive(pid):
            stale.append(lock)
    return stale


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # killed but not reaped yet (its parent died too) is gone as well
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return True
    return stat.rsplit(")", 1)[-1].split()[0] not in ("Z", "X")
