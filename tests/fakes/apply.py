"""Shared by tests/pipelines/release/test_apply_integration.py, test_apply_crash.py and
tests/pipelines/test_gitops_e2e.py (loaded there as a pytest plugin): a project of their own
after `shipyard init`, spec variants with short rollouts under spec names of their own (so their
stacks and ports are theirs alone), the `shipyard` CLI, and probes of what really serves on the
host. Every environment a test deploys is destroyed afterwards and checked to have left no
process behind."""

from __future__ import annotations

import shutil
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.audit.ledger import LedgerEntry, ledger_of
from pipelines.build.bento import build_bento
from pipelines.core.specs import load_spec
from pipelines.core.targets import target_for
from pipelines.core.workspace import Workspace
from pipelines.demo.init import init_workspace
from pipelines.release.context import ApplyOptions
from pipelines.release.outcome import SpecOutcome
from pipelines.release.project import apply_paths
from pipelines.release.serving import sample_rows
from stacks.errors import StackError
from stacks.local.target import LocalTarget
from stacks.reach.http import HttpClient, post_json
from stacks.target import Release, Slot
from tests.fakes.local import listening
from validators.sources.registry import Registry
from validators.spec.resolved import with_defaults

REPO = Path(__file__).resolve().parents[2]
SHIPYARD = Path(sys.executable).with_name("shipyard")
MODEL = "credit-risk"  # the registered model every demo version belongs to
PROC = Path("/proc")
# These tests are about apply's decisions, not the host's speed: while other suites run, the
# shared 2-core host answers at a p95 of 80-250 ms, so the latency gate gets a limit no healthy
# server misses (test_serving covers that gate) and BentoML's batching a budget under which it
# does not shed requests (503 "overloaded"), which would read as canary errors.
LATENCY_P95_MS = 2000
MAX_LATENCY_MS = 2000
CLI_TIMEOUT = 900.0


@dataclass(frozen=True)
class Project:
    """A project after `shipyard init`: the demo's data and models, no spec of the demo."""

    ws: Workspace
    versions: dict[str, str]  # demo variant (good, biased, faulty, ...) -> registered version


@dataclass(frozen=True)
class Rollout:
    """The production canary of a spec variant, short enough for tests."""

    weight: int
    pause: str
    interval: str
    failure_limit: int = 1
    min_requests: int = 30


@pytest.fixture(scope="session")
def apply_project(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Project]:
    """A fresh project of its own (so its ledger, aliases and status are the tests' alone);
    afterwards nothing may run that mentions it."""
    root = tmp_path_factory.mktemp("apply-project")
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    suite = "validators/suites/credit.yaml"
    (root / suite).parent.mkdir(parents=True)
    shutil.copy(REPO / suite, root / suite)
    (root / "specs").mkdir()
    ws = Workspace.at(root)
    init = init_workspace(ws, say=lambda _: None)
    yield Project(ws, init.versions)
    left = settled(lambda: processes_mentioning(str(ws.root)))
    assert not left, f"processes still mention {ws.root}: {left}"


def write_spec(
    ws: Workspace,
    relative: str,
    name: str,
    version: str,
    rollout: Rollout,
    *,
    workers: int = 1,
    max_batch_size: int = 64,
    environments: tuple[str, ...] = ("staging", "production"),
    approvals: bool = True,
) -> Path:
    """The demo spec under another name, serving model `version`, with a short canary and a
    light staging load test; `workers` and `max_batch_size` make different Bentos of one
    model."""
    data: dict[str, Any] = yaml.safe_load(
        (REPO / "specs" / f"{MODEL}.yaml").read_text(encoding="utf-8")
    )
    data["metadata"]["name"] = name
    data["model"]["uri"] = f"models:/{MODEL}/{version}"
    data["service"] = {
        "batching": {"max_batch_size": max_batch_size, "max_latency_ms": MAX_LATENCY_MS},
        "workers": workers,
    }
    data["gates"]["serving"].update(
        latency_p95_ms=LATENCY_P95_MS, load={"rps": 20, "duration": "4s"}
    )
    by_name = {env["name"]: env for env in data["environments"]}
    production = by_name["production"]
    production["rollout"] = {
        "steps": [{"weight": rollout.weight}, {"pause": rollout.pause}, {"weight": 100}],
        "analysis": {
            "interval": rollout.interval,
            "failure_limit": rollout.failure_limit,
            "min_requests": rollout.min_requests,
        },
    }
    if not approvals:
        del production["approvals"]
    data["environments"] = [by_name[env] for env in environments]
    path = ws.root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def build(ws: Workspace, spec_file: Path) -> Release:
    """Build the spec's Bento now (apply then reuses it); the release it makes."""
    spec = load_spec(spec_file, ws.root)
    built = build_bento(spec, spec_file, ws, say=lambda _: None)
    return Release(built.tag, spec.model.uri)


