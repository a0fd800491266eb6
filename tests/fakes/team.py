"""Shared by tests/pipelines/release/test_team_integration.py: a team's CI on ephemeral runners.

What jobs share, and nothing else (docs/gitops.md, Team state): the state store, the MLflow
tracking server, a DVC remote folder, a Pulumi backend folder and its passphrase, the signing
key, and the deploy host's own folders (`SHIPYARD_LOCAL_HOME`, `BENTOML_HOME`). `Runner` is a
self-hosted GitHub runner on the host it deploys to: each job is a fresh `git clone` of a bare
remote at the pushed commit, with no `.shipyard/`; when the job ends the runner does what
GitHub's does — it kills every process still carrying the job's `RUNNER_TRACKING_ID` and
removes the workspace — so nothing a later job needs may live in a job's checkout or
processes. `Dev` is a developer's clone: it pushes the changes and is the test's view of the
project (its data pulled from the DVC remote). `only_serving` probes nginx for when an
environment serves one slot alone.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

import httpx

from pipelines.audit.ledger import LedgerEntry, ledger_of
from pipelines.core.workspace import Workspace
from stacks.local import nginx
from stacks.target import Slot
from tests.fakes.apply import (
    CLI_TIMEOUT,
    MODEL,
    REPO,
    SHIPYARD,
    Rollout,
    Stack,
    processes_mentioning,
    settled,
    write_spec,
)

SUITE = "validators/suites/credit.yaml"
TRACKING = "RUNNER_TRACKING_ID"  # how GitHub's runner finds a job's processes when it ends
JSON = {"content-type": "application/json"}


def git(root: Path, *args: str) -> str:
    command = ["git", "-C", str(root), "-c", "user.name=Dev", "-c", "user.email=dev@example.com"]
    done = subprocess.run([*command, *args], capture_output=True, text=True)
    assert done.returncode == 0, f"git {' '.join(args)}: {done.stderr}"
    return done.stdout.strip()


def dvc(root: Path, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "dvc", *args], cwd=root, capture_output=True, text=True
    )
    assert done.returncode == 0, f"dvc {' '.join(args)}: {done.stderr}"


@dataclass(frozen=True)
class Places:
    """The places every job shares: the only state that outlives a job."""

    state_url: str  # SHIPYARD_STATE_URL: a PostgreSQL database
    mlflow_uri: str  # MLFLOW_TRACKING_URI: the tracking server
    dvc_remote: Path  # the default DVC remote (committed in .dvc/config)
    pulumi_backend: Path  # PULUMI_BACKEND_URL=file://...
    signing_key: Path  # SHIPYARD_SIGNING_KEY: a PEM EC P-256 private key
    local_home: Path  # SHIPYARD_LOCAL_HOME: the deploy host's servers and nginx
    bentoml_home: Path  # BENTOML_HOME: the deploy host's Bento store (its servers serve from it)
    passphrase: str = "the team's Pulumi passphrase"

    def env(self) -> dict[str, str]:
        return {
            "SHIPYARD_STATE_URL": self.state_url,
            "MLFLOW_TRACKING_URI": self.mlflow_uri,
            "PULUMI_BACKEND_URL": self.pulumi_backend.as_uri(),
            "PULUMI_CONFIG_PASSPHRASE": self.passphrase,
            "SHIPYARD_SIGNING_KEY": str(self.signing_key),
            "SHIPYARD_LOCAL_HOME": str(self.local_home),
            "BENTOML_HOME": str(self.bentoml_home),
        }


def shared_places(root: Path, state_url: str, mlflow_uri: str) -> Places:
    """Empty shared folders under `root` and a fresh signing key."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    for name in ("dvc-remote", "pulumi", "local", "bentoml"):
        (root / name).mkdir(parents=True)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    key_file = root / "signing.pem"
    key_file.write_bytes(pem)
    key_file.chmod(0o600)
    return Places(
        state_url=state_url,
        mlflow_uri=mlflow_uri,
        dvc_remote=root / "dvc-remote",
        pulumi_backend=root / "pulumi",
        signing_key=key_file,
        local_home=root / "local",
        bentoml_home=root / "bentoml",
    )


