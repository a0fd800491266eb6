"""Where approvals come from: records written by `shipyard approve` (local), the reviews of
the pull request that brought a commit (GitHub), and `--approved-by` (an operator's word, for
demos and break-glass; the ledger says which source each approval came from)."""

from __future__ import annotations

import json
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.approvals.rules import Approval, RuleVerdict, missing_approvals
from pipelines.approvals.waivers import WaiverDecision, decide, review_waivers
from pipelines.audit.ledger import LedgerKind
from pipelines.core.errors import ShipyardError, UsageError
from pipelines.core.workspace import Workspace
from validators.gates.result import GateResult
from validators.spec.model import Environment

GITHUB_API = "https://api.github.com"
TOKEN_HINT = (
    "set GITHUB_TOKEN (in a workflow: env GITHUB_TOKEN: ${{ secrets.GITHUB_TOKEN }}, with "
    "permissions pull-requests: read and contents: read) and GITHUB_REPOSITORY=owner/name"
)


@dataclass
class ApprovalCheck:
    """The approvals of one spec at its current digest, ready to judge each environment."""

    digest: str
    approvals: list[Approval]
    author: str | None = None
    source: str = "local"
    teams: dict[tuple[str, str], bool] = field(default_factory=dict)
    github: GitHub | None = None

    def member_of(self, team: str, who: str) -> bool:
        if self.github is None:
            return False
        key = (team, who)
        if key not in self.teams:
            self.teams[key] = self.github.team_member(team, who)
        return self.teams[key]

    def waivers(self, results: list[GateResult], environments: list[Environment]) -> WaiverDecision:
        return decide(
            results,
            environments,
            self.approvals,
            digest=self.digest,
            author=self.author,
            member_of=self.member_of,
        )

    def missing(self, env: Environment) -> tuple[str, list[RuleVerdict]]:
        return missing_approvals(
            env.approvals or (),
            self.approvals,
            env=env.name,
            digest=self.digest,
            author=self.author,
            member_of=self.member_of,
        )


# --- local records --------------------------------------------------------------------------


def record_local(ws: Workspace, spec: str, approval: Approval) -> None:
    """Keep an approval (or waiver) in the state store, where every machine sees it."""
    from pipelines.state.store import open_store

    open_store(ws.state_url).add_approval(spec, dict(approval.__dict__))


def local_approvals(ws: Workspace, spec: str) -> list[Approval]:
    """The approvals `shipyard approve` recorded for `spec`, from any machine."""
    from pipelines.state.engine import shown
    from pipelines.state.store import open_store

    found = []
    for number, record in enumerate(open_store(ws.state_url).approvals(spec), start=1):
        try:
            found.append(Approval(**record))
        except TypeError as exc:
            raise UsageError(
                f"state store {shown(ws.state_url)}: approval record {number} of {spec} is "
                f"not an approval ({exc})",
                hint="approval records are written by `shipyard approve`; record it again",
            ) from None
    return found


