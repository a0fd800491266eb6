"""The repository an agent follows: a checkout of its own (under `.shipyard/agent/`), fetched
every interval; the commits on the branch since the last one applied, oldest first; and the
spec files each commit changed.

The agent's checkout is only ever moved to a commit (`git checkout --detach`), never edited:
what it applies is exactly what was pushed. The parts of state a release needs beyond the
checkout — the state store, the MLflow registry, the Bento store and signing key, the host's
servers, the Pulumi backend and passphrase, the DVC cache — are the agent's own project's
(`shared_environment`), as they are for every CI job on a self-hosted runner.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.core.git import SpecFileChange, spec_changes
from pipelines.core.specs import SPECS_DIR
from pipelines.core.workspace import Workspace


class SourceError(UsageError):
    """The repository cannot be fetched or read (a wrong URL, a missing branch, no git)."""


def git(cwd: Path, *args: str, check: bool = True) -> str:
    try:
        done = subprocess.run(
            ["git", "-C", str(cwd), *args],
            capture_output=True,
            text=True,
            check=False,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0"},
        )
    except FileNotFoundError:
        raise SourceError("git is not installed; the agent needs it") from None
    if check and done.returncode != 0:
        detail = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "failed"
        raise SourceError(f"git {' '.join(args)}: {detail}")
    return done.stdout.strip()


class Source:
    """A branch of a repository, followed through a checkout at `checkout`."""

    def __init__(self, url: str, branch: str, checkout: Path) -> None:
        self.url, self.branch, self.checkout = url, branch, checkout

    def sync(self) -> str:
        """Fetch the branch (cloning on first use); the commit at its head."""
        if not (self.checkout / ".git").exists():
            self.checkout.parent.mkdir(parents=True, exist_ok=True)
            git(self.checkout.parent, "clone", "-q", "--no-checkout", self.url, str(self.checkout))
        else:
            git(self.checkout, "remote", "set-url", "origin", self.url)
        git(self.checkout, "fetch", "-q", "origin", f"+refs/heads/{self.branch}:refs/agent/head")
        return git(self.checkout, "rev-parse", "refs/agent/head")

    def commits(self, since: str | None, head: str) -> list[str]:
        """The commits after `since` up to `head`, oldest first, along the branch's first
        parents (a merged pull request is one commit); just `head` when `since` is unknown
        or no longer an ancestor (the branch was rewritten)."""
        if since == head:
            return []
        if since is None or not self._ancestor(since, head):
            return [head]
        listed = git(self.checkout, "rev-list", "--reverse", "--first-parent", f"{since}..{head}")
        return listed.split()

    def move_to(self, sha: str) -> None:
        """The checkout at `sha`, exactly (anything else in it is removed, `.shipyard/` kept)."""
        git(self.checkout, "checkout", "-q", "--detach", "-f", sha)
        git(self.checkout, "clean", "-q", "-fdx", "-e", "/.shipyard/", "-e", "/.dvc/config.local")

    def changed(self, before: str | None, sha: str) -> list[SpecFileChange]:
        """The spec files `sha` changed since `before`; every spec file when `before` is None
        (the agent's first commit: everything is new to it)."""
        if before is None:
            listed = git(self.checkout, "ls-tree", "-r", "--name-only", sha, "--", SPECS_DIR)
            paths = [p for p in listed.splitlines() if p.endswith((".yaml", ".yml"))]
            return [SpecFileChange(p, None, "") for p in paths]
        return spec_changes(self.checkout, before, sha)

    def has(self, sha: str) -> bool:
        """Whether the checkout knows commit `sha` (a rewritten branch may have lost it)."""
        done = subprocess.run(
            ["git", "-C", str(self.checkout), "cat-file", "-e", f"{sha}^{{commit}}"],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0

    def at(self) -> str:
        """The commit the checkout is at ("" before the first: a fresh clone has none)."""
        if not (self.checkout / ".git" / "index").exists():
            return ""
        return git(self.checkout, "rev-parse", "--verify", "--quiet", "HEAD", check=False)

    def push(self, branch: str) -> None:
        """Publish a branch made in the checkout (a revert proposal) to the repository."""
        git(self.checkout, "push", "-q", "origin", f"refs/heads/{branch}:refs/heads/{branch}")

    def subject(self, sha: str) -> str:
        return git(self.checkout, "log", "-1", "--format=%s", sha)

    def _ancestor(self, older: str, newer: str) -> bool:
        done = subprocess.run(
            ["git", "-C", str(self.checkout), "merge-base", "--is-ancestor", older, newer],
            capture_output=True,
            check=False,
        )
        return done.returncode == 0


def shared_environment(home: Workspace, environ: dict[str, str]) -> dict[str, str]:
    """The variables that make every apply of the agent's checkout use the agent project's
    state (`home`), where the environment does not name its own: the team's values win."""
    pulumi = home.pulumi
    defaults = {
        "SHIPYARD_STATE_URL": home.state_url,
        "MLFLOW_TRACKING_URI": home.mlflow_uri,
        "BENTOML_HOME": str(home.bentoml_home),
        "SHIPYARD_LOCAL_HOME": str(home.state / "local"),
        "PULUMI_BACKEND_URL": (pulumi / "state").as_uri(),
    }
    if not (
        environ.get("PULUMI_CONFIG_PASSPHRASE") or environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
    ):
        defaults["PULUMI_CONFIG_PASSPHRASE_FILE"] = str(pulumi / "passphrase")
    return {key: value for key, value in defaults.items() if not environ.get(key)}


def share_dvc_cache(checkout: Path, home: Path) -> None:
    """Point the checkout's DVC cache at the home project's (a local, uncommitted setting):
    the agent of a project's own repository reads the data its owner added, pushed or not."""
    cache = home / ".dvc" / "cache"
    if (checkout / ".dvc").is_dir() and cache.is_dir():
        import sys

        subprocess.run(
            [sys.executable, "-m", "dvc", "cache", "dir", "--local", str(cache)],
            cwd=checkout,
            capture_output=True,
            check=False,
        )