def bare_remote(path: Path) -> Path:
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(path)], check=True)
    return path


# --- the runner and its jobs -------------------------------------------------------------------


@dataclass(frozen=True)
class Job:
    """One CI job: a fresh clone of its own, run as GitHub's runner runs steps."""

    name: str
    ws: Workspace
    tracking: str  # its RUNNER_TRACKING_ID

    def env(self) -> dict[str, str]:
        return {**os.environ, "CI": "true", "GITHUB_ACTIONS": "true", TRACKING: self.tracking}

    def shipyard(
        self, *args: str, timeout: float = CLI_TIMEOUT
    ) -> subprocess.CompletedProcess[str]:
        """Run the `shipyard` CLI in the job's checkout; its output as the job log shows it."""
        return subprocess.run(
            [str(SHIPYARD), "-C", str(self.ws.root), *args],
            cwd=self.ws.root,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start(self, *args: str, log: IO[str]) -> subprocess.Popen[str]:
        """Start the `shipyard` CLI in a session (and process group) of its own, as the
        runner starts a step, writing to `log`."""
        return subprocess.Popen(
            [str(SHIPYARD), "-C", str(self.ws.root), *args],
            cwd=self.ws.root,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )


@dataclass(frozen=True)
class Runner:
    """A self-hosted runner on the deploy host, taking one job after another."""

    remote: Path
    work: Path

    @contextmanager
    def job(self, name: str, rev: str | None = None) -> Iterator[Job]:
        """A fresh clone at `rev` (the pushed commit; None: the remote's default branch) with
        an empty `.shipyard/`. On the way out, the runner's end of job: the processes that
        still carry the job's tracking id are killed and the workspace is removed; when the
        block itself passed, none may have been left."""
        root = self.work / name
        self.work.mkdir(parents=True, exist_ok=True)
        git(self.work, "clone", "-q", str(self.remote), str(root))
        if rev is not None:
            git(root, "checkout", "-q", "--detach", rev)
        job = Job(name, Workspace.at(root), f"github_{uuid.uuid4()}")
        assert not job.ws.state.exists()
        try:
            yield job
        finally:
            left = end_of_job(job)
        assert not left, (
            f"processes of job {name} outlived it; the runner killed them, taking down what "
            f"they served: {left}"
        )


def end_of_job(job: Job) -> list[str]:
    """What GitHub's runner does when a job ends ("Cleaning up orphan processes"): SIGKILL
    every process whose environment carries the job's tracking id; then its workspace goes.
    Returns the processes killed, as `pid: command`."""
    marker = f"{TRACKING}={job.tracking}"
    found = processes_mentioning(marker)
    for line in found:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(line.split(":", 1)[0]), signal.SIGKILL)
    assert settled(lambda: processes_mentioning(marker)) == []
    shutil.rmtree(job.ws.root)
    return found


def seed_project(job: Job, places: Places, spec: str, name: str, rollout: Rollout) -> str:
    """The project's setup, run once in a job and pushed: a DVC remote on the shared folder
    (the default, committed), `shipyard init` (the demo's data tracked by DVC and pushed
    there, its models registered in the shared MLflow), the credit suite and `spec` serving
    the good model. The good model's registered version."""
    from pipelines.demo.train import registered_variants

    root = job.ws.root
    (root / ".gitignore").write_text(".shipyard/\n", encoding="utf-8")
    (root / SUITE).parent.mkdir(parents=True)
    shutil.copy(REPO / SUITE, root / SUITE)
    dvc(root, "init", "-q")
    dvc(root, "remote", "add", "--default", "team", str(places.dvc_remote))
    init = job.shipyard("init")
    assert init.returncode == 0, init.stdout + init.stderr
    good = registered_variants(places.mlflow_uri)["good"]
    write_spec(job.ws, spec, name, good, rollout)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", f"{name}: credit model v{good}")
    git(root, "push", "-q", "origin", "HEAD:main")
    return good


