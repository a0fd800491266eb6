"""`shipyard agent` end to end on the real parts: a bare Git remote (file://) the developer's
clone pushes to, followed by two agent processes on the deploy host sharing a real
PostgreSQL state store, the real local target (supervisord, BentoML servers, nginx), MLflow
and DVC of a project after `shipyard init`. No CI runs: pushes to `main` are the only input.

In order (one project, one pair of agents, as a team would run them):
1. one agent leads, the other stands by; a pushed spec is applied within two intervals;
2. a stopped server and weights edited by hand are healed, each recorded;
3. a release that fails only on live traffic is rolled back by its canary, a revert is
   proposed, and it is not applied again on later ticks (no re-apply loop);
4. an operator aborts a canary through the API; `shipyard retry` applies it again;
   `shipyard promote` (the CLI, through the state store) skips the remaining steps;
5. `kill -9` of the leader mid-canary: the standby takes over and resumes the canary after
   the step it had reached (not deployed again, analysis going on within an interval of the
   take-over), through to promotion.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from pipelines.audit.ledger import LedgerEntry, ledger_of
from pipelines.core.workspace import Workspace
from pipelines.demo.init import init_workspace
from pipelines.state.store import forget_stores
from tests.fakes.agent import AgentProcess, git, wait_for
from tests.fakes.apply import (
    REPO,
    Rollout,
    deployed,
    processes_mentioning,
    register_copy,
    settled,
    shipyard,
    write_spec,
)
from tests.fakes.postgres import PostgresServer

pytestmark = pytest.mark.integration

NAME = "agent-trial"
SPEC = f"specs/{NAME}.yaml"
INTERVAL = 2.0
TRAFFIC = 60.0
# As in test_apply_integration: at 50% of 60 requests/s the faulty model's ~2.6% failures are
# told from the allowed 1% well within the pause; a good canary passes once it is over.
ROLLOUT = Rollout(weight=50, pause="20s", interval="2s", failure_limit=1, min_requests=100)
SUPERVISORCTL = Path(sys.executable).with_name("supervisorctl")
WAIT = 600.0  # builds and canaries on a busy 2-core host


@dataclass
class Team:
    ws: Workspace
    versions: dict[str, str]
    agents: list[AgentProcess]
    start: Callable[[str], AgentProcess]

    def leader(self) -> AgentProcess:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            for agent in self.agents:
                if agent.leads():
                    return agent
            time.sleep(0.5)
        raise AssertionError("no agent leads: " + " | ".join(a.said()[-2000:] for a in self.agents))

    def standby(self) -> AgentProcess:
        leader = self.leader()
        return next(a for a in self.agents if a is not leader and a.alive())

    def push(self, message: str, version: str) -> float:
        """The spec serving `version`, committed on main; when it was committed."""
        write_spec(
            self.ws, SPEC, NAME, version, ROLLOUT, environments=("production",), approvals=False
        )
        git(self.ws.root, "add", "-A")
        git(self.ws.root, "commit", "-q", "-m", message)
        git(self.ws.root, "push", "-q", "origin", "main")
        return time.time()

    def entries(self, since: int = 0) -> list[LedgerEntry]:
        return [e for e in ledger_of(self.ws).entries(NAME) if e.seq > since]

    def wait_for(self, what: str, found: Callable[[], Any], timeout: float = WAIT) -> Any:
        return wait_for(what, found, timeout, self.agents, every=0.5)

    def service(self, agent: AgentProcess | None = None) -> dict[str, Any]:
        services = (agent or self.leader()).get("/status")["services"]
        return next((s for s in services if s["spec"] == NAME), {})


def canary_weight(team: Team, agent: AgentProcess) -> int | None:
    return (team.service(agent).get("weights") or {}).get("canary")


def last_seq(team: Team) -> int:
    entries = ledger_of(team.ws).entries()
    return max((e.seq for e in entries), default=0)


@pytest.fixture(scope="module")
def team(
    tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer
) -> Iterator[Team]:
    root = tmp_path_factory.mktemp("agent-project")
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True)
    suite = "validators/suites/credit.yaml"
    (root / suite).parent.mkdir(parents=True)
    (root / suite).write_text((REPO / suite).read_text(encoding="utf-8"), encoding="utf-8")
    (root / "specs").mkdir()
    url = postgres_server.fresh_database("agent")
    saved = os.environ.get("SHIPYARD_STATE_URL")
    os.environ["SHIPYARD_STATE_URL"] = url
    ws = Workspace.at(root)
    init = init_workspace(ws, say=lambda _: None)
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "the project, after shipyard init")
    remote = root.parent / f"{root.name}-remote.git"  # the team's repository: a bare remote
    subprocess.run(["git", "init", "-q", "--bare", "-b", "main", str(remote)], check=True)
    git(root, "remote", "add", "origin", remote.as_uri())
    git(root, "push", "-q", "origin", "main")
    agents: list[AgentProcess] = []

    def start(name: str) -> AgentProcess:
        extra = ("--repo", remote.as_uri(), "--traffic-rps", f"{TRAFFIC:g}")
        agent = AgentProcess.launch(root, name, INTERVAL, {"SHIPYARD_STATE_URL": url}, *extra)
        agents.append(agent)
        return agent

    spec_file = root / SPEC
    write_spec(
        ws,
        SPEC,
        NAME,
        init.versions["good"],
        ROLLOUT,
        environments=("production",),
        approvals=False,
    )
    try:
        with deployed(ws, spec_file, ("production",)):
            spec_file.unlink()  # (written for `deployed` to know the stack): pushed by test 1
            yield Team(ws, init.versions, agents, start)
            for agent in agents:
                agent.stop()
    finally:
        for agent in agents:
            if agent.alive():
                os.killpg(agent.process.pid, signal.SIGKILL)
        if saved is None:
            os.environ.pop("SHIPYARD_STATE_URL", None)
        else:
            os.environ["SHIPYARD_STATE_URL"] = saved
        forget_stores()
    left = settled(lambda: processes_mentioning(str(root)))
    assert not left, f"processes still mention {root}: {left}"


def test_one_agent_leads_and_a_pushed_spec_is_applied_within_two_intervals(team: Team) -> None:
    first, second = team.start("a"), team.start("b")
    leader = team.leader()
    standby = team.standby()
    team.wait_for("the standby to say so", lambda: "standing by" in standby.said(), 60)
    assert {leader.name, standby.name} == {first.name, second.name}
    assert standby.healthz() == {"ok": True, "leader": False}

    pushed = team.push("deploy agent-trial", team.versions["good"])
    applying = team.wait_for(
        "the agent to start applying",
        lambda: [
            e for e in ledger_of(team.ws).entries("agent") if e.details.get("event") == "apply"
        ],
    )
    assert applying[0].details["specs"] == [SPEC]
    started_s = applying[0].ts - pushed
    print(f"push to the start of the apply: {started_s:.2f}s (interval {INTERVAL:g}s)")
    assert started_s <= 2 * INTERVAL + 5

    team.wait_for(
        "the release promoted", lambda: [e for e in team.entries() if e.kind == "promoted"]
    )
    team.wait_for("it to serve", lambda: team.service().get("ready"), 60)
    service = team.service()
    assert (service["weights"], service["phase"]) == ({"stable": 100}, "Healthy")
    assert [e.kind for e in team.entries()].count("promoted") == 1
    assert service["commit"] == git(team.ws.root, "rev-parse", "HEAD")
    # the spec's monitoring ran in the agent, not in a cron job: its run sealed the ledger
    team.wait_for(
        "the agent's monitor run",
        lambda: [c for c in ledger_of(team.ws).store.checkpoints() if c["reason"] == "monitor"],
        120,
    )


def test_a_stopped_server_and_hand_edited_weights_are_healed(team: Team) -> None:
    leader = team.leader()
    base = team.ws.state / "local" / f"{NAME}-production"
    seq = last_seq(team)
    started = time.monotonic()
    stopped = subprocess.run(
        [
            str(SUPERVISORCTL),
            "-c",
            str(base / "supervisor" / "supervisord.conf"),
            "stop",
            "bento-stable",
        ],
        capture_output=True,
        text=True,
    )
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    healed = team.wait_for(
        "the stopped server to be healed",
        lambda: [e for e in team.entries(seq) if e.kind == "healed"],
    )
    assert healed[0].details["heal"] == "restart", healed
    team.wait_for("the server to answer again", lambda: team.service(leader).get("ready"))
    print(f"stopped server healed in {time.monotonic() - started:.1f}s")

    conf = base / "nginx" / "nginx.conf"
    text = conf.read_text(encoding="utf-8")
    assert text.count(" weight=100 ") == 1
    seq, started = last_seq(team), time.monotonic()
    conf.write_text(text.replace(" weight=100 ", " weight=40 "), encoding="utf-8")
    healed = team.wait_for(
        "the edited weights to be healed",
        lambda: [e for e in team.entries(seq) if e.kind == "healed"],
    )
    assert healed[0].details["heal"] == "weights", healed
    print(f"edited weights healed in {time.monotonic() - started:.1f}s")
    team.wait_for("nginx.conf as it was", lambda: conf.read_text(encoding="utf-8") == text, 60)


def test_a_release_failing_on_live_traffic_rolls_back_once_and_is_not_reapplied(team: Team) -> None:
    seq = last_seq(team)
    team.push("a model that fails on live traffic", team.versions["faulty"])
    faulty = f"models:/credit-risk/{team.versions['faulty']}"
    rollback = team.wait_for(
        "the faulty canary to be rolled back",
        lambda: [
            e
            for e in team.entries(seq)
            if e.kind == "rollback" and e.details.get("model") == faulty
        ],
    )
    assert "error rate" in rollback[0].details["reason"]
    proposal = team.wait_for(
        "a revert proposal", lambda: [e for e in team.entries(seq) if e.kind == "proposal"], 60
    )
    branch = proposal[0].details["branch"]
    team.wait_for(
        "the revert branch pushed to the repository",
        lambda: git(team.ws.root, "ls-remote", "--heads", "origin", branch),
        60,
    )
    git(team.ws.root, "fetch", "-q", "origin", branch)
    proposed = git(team.ws.root, "show", f"FETCH_HEAD:{SPEC}")
    assert f"models:/credit-risk/{team.versions['good']}" in proposed
    time.sleep(5 * INTERVAL)  # five more ticks: none may apply the faulty model again
    canaries = [
        e for e in team.entries(seq) if e.kind == "deploy" and e.details.get("model") == faulty
    ]
    assert len(canaries) == 1, [(e.kind, e.details) for e in team.entries(seq)]
    service = team.service()
    assert service["phase"] == "Degraded"
    assert service["failed"]["outcome"] == "rolled back"
    assert service["weights"] == {"stable": 100}


def test_operators_abort_retry_and_promote(team: Team) -> None:
    leader = team.leader()
    version = register_copy(team.ws, team.versions["good"])
    model = f"models:/credit-risk/{version}"
    seq = last_seq(team)
    team.push("the good model, registered again", version)
    team.wait_for("the canary at its weight", lambda: canary_weight(team, leader) == ROLLOUT.weight)
    assert leader.post(f"/rollouts/{NAME}/production/abort", token="wrong")[0] == 401

    status, answer = leader.post(f"/rollouts/{NAME}/production/abort")
    assert status == 200, answer
    assert answer["done"].startswith("aborted: all traffic back on stable")
    aborted = team.wait_for(
        "the abort in the ledger",
        lambda: [
            e for e in team.entries(seq) if e.kind == "rollback" and e.details.get("model") == model
        ],
    )
    assert aborted[0].details["reason"] == "aborted by oncall"
    team.wait_for("the failed mark", lambda: team.service(leader)["phase"] == "Degraded", 60)

    retried = shipyard(team.ws, "retry", SPEC, "--env", "production", "--by", "alice")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    assert "the agent applies it at its next tick" in retried.stdout
    team.wait_for("the canary again", lambda: canary_weight(team, leader) == ROLLOUT.weight)

    promoted = shipyard(team.ws, "promote", SPEC, "--env", "production", "--by", "alice")
    assert promoted.returncode == 0, promoted.stdout + promoted.stderr
    assert "promoting: the remaining steps are skipped" in promoted.stdout
    done = team.wait_for(
        "the promotion",
        lambda: [
            e for e in team.entries(seq) if e.kind == "promoted" and e.details.get("model") == model
        ],
    )
    assert done[0].details["promoted_by"] == "alice"
    team.wait_for("the environment healthy", lambda: team.service(leader).get("phase") == "Healthy")


def test_kill_9_of_the_leader_mid_canary_the_standby_resumes_it(team: Team) -> None:
    leader, standby = team.leader(), team.standby()
    version = register_copy(team.ws, team.versions["good"])
    model = f"models:/credit-risk/{version}"
    seq = last_seq(team)
    team.push("the good model, once more", version)
    team.wait_for(
        "the canary at its weight",
        lambda: (team.service(leader).get("weights") or {}).get("canary") == ROLLOUT.weight,
    )

    killed = leader.kill9()  # the agent alone, as the OOM killer would
    team.wait_for("the standby to lead", lambda: standby.healthz().get("leader"), 60)
    failover_s = time.time() - killed
    print(f"failover after kill -9: {failover_s:.2f}s")
    assert failover_s <= 2 * INTERVAL + 5

    resumed = team.wait_for(
        "the dead leader's canary resumed",
        lambda: [e for e in team.entries(seq) if e.kind == "resumed"],
        120,
    )
    assert resumed[0].details["step"] == 1, resumed[0].details
    analysed = team.wait_for(
        "analysis of the resumed canary",
        lambda: [e for e in team.entries(resumed[0].seq) if e.kind == "analysis"],
        120,
    )
    judged_s = analysed[0].ts - killed
    print(f"canary resumed {resumed[0].ts - killed:.2f}s, analysed {judged_s:.2f}s after the kill")
    assert judged_s <= failover_s + INTERVAL + 30  # the re-apply's gates and build check first
    promoted = team.wait_for(
        "the resumed release promoted",
        lambda: [
            e for e in team.entries(seq) if e.kind == "promoted" and e.details.get("model") == model
        ],
    )
    assert promoted
    entries = team.entries(seq)
    canaries = [e for e in entries if e.kind == "deploy" and e.details.get("slot") == "canary"]
    assert len(canaries) == 1, canaries  # deployed by the dead leader, not again
    assert "rollback" not in [e.kind for e in entries]
    assert team.service(standby)["weights"] == {"stable": 100}
    verified = shipyard(team.ws, "audit", "verify", timeout=120)
    assert verified.returncode == 0, verified.stdout + verified.stderr
