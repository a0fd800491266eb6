"""What the agent does after a rollback, on real Git and a stand-in for GitHub's REST API
on a free port: the revert branch made in its checkout is pushed to the repository it
follows, and with GITHUB_TOKEN and GITHUB_REPOSITORY set a pull request is opened for it;
with no branch, the patch is named instead. (The loop itself: tests/pipelines/agent/
test_agent_integration.py on the real parts.)"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pipelines.agent.loop import Agent, Tick
from pipelines.agent.notify import Event
from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.outcomes import Outcome
from pipelines.core.workspace import Workspace
from pipelines.release.outcome import ApplyResult, EnvOutcome
from pipelines.state.locks import hold
from tests.fakes.agent import commit_all, git

BRANCH = "shipyard/revert-minimal-abc1234"


@contextmanager
def github() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """POST /repos/acme/models/pulls, answered as GitHub does; what was posted."""
    posted: list[dict[str, Any]] = []

    class Pulls(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            posted.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            ok = self.path == "/repos/acme/models/pulls"
            body = json.dumps({"html_url": "https://github.test/acme/models/pull/7"}).encode()
            self.send_response(201 if ok else 404)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Pulls)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", posted
    finally:
        server.shutdown()
        server.server_close()


def proposed(agent: Agent) -> None:
    """What release/revert.py leaves after a rollback: a branch in the checkout, and the
    `proposal` entry naming it."""
    agent.tick()
    git(agent.source.checkout, "branch", BRANCH)
    ledger = ledger_of(agent.home)
    ledger.append(LedgerKind.PROPOSAL, "minimal", "staging", patch="p", branch=BRANCH, how="h")


def test_the_revert_branch_is_pushed_and_its_pull_request_opened(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    proposed(agent)
    with github() as (api, posted):
        monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
        monkeypatch.setenv("GITHUB_REPOSITORY", "acme/models")
        monkeypatch.setenv("GITHUB_API_URL", api)
        said = agent.publish_proposal("minimal", "staging")
    repo = agent.options.repo
    assert said == (
        f"branch {BRANCH} pushed to {repo}; pull request https://github.test/acme/models/pull/7"
    )
    assert git(Path(repo), "rev-parse", BRANCH) == git(agent.source.checkout, "rev-parse", BRANCH)
    assert [(p["head"], p["base"]) for p in posted] == [(BRANCH, "main")]
    assert posted[0]["title"] == "Revert minimal in staging: its release was rolled back"


def test_without_github_the_branch_alone_and_without_a_branch_the_patch(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    agent.tick()
    assert agent.publish_proposal("minimal", "staging") == (
        "no revert branch (see the patch under .shipyard/proposals/)"
    )
    proposed(agent)
    assert agent.publish_proposal("minimal", "staging") == (
        f"branch {BRANCH} pushed to {agent.options.repo}"
    )


class Recorded:
    """A notifier that keeps what it was asked to send."""

    def __init__(self) -> None:
        self.sent: list[tuple[Event, dict[str, Any]]] = []

    def send(self, event: Event, details: dict[str, Any]) -> str | None:
        self.sent.append((event, dict(details)))
        return None


def test_a_failed_apply_is_marked_and_told_once_for_what_it_is(agent: Agent) -> None:
    told = Recorded()
    agent.notifier = told  # type: ignore[assignment]
    agent.tick()
    ledger = ledger_of(agent.home)
    rolled = EnvOutcome(
        "staging", Outcome.ROLLED_BACK, "models:/m/2", "error rate", 1.0, "models:/m/1"
    )
    agent._judge("minimal", "staging", rolled, "a" * 40)
    assert agent.failed("minimal", "staging") == {
        "commit": "a" * 40,
        "outcome": "rolled back",
        "detail": "error rate",
    }
    ledger.append(LedgerKind.REFUSED, "minimal", "staging", reason="signature")
    agent._judge("minimal", "staging", EnvOutcome("staging", Outcome.BLOCKED, "m"), "b" * 40)
    ledger.append(LedgerKind.BLOCKED, "minimal", "staging", reason="needs 2", digest="d")
    waiting = EnvOutcome("staging", Outcome.BLOCKED, "models:/m/2", "needs @risk")
    agent._judge("minimal", "staging", waiting, "c" * 40)
    assert [(event, d.get("model")) for event, d in told.sent] == [
        (Event.ROLLBACK, "models:/m/2"),
        (Event.APPROVAL_NEEDED, "models:/m/2"),
    ]
    assert told.sent[0][1]["restored"] == "models:/m/1"
    assert told.sent[1][1]["approvers"] == "needs @risk"
    agent._judge("minimal", "staging", EnvOutcome("staging", Outcome.PROMOTED, "m"), "d" * 40)
    assert len(told.sent) == 2


def test_a_rollout_a_dead_run_left_is_applied_again_at_its_commit(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent.tick()
    started = agent.source.at()  # the commit the dead run's rollout came from
    repo = Path(agent.options.repo)
    (repo / "README.md").write_text("later\n", encoding="utf-8")
    head = commit_all(repo, "a later commit")
    assert agent.source.sync() == head
    applied: list[tuple[list[str], str | None, str | None, str]] = []

    def apply_paths(paths: list[Path], root: Path, options: Any, _say: Any) -> ApplyResult:
        at = git(root, "rev-parse", "HEAD").strip()
        where = [str(p.relative_to(root)) for p in paths]
        applied.append((where, options.only_env, options.head, at))
        return ApplyResult([])

    monkeypatch.setattr("pipelines.release.project.apply_paths", apply_paths)
    left = {"commit": "f" * 40, "spec_file": "specs/minimal.yaml", "step": 1}
    agent.store.put_rollout("minimal", "staging", "host pid 1", left)  # no lock held: gone
    agent._resume_left(agent.head_specs(), Tick(head=head))
    assert applied == []  # a commit the repository does not have: left to the heal
    agent.store.put_rollout("minimal", "staging", "host pid 1", {**left, "commit": started})
    agent._resume_left(agent.head_specs(), Tick(head=head))
    assert applied == [(["specs/minimal.yaml"], "staging", started, started)]
    assert agent.source.at() == head


def test_a_rollout_whose_run_is_alive_is_left_to_it(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent.tick()
    head = agent.source.at()
    applied: list[object] = []
    monkeypatch.setattr("pipelines.release.project.apply_paths", lambda *a: applied.append(a))
    left = {"commit": head, "spec_file": "specs/minimal.yaml", "step": 1}
    agent.store.put_rollout("minimal", "staging", "ci", left)
    with hold(agent.store, "minimal/staging", "apply", 1.0, lambda _: None):
        agent._resume_left(agent.head_specs(), Tick(head=head))
    assert applied == []


APPROVED_SPEC = """apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {name: minimal, owners: ["@ml"]}
model: {uri: "models:/minimal/1"}
environments:
  - name: staging
    target: local
    approvals:
      - {required: 1, from: ["@risk"]}
