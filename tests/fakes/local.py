"""Shared by tests/stacks/local/test_target_integration.py, test_nginx_integration.py and
tests/pipelines/monitor/test_engine_integration.py (loaded there as a pytest plugin):
two Bentos of the demo whose releases differ, a local target in an environment of its own
that is always destroyed afterwards and checked to have left nothing behind, and probes of
what really runs on the host (processes, listening sockets, supervisord, the Pulumi CLI)."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import signal
import subprocess
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pipelines.build.bento import build_bento
from pipelines.core.specs import load_spec
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult
from stacks.engine import automation
from stacks.errors import StackError
from stacks.local import nginx
from stacks.local import supervisor as sv
from stacks.local.config import LocalTargetConfig
from stacks.local.program import program
from stacks.local.target import LocalTarget
from stacks.target import Release, Slot

Demo = tuple[Workspace, InitResult]
Row = dict[str, Any]
SPEC = "credit-risk"
MODELS = {"a": "1", "b": "4"}  # the demo's good model and the one trained on drifted data
# BentoML sheds a request (503 "process is overloaded") once its batch would finish later than
# max_latency_ms; these tests are about routing, so their Bentos get a budget that a busy
# shared 2-core host does not miss (whatever the demo spec says).
LATENCY_BUDGET_MS = 1000
PROBE_TIMEOUT = 30.0
JSON = {"Content-Type": "application/json"}


@dataclass(frozen=True)
class Releases:
    """Bento A (model version 1) and Bento B (model version 4), and one valid request."""

    a: Release
    b: Release
    api: str
    row: Row

    @property
    def body(self) -> str:
        return json.dumps({"rows": [self.row]})


@dataclass(frozen=True)
class LocalEnv:
    """A local target in an environment of its own, and the spec file that declares it."""

    target: LocalTarget
    spec_file: Path
    ws: Workspace

    @property
    def config(self) -> LocalTargetConfig:
        return self.target.config

    @property
    def name(self) -> str:
        return self.config.environment

    @property
    def config_dir(self) -> str:
        return str(self.config.base_dir / "supervisor")

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.config.listen_port}"

    def url(self, slot: Slot) -> str:
        return f"http://127.0.0.1:{self.config.slot_port(slot.value)}"

    def upstream(self, slot: Slot) -> str:
        """The value of nginx's X-Shipyard-Upstream header for requests sent to `slot`."""
        return f"127.0.0.1:{self.config.slot_port(slot.value)}"

    @property
    def stack_name(self) -> str:
        """The fully qualified name `pulumi stack ls` shows (file backends: `organization`)."""
        return f"organization/{self.config.project}/{self.config.stack}"

    def stack(self) -> Any:
        """The environment's stack running the program of the target's desired state."""
        config, target = self.config, self.target
        return automation.stack(
            target.settings,
            config.project,
            config.stack,
            lambda: program(config, target.desired()),
        )


# --- the two releases ----------------------------------------------------------------------


def _spec_text(ws: Workspace, version: str) -> str:
    text = (ws.root / "specs" / f"{SPEC}.yaml").read_text(encoding="utf-8")
    assert f"models:/{SPEC}/1" in text
    text = text.replace(f"models:/{SPEC}/1", f"models:/{SPEC}/{version}", 1)
    text, budgets = re.subn(r"max_latency_ms: \d+", f"max_latency_ms: {LATENCY_BUDGET_MS}", text)
    assert budgets == 1, "the spec sets batching.max_latency_ms"
    return text


def _write_variant(ws: Workspace, name: str, text: str) -> Path:
    path = ws.root / "variants" / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def _holdout_row(ws: Workspace, columns: list[dict[str, Any]]) -> Row:
    with (ws.root / "data" / "credit" / "holdout.csv").open(encoding="utf-8") as handle:
        first = next(csv.DictReader(handle))
    convert = {"long": int, "integer": int, "double": float, "float": float}
    return {c["name"]: convert.get(c["type"], str)(first[c["name"]]) for c in columns}


