"""Entry points of apply, rollback and status over the specs of a project."""

from __future__ import annotations

import time
from pathlib import Path

from pipelines.apply import ApplyOptions, ApplyResult, Say, apply_spec, ledger_of
from pipelines.errors import UsageError
from pipelines.specs import SPECS_DIR, load_valid
from pipelines.workspace import Workspace
from stacks.target import Slot
from validators.spec.loader import load_all


def changed_paths(root: Path, base: str, head: str | None, say: Say) -> list[Path]:
    """The spec files a change adds or edits (removed specs are `shipyard destroy`'s)."""
    from pipelines.gitrevs import spec_changes

    changes = spec_changes(root, base, head)
    for change in changes:
        if change.after is None:
            say(f"{change.path}: removed from the repository; its environments keep running")
            say(f"  to remove them: shipyard destroy {change.path} --env ENV (at {base})")
    return [root / c.path for c in changes if c.after is not None]


def apply_paths(paths: list[Path], root: Path, options: ApplyOptions, say: Say) -> ApplyResult:
    ws = Workspace.at(root)
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
    outcomes = [apply_spec(spec, file, ws, options, say) for spec, file in specs]
    result = ApplyResult(outcomes)
    say("")
    for outcome in outcomes:
        say(
            f"{outcome.spec}: {outcome.outcome}"
            + (f" — {outcome.detail}" if outcome.detail else "")
        )
        if outcome.outcome == "rolled back":
            spec_file = next(file for spec, file in specs if spec.metadata.name == outcome.spec)
            say(f"  fix the cause, then retry: shipyard apply {spec_file}")
    return result


def status_lines(root: Path) -> list[str]:
    """Per spec and environment: version, weights, health, last run and since when."""
    from pipelines.targets import target_for
    from validators.serving import ready

    ws = Workspace.at(root)
    ledger = ledger_of(ws)
    lines = [f"{'spec':<16} {'env':<12} {'version':<24} {'weights':<22} {'health':<8} last run"]
    for report in load_all([ws.root / SPECS_DIR], root=ws.root):
        if report.spec is None:
            continue
        for env in report.spec.environments:
            state = target_for(report.spec, env.name, ws).state()
            stable = state.slots.get(Slot.STABLE)
            version = (
                ", ".join(
                    f"{s.value}={st.release.model.rsplit('/', 1)[-1]}"
                    for s, st in state.slots.items()
                )
                or "not deployed"
            )
            weights = " ".join(f"{s.value}:{w}%" for s, w in state.weights.items()) or "-"
            health = "-"
            if stable is not None:
                health = "ready" if ready(stable.url) else "down"
            last = ledger.last(report.spec.metadata.name, env.name)
            when = f"{last.kind} {_ago(last.ts)}" if last else "never"
            lines.append(
                f"{report.spec.metadata.name:<16} {env.name:<12} {version:<24} "
                f"{weights:<22} {health:<8} {when}"
            )
    return lines


def _ago(ts: float) -> str:
    seconds = time.time() - ts
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{seconds / size:.0f}{unit} ago"
    return f"{seconds:.0f}s ago"
