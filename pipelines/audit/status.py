"""`shipyard status`: per spec and environment, what runs, its traffic, its health, and the
last thing the ledger recorded of it."""

from __future__ import annotations

import time
from pathlib import Path

from pipelines.audit.ledger import ledger_of
from pipelines.core.specs import SPECS_DIR
from pipelines.core.workspace import Workspace
from stacks.target import Slot
from validators.spec.loader import load_all


def status_lines(root: Path) -> list[str]:
    """Per spec and environment: version, weights, health, last run and since when."""
    from pipelines.core.targets import target_for

    ws = Workspace.at(root)
    heads = ledger_of(ws).store.ledger_heads()
    lines = [f"{'spec':<16} {'env':<12} {'version':<24} {'weights':<22} {'health':<8} last run"]
    for report in load_all([ws.root / SPECS_DIR], root=ws.root):
        if report.spec is None:
            continue
        for env in report.spec.environments:
            target = target_for(report.spec, env.name, ws)
            state = target.state()
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
                health = "ready" if target.slot_client(Slot.STABLE).ready() else "down"
            last = heads.get((report.spec.metadata.name, env.name))
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