def register_copy(ws: Workspace, version: str) -> str:
    """A new registered version of the same model files (a new Bento of the same model)."""
    return Registry(ws.mlflow_uri).register_copy(MODEL, version)


def alias(ws: Workspace, name: str) -> str | None:
    found = Registry(ws.mlflow_uri).alias(MODEL, name)
    return found.version if found else None


# --- apply, in this process and through the CLI --------------------------------------------


def apply(ws: Workspace, spec_file: Path, **options: Any) -> tuple[SpecOutcome, int, list[str]]:
    """`apply_paths` (what `shipyard apply` runs): the outcome, exit code and printed lines."""
    said: list[str] = []
    result = apply_paths([spec_file], ws.root, ApplyOptions(**options), said.append)
    assert len(result.specs) == 1
    return result.specs[0], result.exit_code, said


def shipyard(
    ws: Workspace, *args: str, timeout: float = CLI_TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """Run the `shipyard` CLI in the project (paths relative to its root)."""
    return subprocess.run(
        [str(SHIPYARD), "-C", str(ws.root), *args],
        cwd=ws.root,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def ledger_verified(ws: Workspace) -> subprocess.CompletedProcess[str]:
    return shipyard(ws, "ledger", "verify", timeout=60)


def last_seq(ws: Workspace) -> int:
    seq = 0
    for entry in ledger_of(ws).entries():
        seq = entry.seq
    return seq


def entries_since(ws: Workspace, spec: str, seq: int) -> list[LedgerEntry]:
    """The spec's ledger entries after sequence number `seq`."""
    return [e for e in ledger_of(ws).entries() if e.spec == spec and e.seq > seq]


def kinds(entries: list[LedgerEntry], *envs: str | None) -> Counter[str]:
    """How many entries of each kind, of the environments `envs` (None: of none) if given."""
    return Counter(e.kind for e in entries if not envs or e.env in envs)


# --- what serves on the host ---------------------------------------------------------------


def _live(entry: Path) -> bool:
    try:
        return (entry / "stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def processes_mentioning(text: str) -> list[str]:
    """Live processes (not this one) whose command line or environment contains `text`, as
    `pid: command`."""
    import os

    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid() or not _live(entry):
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
            seen = cmdline + (entry / "environ").read_bytes()
        except OSError:  # exited meanwhile, or not ours to read
            continue
        if text.encode() in seen:
            command = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
            found.append(f"{entry.name}: {command[:200]}")
    return found


def settled(probe: Any, timeout: float = 15.0) -> list[str]:
    """`probe()` once it is empty, or what it still finds after `timeout` seconds (processes
    being stopped take a moment to exit)."""
    deadline = time.monotonic() + timeout
    while (found := probe()) and time.monotonic() < deadline:
        time.sleep(0.5)
    return list(found)


def served_bentos(port: int) -> set[str]:
    """The Bentos the `bentoml serve` processes on `port` run (from their command lines)."""
    tags = set()
    for entry in PROC.iterdir():
        if not entry.name.isdigit() or not _live(entry):
            continue
        try:
            args = (entry / "cmdline").read_bytes().decode(errors="replace").split("\0")
        except OSError:
            continue
        if "serve" in args and "--port" in args:
            at = args.index("--port") + 1
            if at < len(args) and args[at] == str(port):
                tags.add(args[args.index("serve") + 1])
    return tags


@dataclass(frozen=True)
class Stack:
    """One environment of a spec on the local target, as apply makes it."""

    target: LocalTarget
    api: str
    rows: list[dict[str, Any]]

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.target.config.listen_port}"

    @property
    def ports(self) -> list[int]:
        return [self.target.config.listen_port, *(self.slot_port(s) for s in Slot)]

    def slot_port(self, slot: Slot) -> int:
        return self.target.config.slot_port(slot.value)

    def stable(self) -> Release | None:
        slot = self.target.state().slots.get(Slot.STABLE)
        return slot.release if slot else None

    def slots(self) -> set[Slot]:
        return set(self.target.state().slots)

    def serving(self, slot: Slot) -> set[str]:
        """The Bentos whose servers listen on `slot`'s port."""
        return served_bentos(self.slot_port(slot))

    def predict(self, index: int = 0, timeout: float = 10.0) -> int:
        """POST one evaluation row through the environment's endpoint; the HTTP status."""
        status, _ = post_json(
            f"{self.endpoint}/{self.api}", {"rows": [self.rows[index % len(self.rows)]]}, timeout
        )
        return status

    def statuses(self, count: int) -> Counter[int]:
        return Counter(self.predict(i) for i in range(count))

    def ready_slots(self) -> set[Slot]:
        return {s for s, st in self.target.state().slots.items() if HttpClient(st.url).ready()}

    def leftovers(self) -> list[str]:
        config = self.target.config
        left = processes_mentioning(str(config.base_dir))
        left += [f"a socket listens on {port}" for port in listening(self.ports)]
        return left


def stack(ws: Workspace, spec_file: Path, env: str) -> Stack:
    spec = load_spec(spec_file, ws.root)
    target = target_for(spec, env, ws)
    assert isinstance(target, LocalTarget)
    assert spec.data is not None
    excluded = {spec.data.label, *(spec.data.sensitive_features or [])}
    columns = [c for c in _header(ws.root / spec.data.evaluation.path) if c not in excluded]
    rows = sample_rows(spec, ws.root, columns, 100)
    return Stack(target, with_defaults(spec).service.api, rows)


def _header(csv_file: Path) -> list[str]:
    with csv_file.open(encoding="utf-8") as handle:
        return handle.readline().strip().split(",")


@contextmanager
def deployed(ws: Workspace, spec_file: Path, envs: tuple[str, ...]) -> Iterator[list[Stack]]:
    """The spec's environments (ports checked free first); on the way out, whatever happened,
    each is destroyed and must leave no process or listening socket behind."""
    stacks = [stack(ws, spec_file, env) for env in envs]
    for s in stacks:
        busy = listening(s.ports)
        assert not busy, f"ports {busy} of {s.target.config.base_dir.name} are taken"
    try:
        yield stacks
    finally:
        failed = []
        for s in stacks:
            try:
                s.target.destroy()
            except StackError as exc:
                failed.append(f"destroy of {s.target.config.environment} failed: {exc}")
        left = [item for s in stacks for item in settled(s.leftovers)]
        assert not failed, failed
        assert not left, f"left behind: {left}"


@dataclass
class Prober:
    """Sends one request at a time through an endpoint in the background, counting statuses
    (and when each non-200 answer came), for what users saw while something ran."""

    stack: Stack
    interval: float = 0.2
    statuses: Counter[int] = field(default_factory=Counter)
    failures: list[tuple[float, int]] = field(default_factory=list)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def __enter__(self) -> Prober:
        self._started = time.monotonic()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        assert self._thread is not None
        self._thread.join(timeout=30)

    def _run(self) -> None:
        index = 0
        while not self._stop.is_set():
            status = self.stack.predict(index, timeout=5)
            self.statuses[status] += 1
            if status != 200:
                self.failures.append((round(time.monotonic() - self._started, 1), status))
            index += 1
            self._stop.wait(self.interval)