@pytest.fixture(scope="session")
def releases(demo: Demo) -> Releases:
    ws, _ = demo
    built = {}
    for key, version in MODELS.items():
        spec_file = _write_variant(ws, f"local-{key}", _spec_text(ws, version))
        built[key] = build_bento(load_spec(spec_file, ws.root), spec_file, ws, say=lambda _: None)
    a, b = built["a"], built["b"]
    assert a.tag != b.tag
    config = json.loads((a.path / "src" / "shipyard.json").read_text(encoding="utf-8"))
    return Releases(
        a=Release(a.tag, f"models:/{SPEC}/{MODELS['a']}"),
        b=Release(b.tag, f"models:/{SPEC}/{MODELS['b']}"),
        api=str(config["api"]),
        row=_holdout_row(ws, a.columns),
    )


# --- a target in an environment of its own -------------------------------------------------


def _ports(config: LocalTargetConfig) -> list[int]:
    return [config.listen_port, *(config.slot_port(s.value) for s in Slot)]


def _unused_environment(ws: Workspace, prefix: str) -> str:
    """A new environment name whose derived ports nothing listens on (other tests' servers
    may run on this host at the same time)."""
    for _ in range(50):
        name = f"{prefix}-{uuid.uuid4().hex[:8]}"
        config = LocalTargetConfig(SPEC, name, ws.state, ws.bentoml_home)
        if not listening(_ports(config)):
            return name
    raise AssertionError("no environment name with free ports found")


def _write_spec(ws: Workspace, env_name: str) -> Path:
    """The spec (model A) with one more environment, `env_name`, on the local target."""
    data = yaml.safe_load(_spec_text(ws, MODELS["a"]))
    data["environments"].append({"name": env_name, "target": "local"})
    return _write_variant(ws, env_name, yaml.safe_dump(data, sort_keys=False))


@contextmanager
def local_env(ws: Workspace, prefix: str) -> Iterator[LocalEnv]:
    """A target the way `shipyard` makes it (`target_for` on a spec file), destroyed on the way
    out whatever happened, and then checked to have left nothing behind."""
    name = _unused_environment(ws, prefix)
    spec_file = _write_spec(ws, name)
    target = target_for(load_spec(spec_file, ws.root), name, ws)
    assert isinstance(target, LocalTarget)
    env = LocalEnv(target, spec_file, ws)
    try:
        yield env
    finally:
        destroy_and_check(env)


def keep_logs(env: LocalEnv) -> None:
    """Copy the environment's logs (servers, supervisord, nginx) into the project, where they
    outlive a destroy, for a failed test to be looked into."""
    kept = env.ws.root / "logs" / env.name
    base = env.config.base_dir
    for logs in (base / "supervisor" / "logs", base / "supervisor" / "supervisord.log"):
        if logs.is_dir():
            shutil.copytree(logs, kept / "programs", dirs_exist_ok=True)
        elif logs.is_file():
            kept.mkdir(parents=True, exist_ok=True)
            shutil.copy(logs, kept / logs.name)


def destroy_and_check(env: LocalEnv) -> None:
    """Destroy the environment; nothing of it may be left afterwards."""
    keep_logs(env)
    failed = ""
    try:
        env.target.destroy()
    except StackError as exc:
        failed = f"destroy failed: {exc}"
    left = leftovers(env)
    if left:  # do not leave servers running for the rest of the session
        _force_cleanup(env)
    assert not failed, failed
    assert not left, f"left behind by {env.name}: {left}"


def _force_cleanup(env: LocalEnv) -> None:
    sv.shutdown(env.config_dir, timeout=30)
    for pid in processes_mentioning(str(env.config.base_dir)):
        with suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


# --- what runs on the host -----------------------------------------------------------------


