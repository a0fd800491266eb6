"""A team's CI on ephemeral runners (docs/gitops.md, Team state), end to end on the real
engines: every job is a fresh `git clone` with an empty `.shipyard/`, and all that outlives a
job is what the team shares — one PostgreSQL state store, the MLflow tracking server, a DVC
remote folder, a Pulumi backend folder with its passphrase, the signing key — and the deploy
host's own folders (`SHIPYARD_LOCAL_HOME`, `BENTOML_HOME`): the runner is a self-hosted one on
the host it deploys to (the `local` target), so its jobs drive one set of servers behind nginx.
When a job ends the runner kills the processes it left (by `RUNNER_TRACKING_ID`, as GitHub's
runner does) and removes its checkout (tests/fakes/team.py).

A seed job sets the project up (`shipyard init` against the shared MLflow and DVC remote) and
pushes a spec; a first push releases production. Then a merge moves the model to a new
version: one job applies staging, another production (a canary, promoted); a further change is
applied to production and the job is sent SIGTERM mid-canary; a last job rolls production back
and reads the whole history back. A second test runs two jobs on one environment at once.
`pytest -s` prints how long each job took and how soon after SIGTERM only stable served."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.audit.ledger import LedgerEntry
from pipelines.state.store import forget_stores, open_store
from stacks.local import nginx
from stacks.target import Release, Slot
from tests.fakes.apply import (
    CLI_TIMEOUT,
    MODEL,
    Rollout,
    Stack,
    alias,
    deployed,
    entries_since,
    kinds,
    last_seq,
    ledger_verified,
    processes_mentioning,
    register_copy,
    settled,
)
from tests.fakes.postgres import PostgresServer
from tests.fakes.team import (
    Dev,
    Runner,
    bare_remote,
    only_serving,
    seed_project,
    shared_places,
    upstreams,
    wait_for_step,
)

pytestmark = pytest.mark.integration

NAME = "team-state"
SPEC = f"specs/{NAME}.yaml"
DATA = "data/credit/holdout.csv"  # the evaluation data the test's own probes send
ROLLOUT = Rollout(weight=50, pause="4s", interval="2s", failure_limit=1, min_requests=30)
TRAFFIC = "40"  # requests/s replayed through production during its canaries
APPROVED = ("--approved-by", "@risk-ml")  # the production approval, as CI passes the PR's
CANARY = (*APPROVED, "--traffic", TRAFFIC)  # what a production apply adds
SWITCH_WITHIN_S = 1.0
LOST = "Shipyard state is not kept"  # the warning of a run whose state dies with its runner


@dataclass(frozen=True)
class Team:
    runner: Runner
    dev: Dev
    good: str  # the registered version the spec serves first
    staging: Stack
    production: Stack


@pytest.fixture(scope="module")
def team(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer, mlflow_server: str
) -> Iterator[Team]:
    """The seeded project, pushed to a bare remote; both environments are destroyed
    afterwards, and no process may be left that mentions any of the team's folders."""
    root = tmp_path_factory.mktemp("team")
    places = shared_places(
        root / "shared", postgres_server.fresh_database("team_state"), mlflow_server
    )
    with pytest.MonkeyPatch.context() as patch:
        for key, value in places.env().items():  # the test reads the same store and host
            patch.setenv(key, value)
        runner = Runner(bare_remote(root / "remote.git"), root / "runner")
        with runner.job("seed") as job:
            good = seed_project(job, places, SPEC, NAME, ROLLOUT)
        dev = Dev.clone(runner.remote, root / "dev", SPEC, DATA)
        with deployed(dev.ws, dev.spec_file, ("staging", "production")) as (staging, production):
            yield Team(runner, dev, good, staging, production)
        forget_stores()
    left = settled(lambda: processes_mentioning(str(root)))
    assert not left, f"processes still mention {root}: {left}"


def push(base: str, head: str, env: str) -> tuple[str, ...]:
    """The apply a deploy job runs for a push (`before`..the pushed commit) to `env`."""
    return ("apply", "--base", base, "--head", head, "--env", env)