@dataclass(frozen=True)
class Dev:
    """A developer's clone: where changes are merged and pushed from, and the test's view
    of the project (the evaluation data pulled from the DVC remote)."""

    ws: Workspace
    spec: str  # the spec file, relative to the root

    @classmethod
    def clone(cls, remote: Path, root: Path, spec: str, data: str) -> Dev:
        git(root.parent, "clone", "-q", str(remote), str(root))
        dvc(root, "pull", "-q", data)
        return cls(Workspace.at(root), spec)

    @property
    def spec_file(self) -> Path:
        return self.ws.root / self.spec

    def head(self) -> str:
        return git(self.ws.root, "rev-parse", "HEAD")

    def merge_version(self, version: str) -> tuple[str, str]:
        """A pull request moving the spec to model `version`, merged into main and pushed:
        (main before the push, the merge commit) — what a push event gives the deploy job."""
        root, before = self.ws.root, self.head()
        branch = f"model-v{version}"
        git(root, "checkout", "-q", "-b", branch)
        text = self.spec_file.read_text(encoding="utf-8")
        old = text.split(f"models:/{MODEL}/", 1)[1].split()[0]
        self.spec_file.write_text(
            text.replace(f"models:/{MODEL}/{old}", f"models:/{MODEL}/{version}"), encoding="utf-8"
        )
        git(root, "commit", "-q", "-am", f"credit model v{version}")
        git(root, "checkout", "-q", "main")
        git(root, "merge", "-q", "--no-ff", "-m", f"Merge branch '{branch}'", branch)
        git(root, "push", "-q", "origin", "main")
        return before, self.head()


# --- what the store and the host say ----------------------------------------------------------


def wait_for_step(
    ws: Workspace, spec: str, env: str, since: int, process: subprocess.Popen[str], log: Path
) -> LedgerEntry:
    """The first `step` entry giving the canary traffic (weight > 0) of (spec, env) after
    sequence number `since`, as it reaches the shared store; fails if `process` ends first."""
    ledger = ledger_of(ws)
    deadline = time.monotonic() + CLI_TIMEOUT
    while time.monotonic() < deadline:
        for entry in ledger.entries(spec, env, kinds=("step",)):
            if entry.seq > since and int(entry.details["weight"]) > 0:
                return entry
        assert process.poll() is None, (
            f"the apply ended ({process.returncode}) before its canary got traffic:\n"
            + log.read_text(encoding="utf-8")
        )
        time.sleep(0.05)
    raise AssertionError(f"no canary step within {CLI_TIMEOUT:.0f}s:\n{log.read_text()}")


def only_serving(stack: Stack, slot: Slot, retiring: list[int], timeout: float) -> float | None:
    """When (time.monotonic()) nginx of `stack` serves `slot` alone: the config it serves
    (its digest at /__shipyard/config) is the one written, that config sends all traffic to
    `slot`, and no worker of an earlier config (`retiring`) takes connections any more.
    None if that does not happen within `timeout` seconds."""
    prefix = str(stack.target.config.base_dir / "nginx")
    listen = stack.target.config.listen_port
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        written = nginx.written(prefix)
        if (
            written is not None
            and {s for s, w in written["weights"].items() if w} == {slot.value}
            and nginx.serving(listen, timeout=0.5) == written["digest"]
            and not set(retiring) & set(nginx.workers(prefix))
        ):
            return time.monotonic()
        time.sleep(0.005)
    return None


def upstreams(stack: Stack, count: int) -> Counter[tuple[int, str]]:
    """(status, the slot address nginx sent it to) of `count` predictions through the
    environment's endpoint."""
    seen: Counter[tuple[int, str]] = Counter()
    with httpx.Client(base_url=stack.endpoint, timeout=30) as client:
        for index in range(count):
            row = stack.rows[index % len(stack.rows)]
            response = client.post(
                f"/{stack.api}", content=json.dumps({"rows": [row]}), headers=JSON
            )
            seen[(response.status_code, response.headers.get(nginx.UPSTREAM_HEADER, ""))] += 1
    return seen