def processes_mentioning(text: str) -> list[int]:
    """Live processes whose command line or environment contains `text` (not this one)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] in ("Z", "X"):
                continue
            seen = (entry / "cmdline").read_bytes() + (entry / "environ").read_bytes()
        except OSError:  # exited meanwhile, or not ours to read
            continue
        if text.encode() in seen:
            found.append(int(entry.name))
    return found


def _processes() -> dict[int, tuple[str, int, int]]:
    """Live processes: pid -> (state, parent pid, process group)."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # exited meanwhile
            continue
        if fields[0] not in ("Z", "X"):
            found[int(entry.name)] = (fields[0], int(fields[1]), int(fields[2]))
    return found


def alive(pids: list[int]) -> list[int]:
    """Those of `pids` that still run (a zombie does not)."""
    running = _processes()
    return [pid for pid in pids if pid in running]


def descendants(pid: int) -> list[int]:
    """Live processes started by `pid`, by its children, and so on."""
    children: dict[int, list[int]] = {}
    for child, (_, parent, _) in _processes().items():
        children.setdefault(parent, []).append(child)
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return sorted(found)


def listening(ports: list[int]) -> list[int]:
    """Those of `ports` a TCP socket listens on (any address), from /proc/net/tcp{,6}."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            fields = line.split()
            port = int(fields[1].rsplit(":", 1)[1], 16)
            if fields[3] == "0A" and port in ports:  # 0A: LISTEN
                found.add(port)
    return sorted(found)


def pulumi(env: LocalEnv, *args: str) -> str:
    """Run the Pulumi CLI the project runs, on the environment's backend; its stdout."""
    settings = env.target.settings
    result = subprocess.run(
        [str(settings.install.executable), *args, "--non-interactive"],
        env={**os.environ, **settings.env()},
        cwd=settings.state_dir,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"pulumi {' '.join(args)}: {result.stderr}"
    return result.stdout


def stack_names(env: LocalEnv) -> list[str]:
    return [s["name"] for s in json.loads(pulumi(env, "stack", "ls", "--all", "--json"))]


def exported_resources(env: LocalEnv) -> list[dict[str, Any]]:
    state = json.loads(pulumi(env, "stack", "export", "--stack", env.stack_name))
    resources: list[dict[str, Any]] = state["deployment"]["resources"]
    return resources


def leftovers(env: LocalEnv) -> list[str]:
    """Everything of the environment still on the host or in the backend."""
    config = env.config
    left = [f"process {pid}" for pid in processes_mentioning(str(config.base_dir))]
    left += [f"a socket listens on {port}" for port in listening(_ports(config))]
    if config.base_dir.exists():
        left += [f"file {p}" for p in sorted(config.base_dir.rglob("*")) if p.is_file()]
    if Path(sv.socket_path(env.config_dir)).exists():
        left.append(f"supervisord socket {sv.socket_path(env.config_dir)}")
    if env.stack_name in stack_names(env):
        left.append(f"stack {env.stack_name}")
    return left


def program_info(env: LocalEnv, name: str) -> dict[str, Any] | None:
    """supervisord's view of program `name` (None when it has no such program)."""
    return sv.process_info(env.config_dir, name)


def ready(url: str, timeout: float = PROBE_TIMEOUT) -> bool:
    """Whether GET `url`/readyz turns 200 within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return True
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    return False


def predict(url: str, releases: Releases) -> float:
    response = httpx.post(
        f"{url}/{releases.api}", content=releases.body, headers=JSON, timeout=PROBE_TIMEOUT
    )
    assert response.status_code == 200, response.text
    values = response.json()
    assert isinstance(values, list)
    return float(values[0])


def upstream_counts(env: LocalEnv, releases: Releases, requests: int) -> Counter[str]:
    """How many of `requests` predictions nginx sent to each slot (by X-Shipyard-Upstream)."""
    counts: Counter[str] = Counter()
    with httpx.Client(base_url=env.endpoint, headers=JSON, timeout=PROBE_TIMEOUT) as client:
        for _ in range(requests):
            response = client.post(f"/{releases.api}", content=releases.body)
            assert response.status_code == 200, response.text
            counts[response.headers[nginx.UPSTREAM_HEADER]] += 1
    return counts
