"""`shipyard demo --agent`: the demo's release story told by `shipyard agent`, with no CI at
all. A team repository (a bare Git repository under `.shipyard/demo/agent/`) holds the
project's spec, data pointers and suite; a developer's clone commits and pushes; an agent on
this host follows `main` and does the rest:

1. the good model is pushed (and approved for production, as a reviewer would in code
   review): the agent applies it through staging to production;
2. the faulty model is pushed: fine offline and in staging, its production canary fails on
   live traffic and is rolled back; the agent pushes the revert branch to the team
   repository and, on the ticks after, does not apply that commit again.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from pipelines.audit.ledger import LedgerEntry, LedgerKind, ledger_of
from pipelines.core.output import Say
from pipelines.core.workspace import Workspace

INTERVAL = 5.0  # the demo agent's interval (a team's default is 30s)
WAIT = 1200.0  # seconds one step of the story may take on a busy 2-core laptop
NAME = "credit-risk"
BRANCH = "main"


@dataclass(frozen=True)
class TeamRepo:
    remote: Path  # the bare repository the team pushes to
    clone: Path  # the developer's clone

    @property
    def url(self) -> str:
        return self.remote.as_uri()


def team_files(ws: Workspace) -> list[str]:
    """What an apply of the demo spec reads from the repository (the data itself comes from
    DVC): the spec, its expectations suite, the DVC pointers and configuration."""
    from pipelines.demo import DEMO_SPEC
    from pipelines.demo.init import DATASETS

    wanted = [
        DEMO_SPEC.as_posix(),
        "validators/suites/credit.yaml",
        ".dvc/config",
        ".dvcignore",
        "data/credit/.gitignore",
        *(f"{path}.dvc" for path in DATASETS),
    ]
    return [path for path in wanted if (ws.root / path).is_file()]


def team_repository(ws: Workspace, say: Say) -> TeamRepo:
    """A new team repository and developer clone holding what the spec will need, but no
    spec yet (made again on every run: the story starts from its first commit)."""
    from pipelines.agent.source import git
    from pipelines.demo import DEMO_SPEC

    base = ws.state / "demo" / "agent"
    shutil.rmtree(base, ignore_errors=True)
    repo = TeamRepo(base / "team.git", base / "developer")
    repo.remote.mkdir(parents=True)
    git(repo.remote, "init", "-q", "--bare", "-b", BRANCH)
    repo.clone.mkdir()
    git(repo.clone, "init", "-q", "-b", BRANCH)
    for path in team_files(ws):
        if path != DEMO_SPEC.as_posix():
            (repo.clone / path).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ws.root / path, repo.clone / path)
    git(repo.clone, "remote", "add", "origin", repo.url)
    _commit(repo, "credit-risk data (DVC pointers) and expectations")
    say(f"team repository: {repo.remote} (the developer's clone: {repo.clone})")
    return repo


def _commit(repo: TeamRepo, message: str) -> str:
    from pipelines.agent.source import git

    git(repo.clone, "add", "-A")
    who = ["-c", "user.name=Demo Developer", "-c", "user.email=developer@example.com"]
    git(repo.clone, *who, "commit", "-q", "-m", message)
    git(repo.clone, "push", "-q", "origin", BRANCH)
    return git(repo.clone, "rev-parse", "HEAD").strip()


def push_version(ws: Workspace, repo: TeamRepo, version: str, message: str, say: Say) -> str:
    """The demo spec pointing at `version`, approved for production by the demo's reviewer,
    committed and pushed; the commit."""
    from pipelines.approvals.sources import approve_locally
    from pipelines.demo import DEMO_SPEC, REVIEWER
    from pipelines.demo.story import spec_text

    spec = repo.clone / DEMO_SPEC
    spec.parent.mkdir(parents=True, exist_ok=True)
    spec.write_text(spec_text(ws, version), encoding="utf-8")
    say(f"$ shipyard approve {DEMO_SPEC} --env production --as {REVIEWER}   (code review)")
    say(approve_locally(ws, spec, "production", REVIEWER, "reviewed in the demo"))
    sha = _commit(repo, message)
    say(f"$ git commit -m {message!r} && git push origin {BRANCH}   => {sha[:12]}")
    return sha


STOPS = (LedgerKind.ROLLBACK, LedgerKind.BLOCKED, LedgerKind.REFUSED)  # an apply that failed


def wait_for_entry(
    ws: Workspace, after: int, found: Callable[[LedgerEntry], bool], what: str, say: Say
) -> LedgerEntry | None:
    """The first ledger entry of the demo spec after `after` that `found` accepts; None
    (saying why) when an entry that ends the apply otherwise comes first, or on timeout."""
    deadline = time.monotonic() + WAIT
    while time.monotonic() < deadline:
        for entry in ledger_of(ws).entries(NAME):
            if entry.seq <= after:
                continue
            if found(entry):
                return entry
            if entry.kind in STOPS:
                reason = entry.details.get("reason", "")
                say(f"=> {entry.kind} in {entry.env} before {what}: {reason}")
                return None
        time.sleep(1.0)
    say(f"gave up waiting for {what} after {WAIT:g}s")
    return None


def last_seq(ws: Workspace) -> int:
    return max((e.seq for e in ledger_of(ws).entries()), default=0)


def run_agent_demo(ws: Workspace, say: Say, keep_serving: bool = False) -> int:
    """0 when the agent did what the story says it should."""
    from pipelines.agent.loop import Agent, AgentOptions
    from pipelines.demo import TRAFFIC_RPS, require_checkout
    from pipelines.demo.init import init_workspace
    from pipelines.demo.story import finish

    require_checkout(ws)
    say("== 1. set up the embedded default (.shipyard/): MLflow, DVC, data, models")
    versions = init_workspace(ws, say).versions
    say("\n== 2. a team repository, and an agent following it (no CI)")
    repo = team_repository(ws, say)
    options = AgentOptions(repo=repo.url, branch=BRANCH, interval=INTERVAL, traffic_rps=TRAFFIC_RPS)
    say(f"$ shipyard agent --repo {repo.url} --interval {INTERVAL:g}s --traffic {TRAFFIC_RPS:g}")
    where = os.getcwd()  # the agent works in its own checkout
    agent = Agent(ws, options, lambda line: say(f"  [agent] {line}"))
    loop = threading.Thread(target=agent.run, name="demo-agent", daemon=True)
    as_expected = False
    try:
        loop.start()
        as_expected = _story(ws, repo, versions, say)
    finally:
        agent.stopped.set()
        agent.wake.set()
        loop.join(timeout=WAIT)
        os.chdir(where)
        say("\n== 5. what runs now")
        finish(ws, keep_serving, say)
    say("\nthe story went as expected" if as_expected else "\nSOMETHING DID NOT GO AS EXPECTED")
    return 0 if as_expected else 1


def _story(ws: Workspace, repo: TeamRepo, versions: dict[str, str], say: Say) -> bool:
    good, faulty = versions["good"], versions["faulty"]
    say(f"\n== 3. push v{good} (good): the agent applies it through staging to production")
    seq = last_seq(ws)
    pushed = time.monotonic()
    push_version(ws, repo, good, f"credit-risk: serve v{good}", say)
    promoted = wait_for_entry(
        ws,
        seq,
        lambda e: e.env == "production" and e.kind == LedgerKind.PROMOTED,
        "production to serve the good model",
        say,
    )
    if promoted is None:
        return False
    say(f"=> v{good} serves production, {time.monotonic() - pushed:.0f}s after the push")

    say(
        f"\n== 4. push v{faulty}: fine offline and in staging, fails on ~3% of live traffic — "
        "the agent's canary must roll back, and the agent must not apply it again"
    )
    seq = last_seq(ws)
    pushed = time.monotonic()
    sha = push_version(ws, repo, faulty, f"credit-risk: serve v{faulty}", say)
    rolled = wait_for_entry(
        ws,
        seq,
        lambda e: e.env == "production" and e.kind == LedgerKind.ROLLBACK,
        "the faulty canary's rollback",
        say,
    )
    if rolled is None:
        return False
    say(
        f"=> rolled back {time.monotonic() - pushed:.0f}s after the push: "
        f"{rolled.details.get('reason')}"
    )
    branch = _revert_branch(repo)
    if not branch:
        say("no revert branch reached the team repository")
        return False
    say(f"=> revert proposed: branch {branch} pushed to the team repository")
    return _not_applied_again(ws, sha, say)


def _revert_branch(repo: TeamRepo) -> str:
    """The revert branch the agent pushed to the team repository ("" if none came)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        listed = subprocess.run(
            ["git", "-C", str(repo.remote), "branch", "--list", "shipyard/revert-*"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.split()
        if listed:
            return listed[-1]
        time.sleep(1.0)
    return ""


def _not_applied_again(ws: Workspace, sha: str, say: Say) -> bool:
    """Over the next two intervals, the rolled-back commit is not applied a second time."""
    time.sleep(2 * INTERVAL + 1)
    applies = [
        e
        for e in ledger_of(ws).entries("agent")
        if e.details.get("event") == "apply" and e.details.get("commit") == sha
    ]
    say(
        f"=> {len(applies)} apply of {sha[:12]} in the ledger after two more intervals: "
        + ("the agent does not re-apply a rolled-back commit" if len(applies) == 1 else "A LOOP")
    )
    return len(applies) == 1
