"""`--approvals github` against a local fake of the GitHub REST API serving the documented
response shapes: the merged PR of a commit, its reviews, the spec's blob at each reviewed
commit and team memberships."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
import yaml

from pipelines.approvals.sources import ApprovalCheck, GitHub, github_approvals
from pipelines.core.errors import ShipyardError
from validators.gates.result import GateResult
from validators.spec.model import Environment

REPO = "acme/models"
MERGE, REVIEWED, EARLIER = "m" * 40, "r" * 40, "e" * 40
BLOB_NOW, BLOB_OLD = "1" * 40, "2" * 40
SPEC = "specs/credit-risk.yaml"
GIT_ENV = {
    "PATH": "/usr/bin:/bin",
    "HOME": "/nonexistent",
    "GIT_AUTHOR_NAME": "t",
    "GIT_AUTHOR_EMAIL": "t@example.com",
    "GIT_COMMITTER_NAME": "t",
    "GIT_COMMITTER_EMAIL": "t@example.com",
}


def review(
    id_: int, login: str, state: str, commit: str, at: str, body: str = ""
) -> dict[str, Any]:
    return {
        "id": id_,
        "user": {"login": login},
        "body": body,
        "state": state,
        "commit_id": commit,
        "submitted_at": at,
    }


WAIVE = "Fine by me.\n/waive fairness: the gap is a sampling artefact of the holdout"


ROUTES: dict[str, Any] = {
    f"/repos/{REPO}/commits/{MERGE}/pulls": [
        {"number": 7, "merge_commit_sha": MERGE, "user": {"login": "author"}}
    ],
    f"/repos/{REPO}/pulls/7/reviews": [
        review(1, "risk-ml", "APPROVED", EARLIER, "2026-11-20T10:00:00Z"),  # before an edit
        review(2, "compliance", "APPROVED", REVIEWED, "2026-11-20T11:00:00Z", WAIVE),
        review(3, "author", "APPROVED", REVIEWED, "2026-11-20T11:05:00Z", WAIVE),
        review(4, "dana", "APPROVED", REVIEWED, "2026-11-20T11:10:00Z"),
        review(5, "dana", "COMMENTED", REVIEWED, "2026-11-20T11:20:00Z"),  # keeps the approval
        review(6, "eve", "APPROVED", REVIEWED, "2026-11-20T11:30:00Z"),
        review(7, "eve", "CHANGES_REQUESTED", REVIEWED, "2026-11-20T11:40:00Z"),
    ],
    f"/repos/{REPO}/contents/{SPEC}?ref={REVIEWED}": {"type": "file", "sha": BLOB_NOW},
    f"/repos/{REPO}/contents/{SPEC}?ref={EARLIER}": {"type": "file", "sha": BLOB_OLD},
    "/orgs/acme/teams/risk/memberships/dana": {"state": "active", "role": "member"},
}


OPENED: list[dict[str, Any]] = []  # pull requests the fake opened, as posted


class FakeGitHub(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        posted = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        body: Any
        if self.headers.get("Authorization") != "Bearer t0ken":
            status, body = 401, {"message": "Bad credentials"}
        elif self.path != f"/repos/{REPO}/pulls":
            status, body = 404, {"message": "Not Found"}
        elif any(o["head"] == posted["head"] for o in OPENED):
            status, body = 422, {"message": "A pull request already exists"}
        else:
            OPENED.append(posted)
            status, body = 201, {"html_url": f"https://github.test/{REPO}/pull/{len(OPENED)}"}
        self._answer(status, body)

    def do_GET(self) -> None:
        url = urlsplit(self.path)
        key = url.path + (f"?{url.query}" if "contents" in url.path else "")
        body: Any
        if self.headers.get("Authorization") != "Bearer t0ken":
            status, body = 401, {"message": "Bad credentials"}
        elif url.path == f"/repos/{REPO}/pulls" and "head=" in url.query:
            head = parse_qs(url.query)["head"][0]
            heads = [o for o in OPENED if head == f"acme:{o['head']}"]
            status = 200
            body = [
                {"html_url": f"https://github.test/{REPO}/pull/{OPENED.index(o) + 1}"}
                for o in heads
            ]
        elif "page=2" in url.query:
            status, body = 200, []
        elif key in ROUTES:
            status, body = 200, ROUTES[key]
        elif url.path.endswith("/pulls"):  # a commit no pull request contains
            status, body = 200, []
        else:
            status, body = 404, {"message": "Not Found"}
        self._answer(status, body)

    def _answer(self, status: int, body: Any) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: object) -> None:
        pass


@pytest.fixture(scope="module")
def api() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeGitHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def production(*approvers: str) -> Environment:
    return Environment.model_validate(
        {
            "name": "production",
            "target": "local",
            "approvals": [{"required": 2, "from": list(approvers)}],
        }
    )


def test_reviews_are_bound_to_the_reviewed_spec_and_exclude_the_author(api: str) -> None:
    github = GitHub(REPO, "t0ken", api)
    approvals, author = github_approvals(github, MERGE, SPEC)

    assert author == "@author"
    assert {(a.who, a.digest) for a in approvals} == {
        ("@risk-ml", BLOB_OLD),
        ("@compliance", BLOB_NOW),
        ("@author", BLOB_NOW),
        ("@dana", BLOB_NOW),
    }  # eve's latest decisive review requests changes
    check = ApprovalCheck(BLOB_NOW, approvals, author, "github", github=github)

    missing, (verdict,) = check.missing(production("@risk-ml", "@compliance", "@author"))
    assert verdict.counted == ("@compliance",)
    assert "@risk-ml: stale" in missing
    assert "@author: the change's author" in missing

    missing, (verdict,) = check.missing(production("@compliance", "@acme/risk"))
    assert missing == ""
    assert verdict.counted == ("@compliance", "@dana")  # dana through team acme/risk


def test_a_waiver_line_in_an_approving_review_waives_a_failed_gate(api: str) -> None:
    github = GitHub(REPO, "t0ken", api)
    approvals, author = github_approvals(github, MERGE, SPEC)
    waivers = [(a.who, a.gate, a.reason) for a in approvals if a.gate]
    assert waivers == [
        ("@compliance", "fairness", "the gap is a sampling artefact of the holdout"),
        ("@author", "fairness", "the gap is a sampling artefact of the holdout"),
    ]
    env = Environment.model_validate(
        {
            "name": "production",
            "target": "local",
            "approvals": [{"required": 1, "from": ["@compliance", "@author"], "gate": "fairness"}],
        }
    )
    failed = GateResult("fairness", "sex: dpd", False, 0.2, 0.1, "<=")
    check = ApprovalCheck(BLOB_NOW, approvals, author, "github", github=github)

    decision = check.waivers([failed], [env])

    assert decision.blocking("production") == []
    (used,) = decision.used("production")
    assert used.by == ("@compliance",)  # the author's own waiver does not count


def test_a_bad_token_is_a_clear_error(api: str) -> None:
    with pytest.raises(ShipyardError, match=r"answered 401: .*Bad credentials") as caught:
        github_approvals(GitHub(REPO, "wrong", api), MERGE, SPEC)
    assert "GITHUB_TOKEN" in caught.value.hint


def test_a_commit_without_a_pull_request_is_refused(api: str) -> None:
    with pytest.raises(ShipyardError, match="did not come from a pull request"):
        github_approvals(GitHub(REPO, "t0ken", api), "x" * 40, SPEC)


def test_missing_settings_say_what_to_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GITHUB_TOKEN", raising=False)
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    with pytest.raises(ShipyardError, match="needs GITHUB_TOKEN and GITHUB_REPOSITORY"):
        GitHub.from_env()


def test_the_plan_of_a_pull_request_counts_waivers_from_its_reviews(
    api: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`shipyard plan --base … --approvals github`: the `/waive` line of an approving review
    of the open pull request holding the head commit waives the failed gate there."""
    from pipelines.approvals.rules import spec_digest
    from pipelines.core.workspace import Workspace
    from pipelines.gates.run import GateRun
    from pipelines.plan.planner import SpecSide
    from pipelines.plan.waivers import plan_waivers
    from validators.spec.model import ModelDeployment

    text = (
        "apiVersion: shipyard/v1\nkind: ModelDeployment\n"
        "metadata: {name: credit-risk, owners: ['@risk-ml']}\nmodel: {uri: models:/credit-risk/3}\n"
        "environments:\n  - name: production\n    target: local\n    approvals:\n"
        "      - {required: 1, from: ['@compliance'], gate: fairness}\n"
    )
    (tmp_path / "specs").mkdir()
    (tmp_path / SPEC).write_text(text)
    for argv in (["init", "-q"], ["add", "."], ["commit", "-qm", "spec"]):
        subprocess.run(["git", *argv], cwd=tmp_path, check=True, env=GIT_ENV)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=tmp_path, check=True, capture_output=True, text=True
    ).stdout.strip()
    blob = spec_digest(text.encode())
    routes = {
        f"/repos/{REPO}/commits/{head}/pulls": [
            {"number": 9, "merge_commit_sha": None, "user": {"login": "author"}}
        ],
        f"/repos/{REPO}/pulls/9/reviews": [
            review(11, "compliance", "APPROVED", head, "2026-11-21T09:00:00Z", WAIVE)
        ],
        f"/repos/{REPO}/contents/{SPEC}?ref={head}": {"type": "file", "sha": blob},
    }
    monkeypatch.setattr("tests.pipelines.approvals.test_sources.ROUTES", {**ROUTES, **routes})
    monkeypatch.setenv("GITHUB_REPOSITORY", REPO)
    monkeypatch.setenv("GITHUB_TOKEN", "t0ken")
    monkeypatch.setenv("GITHUB_API_URL", api)
    spec = ModelDeployment.model_validate(yaml.safe_load(text))
    failed = GateResult("fairness", "sex: dpd", False, 0.2, 0.1, "<=")
    runs = {"credit-risk": GateRun("credit-risk", "models:/credit-risk/3", {}, [failed])}
    after = {"credit-risk": SpecSide(SPEC, spec)}

    decision = plan_waivers(Workspace.at(tmp_path), head, after, runs, "github")["credit-risk"]
    assert decision.opens_first
    (used,) = decision.used("production")
    assert used.reasons == ("@compliance: the gap is a sampling artefact of the holdout",)
    local = plan_waivers(Workspace.at(tmp_path), head, after, runs)["credit-risk"]
    assert not local.opens_first  # no `shipyard approve --waive` record here


def test_a_revert_pull_request_is_opened_once(api: str) -> None:
    github = GitHub(REPO, "t0ken", api)
    branch = "shipyard/revert-credit-abc1234"
    url = github.open_pull_request(branch, "main", "Revert credit", "why")
    assert url.startswith(f"https://github.test/{REPO}/pull/")
    assert OPENED[-1] == {"title": "Revert credit", "head": branch, "base": "main", "body": "why"}
    assert github.open_pull_request(branch, "main", "Revert credit", "why") == url  # found
    with pytest.raises(ShipyardError, match=r"answered 401") as caught:
        GitHub(REPO, "wrong", api).open_pull_request(branch, "main", "t", "b")
    assert "pull-requests: write" in caught.value.hint
