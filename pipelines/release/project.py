"""Entry points of apply, rollback and status over the specs of a project."""

from __future__ import annotations

import os
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.core.outcomes import Outcome
from pipelines.core.output import Say
from pipelines.core.specs import load_valid
from pipelines.core.workspace import Workspace
from pipelines.release.apply import apply_spec
from pipelines.release.context import ApplyOptions
from pipelines.release.outcome import ApplyResult


def changed_paths(root: Path, base: str, head: str | None, say: Say) -> list[Path]:
    """The spec files a change adds or edits (removed specs are `shipyard destroy`'s)."""
    from pipelines.core.git import spec_changes

    changes = spec_changes(root, base, head)
    for change in changes:
        if change.after is None:
            say(f"{change.path}: removed from the repository; its environments keep running")
            say(f"  to remove them: shipyard destroy {change.path} --env ENV (at {base})")
    return [root / c.path for c in changes if c.after is not None]


def apply_paths(paths: list[Path], root: Path, options: ApplyOptions, say: Say) -> ApplyResult:
    ws = Workspace.at(root)
    warn_if_ephemeral(ws, say)
    specs = load_valid(paths, ws.root)
    if options.only_env is not None:
        unknown = [
            str(file)
            for spec, file in specs
            if options.only_env not in [e.name for e in spec.environments]
        ]
        if unknown:
            raise UsageError(
                f"--env {options.only_env}: {', '.join(unknown)} has no such environment"
            )
    from pipelines.audit.checkpoint import sealed

    with sealed(ws, "apply", say):
        outcomes = [apply_spec(spec, file, ws, options, say) for spec, file in specs]
    result = ApplyResult(outcomes)
    say("")
    for outcome in outcomes:
        say(
            f"{outcome.spec}: {outcome.outcome}"
            + (f" — {outcome.detail}" if outcome.detail else "")
        )
        if outcome.outcome == Outcome.ROLLED_BACK:
            spec_file = next(file for spec, file in specs if spec.metadata.name == outcome.spec)
            say(f"  fix the cause, then retry: shipyard apply {spec_file}")
    return result


def warn_if_ephemeral(ws: Workspace, say: Say) -> None:
    """Loudly, when this CI job's state dies with its runner: in the log (a GitHub Actions
    warning annotation there) and in the job's summary page."""
    from pipelines.state.engine import ephemeral_warning

    lost = ephemeral_warning(ws.state_url, ws.root, os.environ)
    if lost is None:
        return
    prefix = (
        "::warning title=Shipyard state is not kept::" if os.environ.get("GITHUB_ACTIONS") else ""
    )
    say(f"{prefix}WARNING: {lost}")
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with open(summary, "a", encoding="utf-8") as out:
            out.write(f"> [!WARNING]\n> **Shipyard state is not kept**: {lost}\n\n")
