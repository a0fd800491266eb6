"""`shipyard apply` killed with SIGKILL at random moments of a canary release (its whole
process group: the CLI, the Pulumi engine and its plugins) — production must still serve a
healthy version at once, and the next apply must converge.

A production-only spec ("apply-crash", no approvals, a short canary) alternates between two
releases of the same model that differ only in their batch size (so their Bentos differ).
Each trial starts the apply of the other release, kills it after a delay drawn in its own
tenth of a canary apply's duration (seeded, so the kills land in different stages), checks
production at once, then applies the same release again to completion and checks that it
converged. `pytest -s` prints where each kill landed."""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.audit.ledger import LedgerEntry
from pipelines.core.workspace import Workspace
from stacks.target import Release, Slot
from tests.fakes.apply import (
    PROC,
    SHIPYARD,
    Prober,
    Project,
    Rollout,
    Stack,
    build,
    deployed,
    entries_since,
    last_seq,
    ledger_verified,
    settled,
    shipyard,
    write_spec,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fakes.apply"]

NAME = "apply-crash"
TRIALS = 10
SEED = 1729
# 40 requests/s, half of them to the canary: ~160 canary requests in the pause, so analysis
# judges from 100 on (on fewer, the output-shift check fails identical models now and then).
TRAFFIC = "40"
ROLLOUT = Rollout(weight=50, pause="8s", interval="2s", failure_limit=1, min_requests=100)
STEPS = 3  # weight, pause, weight 100
KILL_BEFORE = 0.95  # kills land within this share of a canary apply's measured duration
HEALTHY_WITHIN_S = 5.0
SETTLE_S = 90.0  # for a stable server a killed apply was restarting to become ready
# The last ledger entry of the killed apply -> the stage it was in when killed.
STAGES = {
    None: "start-up and offline gates",
    "gates": "build",
    "build": "canary deploy",
    "deploy": "canary smoke",
    "analysis": "analysis",
    "promoted": "after promotion",
    "rollback": "canary rollback",
}


@dataclass(frozen=True)
class Crash:
    ws: Workspace
    specs: dict[str, Path]  # "A", "B": the two releases' spec files
    releases: dict[str, Release]
    production: Stack

    def relative(self, key: str) -> str:
        return str(self.specs[key].relative_to(self.ws.root))


@dataclass(frozen=True)
class Trial:
    number: int
    release: str
    delay: float
    killed: bool
    stage: str
    last: str  # the last ledger entry before the kill, as `kind` or `kind step N`
    strays: tuple[str, ...]  # processes of the apply's session that outlived the kill
    unseen: str  # how what the stable slot runs differs from what the target reports (printed)


@pytest.fixture(scope="module")
def crash(apply_project: Project) -> Iterator[Crash]:
    ws, version = apply_project.ws, apply_project.versions["good"]
    specs = {
        key: write_spec(
            ws,
            f"variants/crash-{key.lower()}.yaml",
            NAME,
            version,
            ROLLOUT,
            max_batch_size=batch,
            environments=("production",),
            approvals=False,
        )
        for key, batch in (("A", 64), ("B", 32))
    }
    releases = {key: build(ws, spec_file) for key, spec_file in specs.items()}
    assert releases["A"].bento != releases["B"].bento
    with deployed(ws, specs["A"], ("production",)) as (production,):
        yield Crash(ws, specs, releases, production)


def stratified(rng: random.Random, count: int) -> list[float]:
    """One point drawn uniformly in each of `count` equal parts of [0, 1), shuffled."""
    points = [(part + rng.random()) / count for part in range(count)]
    rng.shuffle(points)
    return points


def stage_of(entries: list[LedgerEntry]) -> tuple[str, str]:
    """(stage, last entry) of an apply from the ledger entries it wrote."""
    if not entries:
        return STAGES[None], "-"
    last = entries[-1]
    if last.kind == "step":
        step = int(last.details["step"])
        stage = "promotion" if step == STEPS else "analysis"
        return stage, f"step {step}"
    return STAGES.get(last.kind, last.kind), last.kind


def session_members(session: int) -> list[tuple[int, str]]:
    """Live processes of session `session`, as (pid, command line)."""
    found = []
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode().strip()
        except OSError:  # exited meanwhile
            continue
        if fields[0] not in ("Z", "X") and int(fields[3]) == session:
            found.append((int(entry.name), command))
    return found


def killed_apply(crash: Crash, key: str, delay: float, log: Path) -> tuple[bool, list[str]]:
    """Start `shipyard apply` of release `key` in a session of its own and SIGKILL its process
    group after `delay` seconds: (whether it still ran then, what of its session outlived the
    kill by a few seconds). What outlived it (processes that left the group, as the Pulumi
    engine's plugins do) is recorded, then killed, so the next apply runs alone."""
    with log.open("w", encoding="utf-8") as out:
        command = [str(SHIPYARD), "-C", str(crash.ws.root), "apply", crash.relative(key)]
        process = subprocess.Popen(
            [*command, "--traffic", TRAFFIC],
            cwd=crash.ws.root,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            process.wait(timeout=delay)
            return False, []
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    left = settled(lambda: [f"{p}: {c[:120]}" for p, c in session_members(process.pid)], 5)
    for pid, _ in session_members(process.pid):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    assert settled(lambda: [str(p) for p, _ in session_members(process.pid)]) == []
    return True, left


def assert_healthy(production: Stack, context: str) -> None:
    """Production answers 200 within a few seconds, then every time, from a ready slot."""
    deadline = time.monotonic() + HEALTHY_WITHIN_S
    while (status := production.predict()) != 200:
        assert time.monotonic() < deadline, f"{context}: the endpoint answers {status}"
        time.sleep(0.25)
    statuses = production.statuses(10)
    assert statuses == Counter({200: 10}), f"{context}: {statuses}"
    assert production.ready_slots(), f"{context}: no slot is ready"


def unseen_change(production: Stack) -> str:
    """Once the stable slot has settled (one server on its port, ready): how the Bento it runs
    differs from the release the target reports there ("" when it does not). The next apply
    decides from the reported state, so a difference it cannot see is not converged."""
    deadline = time.monotonic() + SETTLE_S
    while time.monotonic() < deadline:
        running = production.serving(Slot.STABLE)
        if len(running) == 1 and Slot.STABLE in production.ready_slots():
            break
        time.sleep(0.5)
    reported = production.stable()
    if reported is None or running != {reported.bento}:
        return f"stable runs {sorted(running)}, the target reports {reported}"
    return ""


def assert_converged(crash: Crash, key: str, context: str) -> None:
    production, release = crash.production, crash.releases[key]
    assert production.stable() == release, context
    assert settled(lambda: sorted(production.slots() - {Slot.STABLE})) == [], context
    assert production.serving(Slot.STABLE) == {release.bento}, context
    assert settled(lambda: sorted(production.serving(Slot.CANARY))) == [], context
    statuses = production.statuses(10)
    assert statuses == Counter({200: 10}), f"{context}: {statuses}"
    verify = ledger_verified(crash.ws)
    assert verify.returncode == 0, f"{context}: {verify.stdout}"


def test_killed_applies_leave_production_healthy_and_the_next_apply_converges(
    crash: Crash, tmp_path: Path
) -> None:
    ws, production = crash.ws, crash.production
    first = shipyard(ws, "apply", crash.relative("A"), "--traffic", TRAFFIC)
    assert first.returncode == 0, first.stdout + first.stderr
    assert_converged(crash, "A", "the first apply")
    started = time.monotonic()  # a canary apply undisturbed, to know how long one takes
    calibration = shipyard(ws, "apply", crash.relative("B"), "--traffic", TRAFFIC)
    full_runs = [time.monotonic() - started]
    assert calibration.returncode == 0, calibration.stdout + calibration.stderr
    assert_converged(crash, "B", "the canary apply")
    trials: list[Trial] = []
    for number, fraction in enumerate(stratified(random.Random(SEED), TRIALS), start=1):
        key = "A" if number % 2 else "B"
        # the fastest undisturbed canary apply: a slow one (a first build, a busy host) must
        # not push the late kills past the end of a faster apply
        expected = min(full_runs)
        delay = 1 + fraction * (KILL_BEFORE * expected - 1)
        seq = last_seq(ws)
        log = tmp_path / f"trial-{number}.log"
        killed, strays = killed_apply(crash, key, delay, log)
        stage, last = stage_of(entries_since(ws, NAME, seq))
        assert_healthy(production, f"right after the kill of trial {number} (output: {log})")
        unseen = unseen_change(production)
        trial = Trial(number, key, round(delay, 1), killed, stage, last, tuple(strays), unseen)
        trials.append(trial)
        context = f"{trial} (its output: {log})"

        seq = last_seq(ws)
        with Prober(production) as probe:
            started = time.monotonic()
            again = shipyard(ws, "apply", crash.relative(key), "--traffic", TRAFFIC)
            took = time.monotonic() - started
        converge = entries_since(ws, NAME, seq)
        assert again.returncode == 0, f"{context}; the next apply: {again.stdout}{again.stderr}"
        assert_converged(crash, key, f"the apply after {context}")
        if any(e.kind == "deploy" and e.details.get("slot") == "canary" for e in converge):
            full_runs.append(took)
        summary = [line for line in again.stdout.splitlines() if line.startswith(f"{NAME}: ")]
        print(
            f"trial {number:>2}: apply {key} killed at {delay:5.1f}s in {stage:<26} "
            f"(last entry {last}){'; outlived by ' + str(len(strays)) if strays else ''}"
            f"{'; UNSEEN: ' + unseen if unseen else ''}; "
            f"next apply {summary[-1].split(': ', 1)[1]} in {took:.0f}s via "
            f"{', '.join(e.kind for e in converge) or 'no entry'}; users saw "
            f"{dict(probe.statuses)}"
        )
        assert not probe.failures, f"the apply after {context}: users saw {probe.failures}"
    distribution = Counter(t.stage for t in trials)
    print("kills by stage:", ", ".join(f"{s}: {n}" for s, n in distribution.most_common()))
    assert all(t.killed for t in trials), [t for t in trials if not t.killed]
    outlived = [t for t in trials if t.strays]
    assert not outlived, f"processes of a killed apply outlived it: {outlived}"
    # Not asserted: a kill inside an engine update (the stable server already replaced,
    # desired.json not yet saved) leaves the target reporting the previous release until the
    # next apply, which converges (asserted above). `-s` prints these as UNSEEN.
