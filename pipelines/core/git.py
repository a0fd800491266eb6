"""Specs as they are at two Git revisions: which spec files a change touches, and their text on
either side. `head=None` means the working tree (uncommitted edits included)."""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.core.specs import SPECS_DIR

SPEC_SUFFIXES = (".yaml", ".yml")
FETCH_HINT = (
    "fetch the history the revisions need (in GitHub Actions: actions/checkout with "
    "fetch-depth: 0), or check the revision's spelling"
)


@dataclass(frozen=True)
class SpecFileChange:
    """One spec file touched between two revisions; a side is None where it did not exist."""

    path: str  # relative to the repository root, at head (at base when deleted)
    before: str | None
    after: str | None
    before_path: str | None = None  # where a renamed file was at base


def _git(root: Path, *args: str) -> str:
    try:
        result = subprocess.run(
            ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
        )
    except FileNotFoundError:
        raise UsageError("git is not installed; plan --base needs it") from None
    if result.returncode != 0:
        detail = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "failed"
        raise UsageError(f"git {' '.join(args)}: {detail}", hint=FETCH_HINT)
    return result.stdout


def resolve(root: Path, rev: str) -> str:
    """The commit SHA `rev` names."""
    return _git(root, "rev-parse", "--verify", "--quiet", f"{rev}^{{commit}}").strip()


def show(root: Path, rev: str | None, path: str) -> str | None:
    """The file's text at `rev` (None: the working tree); None when it is not there."""
    if rev is None:
        file = root / path
        return file.read_text(encoding="utf-8") if file.is_file() else None
    listed = _git(root, "ls-tree", "--name-only", rev, "--", path).strip()
    return _git(root, "show", f"{rev}:{path}") if listed else None


def spec_changes(
    root: Path, base: str, head: str | None, folder: str = SPECS_DIR
) -> list[SpecFileChange]:
    """The spec files under `folder` that differ between `base` and `head`."""
    base_sha = resolve(root, base)
    revs = [base_sha] if head is None else [base_sha, resolve(root, head)]
    out = _git(root, "diff", "--name-status", "-M", "-z", *revs, "--", folder)
    fields = out.split("\0")
    changes: list[SpecFileChange] = []
    index = 0
    while index < len(fields) and fields[index]:
        status = fields[index]
        if status.startswith(("R", "C")):
            old, new = fields[index + 1], fields[index + 2]
            index += 3
        else:
            old = new = fields[index + 1]
            index += 2
        if not new.endswith(SPEC_SUFFIXES) and not old.endswith(SPEC_SUFFIXES):
            continue
        head_rev = None if head is None else revs[1]
        before = None if status.startswith("A") else show(root, base_sha, old)
        after = None if status.startswith("D") else show(root, head_rev, new)
        changes.append(SpecFileChange(new, before, after, old if old != new else None))
    if head is None:
        changes += _untracked(root, folder)
    return sorted(changes, key=lambda c: c.path)


def _untracked(root: Path, folder: str) -> list[SpecFileChange]:
    """New spec files not yet added to Git (the working tree as head)."""
    out = _git(root, "ls-files", "--others", "--exclude-standard", "-z", "--", folder)
    return [
        SpecFileChange(path, None, show(root, None, path))
        for path in out.split("\0")
        if path.endswith(SPEC_SUFFIXES)
    ]
