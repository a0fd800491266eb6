"""Closing the loop: after apply rolls an environment back, the spec in Git still asks for
the release that failed. A proposal brings the spec back in line with what runs: a patch file
under `.shipyard/proposals/` always, and, in a Git repository whose checked-out spec is the
committed one, a commit on a new branch `shipyard/revert-<spec>-<short sha>` made with
plumbing commands (a private index), so the working tree, the index and the current branch
are never touched.

What the proposal says is decided by `proposed_text` (pure, tested on literals): the spec as
it was before its last change when that version asked for the model that runs now, else the
current spec with `model.uri` set back to the running model.
"""

from __future__ import annotations

import difflib
import os
import re
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from pipelines.audit.ledger import LedgerKind
from pipelines.core.errors import ShipyardError
from pipelines.core.workspace import Workspace
from validators.spec.model import ModelDeployment

PROPOSALS_DIR = "proposals"
BRANCH = "shipyard/revert-{spec}-{short}"
IDENTITY = {  # used only when git has no identity configured
    "GIT_AUTHOR_NAME": "Shipyard",
    "GIT_AUTHOR_EMAIL": "shipyard@localhost",
    "GIT_COMMITTER_NAME": "Shipyard",
    "GIT_COMMITTER_EMAIL": "shipyard@localhost",
}


class ProposalError(ShipyardError):
    """A revert proposal could not be made (the rollback itself is done)."""


