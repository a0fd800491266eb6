"""Time `shipyard agent` on this host: from a push to the start of its apply, from drift to
its heal, and from the leader's death to the standby leading.

    .venv/bin/python benchmarks/agent.py [--interval 5] [--runs 5] [--no-heal] [--smoke]

A project of its own in a temporary folder (a Git repository, the embedded default: SQLite
state under .shipyard/), two agent processes on it (tests/fakes/agent.py):
- push: RUNS commits each changing a spec; the time from the commit to the agent's `apply`
  ledger entry for it. Goal (agent issue): at most the interval + 5 s.
- failover: RUNS times, `kill -9` of the leader; the time until the other agent's /healthz
  says it leads (a new standby is started after each). Goal: at most two intervals.
- heal (unless --no-heal): after `shipyard init` and a first release served by the local
  target (supervisord, BentoML, nginx), RUNS times each: the nginx weights edited by hand,
  and the stable server stopped with supervisorctl; the time from the edit to the `healed`
  ledger entry. Goal: at most one interval.
Every figure is the median of RUNS, with min and max. `--smoke` runs push and failover once
with a 1 s interval and no heal (the suite's check that the benchmark still runs; its
figures mean nothing).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pipelines.audit.ledger import ledger_of  # noqa: E402
from pipelines.core.workspace import Workspace  # noqa: E402
from tests.fakes.agent import AgentProcess, commit_all, wait_for  # noqa: E402

MINIMAL = REPO / "tests" / "fixtures" / "spec" / "repo" / "specs" / "minimal.yaml"
SUPERVISORCTL = Path(sys.executable).with_name("supervisorctl")
NAME = "agent-bench"


def project(root: Path) -> Workspace:
    """A Git repository on main with the demo's suite and an empty specs/ folder."""
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    suite = "validators/suites/credit.yaml"
    (root / suite).parent.mkdir(parents=True)
    shutil.copy(REPO / suite, root / suite)
    (root / "specs").mkdir()
    (root / "specs" / "README.md").write_text("the specs the agent follows\n", encoding="utf-8")
    commit_all(root, "an empty project")
    return Workspace.at(root)


@contextmanager
def agents(ws: Workspace, interval: float, *args: str) -> Iterator[list[AgentProcess]]:
    running = [AgentProcess.launch(ws.root, n, interval, {}, *args) for n in ("a", "b")]
    try:
        wait_for("an agent to lead", lambda: any(a.leads() for a in running), 120, running)
        yield running
    finally:
        for agent in running:
            agent.stop()


def leader(running: list[AgentProcess]) -> AgentProcess:
    found = wait_for("a leader", lambda: [a for a in running if a.leads()], 120, running)
    return found[0]


def applies(ws: Workspace) -> dict[str, float]:
    """Commit -> when the agent recorded starting to apply it."""
    entries = ledger_of(ws).entries("agent")
    return {str(e.details["commit"]): e.ts for e in entries if e.details.get("event") == "apply"}


def _applied(ws: Workspace, sha: str) -> Callable[[], float]:
    return lambda: applies(ws).get(sha, 0.0)


def time_pushes(
    ws: Workspace, running: list[AgentProcess], runs: int, timeout: float
) -> list[float]:
    text = MINIMAL.read_text(encoding="utf-8")
    samples = []
    for run in range(runs):
        spec = text.replace("name: minimal", f"name: {NAME}-{run}")
        (ws.root / "specs" / f"{NAME}-{run}.yaml").write_text(spec, encoding="utf-8")
        sha = commit_all(ws.root, f"spec {run}")
        pushed = time.time()
        started = wait_for("the apply", _applied(ws, sha), timeout, running)
        samples.append(started - pushed)
    return samples


def time_failovers(
    ws: Workspace, running: list[AgentProcess], runs: int, interval: float, *args: str
) -> list[float]:
    samples = []
    for run in range(runs):
        dead = leader(running)
        standby = next(a for a in running if a is not dead)
        killed = dead.kill9()
        wait_for("the standby to lead", standby.leads, 10 * interval + 60, running, every=0.05)
        samples.append(time.time() - killed)
        dead.out.close()
        running.remove(dead)
        running.append(AgentProcess.launch(ws.root, f"c{run}", interval, {}, *args))
        wait_for("the new standby", lambda: running[-1].healthz(), 60, running)
    return samples