"""


def test_a_spec_blocked_for_approvals_is_applied_once_they_are_given(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pipelines.approvals.sources import approve_locally

    repo = Path(agent.options.repo)
    (repo / "specs" / "minimal.yaml").write_text(APPROVED_SPEC, encoding="utf-8")
    commit_all(repo, "staging needs @risk")
    agent.tick()
    head = agent.source.at()
    applied: list[str | None] = []

    def apply_paths(paths: list[Path], root: Path, options: Any, _say: Any) -> ApplyResult:
        applied.append(options.only_env)
        return ApplyResult([])

    monkeypatch.setattr("pipelines.release.project.apply_paths", apply_paths)
    blocked = {"commit": head, "outcome": "blocked", "detail": "needs 1 of @risk"}
    agent.store.put_value("minimal", "staging", "failed", blocked)
    ledger_of(agent.home).append(
        LedgerKind.BLOCKED, "minimal", "staging", reason="needs 1 of @risk", digest="d"
    )
    agent._retries(agent.head_specs(), Tick(head=head))
    assert applied == []  # still waiting
    checkout = agent.source.checkout
    approve_locally(
        Workspace.at(checkout), checkout / "specs" / "minimal.yaml", "staging", "@risk", "ok"
    )
    agent._retries(agent.head_specs(), Tick(head=head))
    assert applied == ["staging"]
    assert agent.failed("minimal", "staging") is None
    agent._retries(agent.head_specs(), Tick(head=head))
    assert applied == ["staging"]  # once


def test_a_commit_is_not_applied_again_where_it_already_failed(
    agent: Agent, monkeypatch: pytest.MonkeyPatch
) -> None:
    # e.g. its canary was resumed after a crash and rolled back before the commit was marked
    # applied: applying the commit once more would start that canary again
    sha = git(Path(agent.options.repo), "rev-parse", "HEAD").strip()
    applied: list[object] = []
    monkeypatch.setattr("pipelines.release.project.apply_paths", lambda *a: applied.append(a))
    rolled = {"commit": sha, "outcome": "rolled back", "detail": "error rate"}
    agent.store.put_value("minimal", "staging", "failed", rolled)
    tick = agent.tick()
    assert tick.applied == [sha]
    assert applied == []
    assert agent.failed("minimal", "staging") == rolled