@dataclass(frozen=True)
class Proposal:
    path: str  # the spec file, relative to the repository root
    before: str  # the spec as applied
    after: str  # the spec in line with what runs
    how: str  # "restores the spec as of 1a2b3c4" or "sets model.uri back to ..."
    message: str  # the commit message

    def patch(self) -> str:
        """A unified diff `git apply` takes."""
        lines = difflib.unified_diff(
            self.before.splitlines(keepends=True),
            self.after.splitlines(keepends=True),
            f"a/{self.path}",
            f"b/{self.path}",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def proposed_text(
    current: str, spec_uri: str, running: str, previous: tuple[str, str] | None = None
) -> tuple[str, str]:
    """The spec text that asks for `running`, and how it was made. `previous` is (revision,
    text) of the spec before its last change; it is used when it asks for `running` exactly."""
    if previous is not None and _model_uri(previous[1]) == running and previous[1] != current:
        return previous[1], f"restores the spec as of {previous[0][:7]}"
    pattern = re.compile(r"(\buri:\s*)([\"']?)" + re.escape(spec_uri) + r"\2")
    text, count = pattern.subn(
        lambda m: f"{m.group(1)}{m.group(2)}{running}{m.group(2)}", current, 1
    )
    if count == 0 or _model_uri(text) != running:
        raise ProposalError(f"model.uri {spec_uri} not found as written in the spec file")
    return text, f"sets model.uri back to {running}"


def _model_uri(text: str) -> str | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    model = data.get("model") if isinstance(data, dict) else None
    return str(model.get("uri")) if isinstance(model, dict) else None


def make_proposal(
    spec: ModelDeployment,
    path: str,
    current: str,
    env: str,
    failed: str,
    running: str,
    reason: str,
    previous: tuple[str, str] | None = None,
) -> Proposal:
    after, how = proposed_text(current, spec.model.uri, running, previous)
    name = spec.metadata.name
    message = (
        f"Revert {name} to {running}: {env} rolled {failed} back\n\n"
        f"shipyard apply rolled back {failed} in {env} ({reason}); {running} serves there "
        f"again. This change {how}, so the spec asks for what runs.\n"
    )
    return Proposal(path, current, after, how, message)


# --- I/O: the patch file and the branch ------------------------------------------------------


def propose_revert(
    ws: Workspace,
    spec: ModelDeployment,
    spec_file: Path,
    env: str,
    failed: str,
    running: str,
    reason: str,
) -> str:
    """Write the proposal after a rollback; what to tell the user."""
    from pipelines.audit.ledger import ledger_of

    file = spec_file if spec_file.is_absolute() else ws.root / spec_file
    current = file.read_text(encoding="utf-8")
    repo = _repo(file)
    root = repo[0] if repo else ws.root
    rel = file.resolve().relative_to(root.resolve()).as_posix()
    head_text = _show(root, "HEAD", rel) if repo else None
    previous = _previous(root, rel, current, head_text) if repo else None
    proposal = make_proposal(spec, rel, current, env, failed, running, reason, previous)
    short = repo[1][:7] if repo else "worktree"
    name = f"revert-{spec.metadata.name}-{short}"
    patch = ws.state / PROPOSALS_DIR / f"{name}.patch"
    patch.parent.mkdir(parents=True, exist_ok=True)
    patch.write_text(proposal.patch(), encoding="utf-8")
    shown = patch.relative_to(ws.root) if patch.is_relative_to(ws.root) else patch
    branch, why = None, "not in a Git repository with a commit"
    if repo:
        branch, why = _branch(root, repo[1], rel, proposal, spec.metadata.name, head_text)
    ledger_of(ws).append(
        LedgerKind.PROPOSAL,
        spec.metadata.name,
        env,
        patch=str(shown),
        branch=branch,
        how=proposal.how,
    )
    where = f"branch {branch}" if branch else f"no branch ({why})"
    return (
        f"proposed a revert that {proposal.how}: {where}; patch {shown} (`git apply {shown}`) "
        "— merge it to bring the spec back in line with what runs"
    )


def _branch(
    root: Path, head: str, rel: str, proposal: Proposal, spec: str, head_text: str | None
) -> tuple[str | None, str]:
    """Commit the proposal on a new branch off HEAD, when that is safe: (branch, why not)."""
    if head_text is None:
        return None, f"{rel} is not committed"
    if head_text != proposal.before:
        return None, f"{rel} has uncommitted changes; the branch would carry them"
    branch = BRANCH.format(spec=spec, short=head[:7])
    if _git(root, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False):
        return branch, "it exists already"
    mode = _git(root, "ls-tree", "HEAD", "--", rel).split(maxsplit=1)[0]
    blob = _git(root, "hash-object", "-w", "--stdin", stdin=proposal.after)
    with tempfile.TemporaryDirectory() as tmp:
        index = {"GIT_INDEX_FILE": str(Path(tmp) / "index")}
        _git(root, "read-tree", "HEAD", env=index)
        _git(root, "update-index", "--cacheinfo", f"{mode},{blob},{rel}", env=index)
        tree = _git(root, "write-tree", env=index)
    identity = {} if _git(root, "config", "user.email", check=False) else IDENTITY
    commit = _git(
        root, "commit-tree", tree, "-p", head, "-F", "-", stdin=proposal.message, env=identity
    )
    _git(root, "update-ref", f"refs/heads/{branch}", commit, "")
    return branch, ""


def _previous(root: Path, rel: str, current: str, head_text: str | None) -> tuple[str, str] | None:
    """(revision, text) of the spec before its last change: HEAD's when the working tree
    changed it, else the version before the last commit that touched it."""
    if head_text is not None and head_text != current:
        return "HEAD", head_text
    commits = _git(root, "log", "--format=%H", "-n", "2", "HEAD", "--", rel, check=False).split()
    if len(commits) < 2:
        return None
    text = _show(root, commits[1], rel)
    return (commits[1], text) if text is not None else None


def _repo(file: Path) -> tuple[Path, str] | None:
    """(top level, HEAD commit) of the Git repository holding `file`, if any."""
    top = _git(file.parent, "rev-parse", "--show-toplevel", check=False)
    head = _git(file.parent, "rev-parse", "--verify", "--quiet", "HEAD", check=False)
    return (Path(top), head) if top and head else None


def _show(root: Path, rev: str, rel: str) -> str | None:
    listed = _git(root, "ls-tree", "--name-only", rev, "--", rel, check=False)
    return _git(root, "show", f"{rev}:{rel}", strip=False) if listed else None


def _git(
    root: Path,
    *args: str,
    stdin: str | None = None,
    env: dict[str, str] | None = None,
    check: bool = True,
    strip: bool = True,
) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args],
            input=stdin,
            capture_output=True,
            text=True,
            env={**os.environ, **(env or {})},
        )
    except FileNotFoundError:
        if check:
            raise ProposalError("git is not installed") from None
        return ""
    if result.returncode != 0:
        if check:
            raise ProposalError(f"git {' '.join(args)}: {result.stderr.strip()[:200]}")
        return ""
    return result.stdout.strip() if strip else result.stdout