def time_heals(
    ws: Workspace, running: list[AgentProcess], runs: int, timeout: float
) -> dict[str, list[float]]:
    """Weights edited, server stopped: seconds from each to its `healed` entry."""
    base = ws.state / "local" / f"{NAME}-production"
    conf = base / "nginx" / "nginx.conf"
    supervisor = base / "supervisor" / "supervisord.conf"
    samples: dict[str, list[float]] = {"weights": [], "restart": []}

    def healed_after(seq: int) -> Callable[[], list[str]]:
        def found() -> list[str]:
            entries = ledger_of(ws).entries(NAME)
            return [str(e.details["heal"]) for e in entries if e.seq > seq and e.kind == "healed"]

        return found

    for _ in range(runs):
        for what in ("weights", "restart"):
            seq = max((e.seq for e in ledger_of(ws).entries()), default=0)
            started = time.time()
            if what == "weights":
                text = conf.read_text(encoding="utf-8")
                conf.write_text(text.replace(" weight=100 ", " weight=40 "), encoding="utf-8")
            else:
                subprocess.run(
                    [str(SUPERVISORCTL), "-c", str(supervisor), "stop", "bento-stable"],
                    check=True,
                    capture_output=True,
                )
            heals = wait_for(f"the {what} heal", healed_after(seq), timeout, running)
            assert heals[0] == what, heals
            samples[what].append(time.time() - started)
            wait_for("the environment ready again", lambda: _ready(running), timeout, running)
    return samples


def _ready(running: list[AgentProcess]) -> bool:
    services = leader(running).get("/status")["services"]
    return any(s["spec"] == NAME and s.get("ready") for s in services)


def deploy_first_release(ws: Workspace, running: list[AgentProcess], timeout: float) -> None:
    """`shipyard init`'s good model as NAME, production only, direct: the agent applies it."""
    from pipelines.demo.init import init_workspace
    from tests.fakes.apply import Rollout, write_spec

    init = init_workspace(ws, say=lambda _: None)
    rollout = Rollout(weight=50, pause="10s", interval="2s")
    write_spec(
        ws,
        f"specs/{NAME}.yaml",
        NAME,
        init.versions["good"],
        rollout,
        environments=("production",),
        approvals=False,
    )
    commit_all(ws.root, "the first release")
    wait_for("the first release", lambda: _ready(running), timeout, running)


def destroy(ws: Workspace) -> None:
    from pipelines.core.specs import load_spec
    from pipelines.core.targets import target_for

    spec_file = ws.root / "specs" / f"{NAME}.yaml"
    if spec_file.exists():
        target_for(load_spec(spec_file, ws.root), "production", ws).destroy()


def row(name: str, samples: list[float], goal: float) -> str:
    median = statistics.median(samples)
    verdict = "met" if median <= goal else "MISSED"
    return (
        f"{name:<44} {median:8.2f} {min(samples):8.2f} {max(samples):8.2f} {goal:8.1f}  "
        f"{verdict} ({len(samples)} runs)"
    )


def run(
    ws: Workspace, interval: float, runs: int, heal: bool, timeout: float
) -> list[tuple[str, list[float], float]]:
    extra = ("--traffic-rps", "20")
    figures = []
    with agents(ws, interval, *extra) as running:
        pushes = time_pushes(ws, running, runs, timeout)
        figures.append(("push to the start of its apply", pushes, interval + 5))
        if heal:
            deploy_first_release(ws, running, timeout)
            heals = time_heals(ws, running, runs, timeout)
            figures.append(("hand-edited weights to healed", heals["weights"], interval))
            figures.append(("stopped server to healed", heals["restart"], interval))
        failovers = time_failovers(ws, running, runs, interval, *extra)
        figures.append(("kill -9 of the leader to a new leader", failovers, 2 * interval))
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--interval", type=float, default=5.0, help="the agents' interval (s)")
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--no-heal", action="store_true", help="skip the deployed part")
    parser.add_argument("--smoke", action="store_true", help="once, 1 s interval, no heal")
    args = parser.parse_args()
    if args.smoke:
        args.interval, args.runs, args.no_heal = 1.0, 1, True
    os.environ.pop("SHIPYARD_STATE_URL", None)
    timeout = 20 * args.interval + 600
    with tempfile.TemporaryDirectory(prefix="shipyard-agent-bench-") as tmp:
        ws = project(Path(tmp) / "project")
        try:
            figures = run(ws, args.interval, args.runs, not args.no_heal, timeout)
        finally:
            if not args.no_heal:
                destroy(ws)
    head = f"{'what (seconds)':<44} {'median':>8} {'min':>8} {'max':>8} {'goal':>8}"
    print(f"{head}  (interval {args.interval:g}s)")
    for name, samples, goal in figures:
        print(row(name, samples, goal))
    if args.smoke:
        print("smoke run: one run each, no heal; the figures mean nothing")


if __name__ == "__main__":
    main()