# --- GitHub ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class GitHub:
    """The few REST calls approvals need (documented response shapes only)."""

    repo: str
    token: str
    api: str = GITHUB_API

    @classmethod
    def from_env(cls) -> GitHub:
        repo, token = os.environ.get("GITHUB_REPOSITORY", ""), os.environ.get("GITHUB_TOKEN", "")
        if not repo or "/" not in repo or not token:
            raise UsageError(
                "--approvals github needs GITHUB_TOKEN and GITHUB_REPOSITORY", TOKEN_HINT
            )
        return cls(repo, token, os.environ.get("GITHUB_API_URL", GITHUB_API).rstrip("/"))

    def get(self, path: str, missing_ok: bool = False) -> Any:
        request = urllib.request.Request(
            f"{self.api}{path}",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return json.loads(response.read().decode())
        except urllib.error.HTTPError as exc:
            if missing_ok and exc.code == 404:
                return None
            raise ShipyardError(
                f"GitHub API GET {path} answered {exc.code}: {exc.read().decode()[:200]}",
                hint=TOKEN_HINT,
            ) from None
        except (OSError, ValueError) as exc:
            raise ShipyardError(f"GitHub API GET {path} failed: {exc}", hint=TOKEN_HINT) from None

    def open_pull_request(self, head: str, base: str, title: str, body: str) -> str:
        """Open a pull request of branch `head` into `base`; its web address. One that is
        open already for `head` is found, not opened twice (GitHub answers 422)."""
        payload = {"title": title, "head": head, "base": base, "body": body}
        request = urllib.request.Request(
            f"{self.api}/repos/{self.repo}/pulls",
            data=json.dumps(payload).encode(),
            method="POST",
            headers={
                "Authorization": f"Bearer {self.token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return str(json.loads(response.read().decode())["html_url"])
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode()[:300]
            if exc.code == 422:
                owner = self.repo.split("/", 1)[0]
                query = urllib.parse.urlencode({"head": f"{owner}:{head}", "state": "open"})
                found = self.get(f"/repos/{self.repo}/pulls?{query}") or []
                if found:
                    return str(found[0]["html_url"])
            raise ShipyardError(
                f"GitHub API POST /repos/{self.repo}/pulls answered {exc.code}: {detail}",
                hint="the token needs the pull-requests: write permission",
            ) from None
        except (OSError, ValueError, KeyError) as exc:
            raise ShipyardError(f"GitHub API POST /repos/{self.repo}/pulls failed: {exc}") from None

    def pull_request_of(self, sha: str) -> dict[str, Any]:
        pulls = self.get(f"/repos/{self.repo}/commits/{sha}/pulls") or []
        merged = [p for p in pulls if p.get("merge_commit_sha") == sha] or pulls
        if not merged:
            raise ShipyardError(
                f"commit {sha[:12]} did not come from a pull request of {self.repo}",
                hint="changes to specs reach main through reviewed pull requests",
            )
        return dict(merged[0])

    def reviews(self, number: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        page = 1
        while batch := self.get(
            f"/repos/{self.repo}/pulls/{number}/reviews?per_page=100&page={page}"
        ):
            out += batch
            if len(batch) < 100:
                break
            page += 1
        return out

    def blob_at(self, path: str, ref: str) -> str:
        query = urllib.parse.urlencode({"ref": ref})
        found = self.get(
            f"/repos/{self.repo}/contents/{urllib.parse.quote(path)}?{query}", missing_ok=True
        )
        return str(found.get("sha", "")) if isinstance(found, dict) else ""

    def team_member(self, team: str, who: str) -> bool:
        org, slug = team.lstrip("@").split("/", 1)
        found = self.get(f"/orgs/{org}/teams/{slug}/memberships/{who.lstrip('@')}", missing_ok=True)
        return isinstance(found, dict) and found.get("state") == "active"


def github_approvals(github: GitHub, sha: str, spec_path: str) -> tuple[list[Approval], str]:
    """The approving reviews of the pull request that brought `sha` (each user's latest
    decisive review), bound to the spec's blob at the reviewed commit; and the PR's author."""
    pull = github.pull_request_of(sha)
    latest: dict[str, dict[str, Any]] = {}
    for review in sorted(
        github.reviews(int(pull["number"])), key=lambda r: r.get("submitted_at") or ""
    ):
        if review.get("state") in ("APPROVED", "CHANGES_REQUESTED", "DISMISSED"):
            latest[review["user"]["login"].lower()] = review
    blobs: dict[str, str] = {}
    approvals = []
    for login, review in latest.items():
        if review["state"] != "APPROVED":
            continue
        commit = review["commit_id"]
        if commit not in blobs:
            blobs[commit] = github.blob_at(spec_path, commit)
        source = f"github review {review['id']} of #{pull['number']} at {commit[:12]}"
        at = review.get("submitted_at") or ""
        approvals.append(Approval(f"@{login}", blobs[commit], source, at))
        for gate, reason in review_waivers(str(review.get("body") or "")):
            approvals.append(Approval(f"@{login}", blobs[commit], source, at, None, reason, gate))
    return approvals, f"@{pull['user']['login']}"


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def approve_locally(
    ws: Workspace, spec_file: Path, env: str, who: str, reason: str, gate: str | None = None
) -> str:
    """Record `who`'s approval of the spec file as it is now, for `env` (with `gate`: a
    waiver of that gate); the message."""
    from pipelines.approvals.rules import handle, spec_digest
    from pipelines.audit.ledger import ledger_of
    from pipelines.core.specs import load_spec
    from pipelines.core.targets import environment

    path = spec_file if spec_file.is_absolute() else ws.root / spec_file
    spec = load_spec(path, ws.root)
    found = environment(spec, env)  # a clear error when the spec has no such environment
    if gate is not None:
        _require_waiver_rule(found, gate, reason)
    digest = spec_digest(path.read_bytes())
    approval = Approval(handle(who), digest, "shipyard approve", now_iso(), env, reason, gate)
    name = spec.metadata.name
    record_local(ws, name, approval)
    ledger_of(ws).append(
        LedgerKind.APPROVAL_GIVEN,
        name,
        env,
        who=approval.who,
        digest=digest,
        reason=reason,
        gate=gate,
    )
    what = f"waived the {gate} gate of" if gate else "approved"
    return (
        f"{approval.who} {what} {name} for {env} at spec digest {digest[:12]}; any later "
        "edit of the file makes this approval stale"
    )


def _require_waiver_rule(env: Environment, gate: str, reason: str) -> None:
    from pipelines.approvals.waivers import WAIVABLE

    if gate not in WAIVABLE:
        raise UsageError(
            f"--waive {gate}: not a gate that can be waived",
            hint=f"waivable offline gates: {', '.join(WAIVABLE)}",
        )
    if not any(rule.gate == gate for rule in env.approvals or ()):
        raise UsageError(
            f"--waive {gate}: environment {env.name} has no waiver rule for the {gate} gate",
            hint=f'add `{{required: 1, from: ["@who"], gate: {gate}}}` to '
            f"environments[{env.name}].approvals",
        )
    if not reason.strip():
        raise UsageError(
            f"--waive {gate}: a waiver needs a reason", hint="pass --reason 'why it is safe'"
        )