def output(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def summary(text: str) -> str:
    """The outcome line apply ends with (`team-state: promoted`)."""
    lines = [line for line in text.splitlines() if line.startswith(f"{NAME}: ")]
    return lines[-1] if lines else "(no outcome line)"


def only(entries: list[LedgerEntry], kind: str, env: str | None) -> LedgerEntry:
    found = [e for e in entries if e.kind == kind and e.env == env]
    assert len(found) == 1, f"{kind} entries of {env}: {found}"
    return found[0]


class Clock:
    """How long each job took, printed at the end."""

    def __init__(self) -> None:
        self.took: dict[str, float] = {}
        self._started = 0.0

    def start(self) -> None:
        self._started = time.monotonic()

    def stop(self, job: str) -> None:
        self.took[job] = time.monotonic() - self._started

    def print(self) -> None:
        print("jobs: " + ", ".join(f"{job} {took:.0f}s" for job, took in self.took.items()))


def test_fresh_clones_release_interrupt_and_roll_back_through_the_shared_state(
    team: Team, tmp_path: Path
) -> None:
    runner, dev, staging, production = team.runner, team.dev, team.staging, team.production
    store, clock = open_store(dev.ws.state_url), Clock()

    # the first push: production's first release (direct; a first push has no `before`)
    mark = last_seq(dev.ws)
    clock.start()
    with runner.job("first-release", dev.head()) as job:
        first_run = job.shipyard("apply", SPEC, "--env", "production", *APPROVED)
    clock.stop("first release")
    assert first_run.returncode == 0, output(first_run)
    assert summary(first_run.stdout) == f"{NAME}: promoted", output(first_run)
    assert LOST not in output(first_run)
    first = production.stable()
    assert first is not None
    assert first.model == f"models:/{MODEL}/{team.good}"
    first_promoted = only(entries_since(dev.ws, NAME, mark), "promoted", "production")

    # a merge pushes a spec change: the model moves to a new registered version
    second = register_copy(dev.ws, team.good)
    base, head = dev.merge_version(second)
    merged, second_model = head, f"models:/{MODEL}/{second}"

    # job 1: staging, as CI applies a push (--base the commit before it)
    mark = last_seq(dev.ws)
    clock.start()
    with runner.job("staging", head) as job:
        staged = job.shipyard(*push(base, head, "staging"))
    clock.stop("staging")
    assert staged.returncode == 0, output(staged)
    assert summary(staged.stdout) == f"{NAME}: promoted", output(staged)
    entries = entries_since(dev.ws, NAME, mark)
    assert kinds(entries, "production") == Counter(), entries
    staging_promoted = only(entries, "promoted", "staging")
    assert staging_promoted.details["strategy"] == "direct"
    release = staging.stable()
    assert release is not None
    assert release.model == second_model

    # job 2: production, a canary of the same Bento (reused from the host's store); promoted
    mark = last_seq(dev.ws)
    clock.start()
    with runner.job("production", head) as job:
        promoted = job.shipyard(*push(base, head, "production"), *CANARY)
    clock.stop("production canary")
    assert promoted.returncode == 0, output(promoted)
    assert summary(promoted.stdout) == f"{NAME}: promoted", output(promoted)
    entries = entries_since(dev.ws, NAME, mark)
    assert only(entries, "build", None).details["reused"] is True
    assert only(entries, "deploy", "production").details["slot"] == "canary"
    production_promoted = only(entries, "promoted", "production")
    assert production_promoted.details["strategy"] == "canary"
    assert production.stable() == release
    assert alias(dev.ws, "production") == second

    # job 3: a further change to production, sent SIGTERM once its canary has traffic
    third = register_copy(dev.ws, team.good)
    base, head = dev.merge_version(third)
    mark, log_file = last_seq(dev.ws), tmp_path / "interrupted.log"
    clock.start()
    with runner.job("interrupted", head) as job, log_file.open("w") as log:
        apply = job.start(*push(base, head, "production"), *CANARY, log=log)
        try:
            step = wait_for_step(dev.ws, NAME, "production", mark, apply, log_file)
            driving = store.rollout(NAME, "production")
            prefix = str(production.target.config.base_dir / "nginx")
            retiring = nginx.workers(prefix)
            os.killpg(apply.pid, signal.SIGTERM)
            signalled = time.monotonic()
            stable_only = only_serving(production, Slot.STABLE, retiring, timeout=30)
            code = apply.wait(timeout=CLI_TIMEOUT)
        finally:
            if apply.poll() is None:
                os.killpg(apply.pid, signal.SIGKILL)
                apply.wait()
    clock.stop("interrupted canary")
    said = log_file.read_text(encoding="utf-8")
    assert driving is not None
    assert driving["owner"] == f"{socket.gethostname()} pid {apply.pid}"
    assert stable_only is not None, f"nginx still sends traffic to the canary:\n{said}"
    switched = stable_only - signalled
    print(f"SIGTERM at step {step.details['step']}: only stable served {switched:.3f}s later")
    assert switched < SWITCH_WITHIN_S, said
    assert code == 128 + signal.SIGTERM, said
    assert "interrupted by SIGTERM" in said
    interrupted = only(entries_since(dev.ws, NAME, mark), "interrupted", "production")
    assert interrupted.details["signal"] == "SIGTERM"
    assert interrupted.details["switch_s"] < SWITCH_WITHIN_S, interrupted
    assert interrupted.details["problems"] == []
    assert production.stable() == release
    assert settled(lambda: sorted(production.slots() - {Slot.STABLE})) == []
    assert production.serving(Slot.STABLE) == {release.bento}
    stable_upstream = f"127.0.0.1:{production.slot_port(Slot.STABLE)}"
    assert upstreams(production, 10) == Counter({(200, stable_upstream): 10})
    assert store.rollout(NAME, "production") is None  # the interrupted run cleared its record

    # job 4: roll production back and read the whole history, from one more fresh clone
    clock.start()
    with runner.job("rollback", head) as job:
        rolled = job.shipyard("rollback", SPEC, "--env", "production")
        stories = {
            env: job.shipyard("explain", SPEC, "--env", env) for env in ("staging", "production")
        }
        shown = job.shipyard("audit", "show", "--spec", NAME)
        verified = job.shipyard("audit", "verify")
    clock.stop("rollback, explain, verify")
    clock.print()
    assert rolled.returncode == 0, output(rolled)
    assert f"{NAME}/production: now serving {first.model} ({first.bento})" in rolled.stdout
    assert "stopped during its canary" not in rolled.stdout  # nothing was left to recover
    assert production.stable() == first
    assert alias(dev.ws, "production") == team.good
    history = store.releases(NAME, "production")
    assert [(r["model"], r["how"]) for r in history] == [
        (first.model, "direct"),
        (second_model, "canary"),
        (first.model, "rollback"),
    ]
    for done in (*stories.values(), shown, verified):
        assert done.returncode == 0, output(done)
    staging_story = stories["staging"].stdout
    assert staging_story.startswith(f"{NAME}/staging: {second_model} — RUNNING NOW"), staging_story
    assert f"(direct; ledger #{staging_promoted.seq})" in staging_story
    assert f"commit     {merged}" in staging_story  # the build's commit: the merge
    production_story = stories["production"].stdout
    assert production_story.startswith(
        f"{NAME}/production: {second_model} — rolled back by request at "
    ), production_story
    assert f"(canary; ledger #{production_promoted.seq})" in production_story
    assert f"(direct; ledger #{first_promoted.seq})" in production_story
    lines = shown.stdout.splitlines()
    assert any(
        re.match(rf"\s*{interrupted.seq} interrupted +{NAME}/production .*SIGTERM", line)
        for line in lines
    ), shown.stdout
    counted = re.search(r"(\d+) entries, (\d+) checkpoints; chain intact", verified.stdout)
    assert counted is not None, verified.stdout
    assert int(counted[1]) == last_seq(dev.ws)
    assert int(counted[2]) >= 5  # one signed by each apply and rollback above


def test_two_jobs_applying_one_environment_at_once_take_turns(team: Team, tmp_path: Path) -> None:
    runner, dev, staging = team.runner, team.dev, team.staging
    version = register_copy(dev.ws, team.good)
    base, head = dev.merge_version(version)
    model = f"models:/{MODEL}/{version}"
    mark, started = last_seq(dev.ws), time.monotonic()
    with ExitStack() as exits:
        jobs = [exits.enter_context(runner.job(f"concurrent-{n}", head)) for n in (1, 2)]
        logs = [tmp_path / f"{job.name}.log" for job in jobs]
        outs = [exits.enter_context(log.open("w")) for log in logs]
        applies = [
            job.start(*push(base, head, "staging"), log=out)
            for job, out in zip(jobs, outs, strict=True)
        ]
        try:
            codes = [apply.wait(timeout=CLI_TIMEOUT) for apply in applies]
        finally:
            for apply in applies:
                if apply.poll() is None:
                    os.killpg(apply.pid, signal.SIGKILL)
                    apply.wait()
    print(f"two jobs on one environment: both done in {time.monotonic() - started:.0f}s")
    said = [log.read_text(encoding="utf-8") for log in logs]
    assert codes == [0, 0], said
    waited = [n for n, text in enumerate(said) if "waiting: another run holds" in text]
    assert len(waited) == 1, said
    waiter, holder = waited[0], 1 - waited[0]
    wait_line = (
        f"waiting: another run holds {NAME}/staging (apply on {socket.gethostname()}, "
        f"pid {applies[holder].pid}, since "
    )
    assert wait_line in said[waiter], said[waiter]
    # the second to get the lock finds the first's release running: one deploy in all
    assert f"{NAME}/staging: already serves {model} — unchanged" in said[waiter]
    assert summary(said[waiter]) == f"{NAME}: unchanged"
    assert summary(said[holder]) == f"{NAME}: promoted"
    entries = entries_since(dev.ws, NAME, mark)
    assert kinds(entries, "staging") == Counter(
        {"verified": 1, "deploy": 1, "serving": 1, "promoted": 1}
    ), entries
    # one built the Bento into the host's store, the other waited for it and reused it
    builds = [e for e in entries if e.kind == "build"]
    assert sorted(e.details["reused"] for e in builds) == [False, True], builds
    promoted = only(entries, "promoted", "staging")
    assert staging.stable() == Release(str(promoted.details["bento"]), model)
    verify = ledger_verified(dev.ws)
    assert verify.returncode == 0, verify.stdout
    assert "chain intact" in verify.stdout
