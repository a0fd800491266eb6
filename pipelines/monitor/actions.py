"""What a breach sets off, as the spec's monitoring section says: `alert` (the report and a
non-zero exit, for the scheduled workflow to fail loudly), `propose_retrain` (a JSON event and
a Markdown report naming the drifting features, ready to open as an issue or PR) or
`rollback` (the previous release, through `shipyard rollback`'s own path). Each breaching run
is one `monitor` entry in the ledger, naming the breaches and what was done."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.audit.ledger import LedgerKind
from pipelines.core.errors import ShipyardError
from pipelines.core.output import Say
from pipelines.monitor.run import MonitorRun, Taken
from validators.gates.result import GateResult
from validators.spec import model as m
from validators.spec.model import Monitoring
from validators.spec.resolved import default

if TYPE_CHECKING:
    from pipelines.core.workspace import Workspace
    from pipelines.monitor.run import MonitorRun

# which monitor of the spec owns a result family (and so decides its action)
OWNER = {"drift": "drift", "output": "drift", "accuracy": "drift", "slo": "slo"}
ORDER = ("alert", "propose_retrain", "rollback")


def decide(breached: list[GateResult], monitoring: Monitoring) -> dict[str, list[str]]:
    """Each action to take, with the breaches that call for it (pure)."""
    wanted: dict[str, list[str]] = {}
    for result in breached:
        owner = OWNER.get(result.gate, "drift")
        monitor = monitoring.drift if owner == "drift" else monitoring.slo
        cls = m.DriftMonitor if owner == "drift" else m.SloMonitor
        action = (monitor.action if monitor else None) or str(default(cls, "action"))
        wanted.setdefault(action, []).append(f"{result.gate}: {result.summary()}")
    return {a: wanted[a] for a in ORDER if a in wanted}


def take(
    run: MonitorRun, wanted: dict[str, list[str]], spec_file: Path, ws: Workspace, say: Say
) -> list[Taken]:
    taken = []
    for action in wanted:
        if action == "alert":
            taken.append(Taken("alert", True, "breach reported; exit status 1"))
        elif action == "propose_retrain":
            taken.append(_propose_retrain(run, ws))
        elif action == "rollback":
            taken.append(_rollback(run, spec_file, ws, say))
    _record(run, wanted, taken, ws)
    return taken


def folder(ws: Workspace, spec: str, env: str) -> Path:
    return ws.state / "monitor" / spec / env


def _propose_retrain(run: MonitorRun, ws: Workspace) -> Taken:
    from pipelines.monitor.report import retrain_event, retrain_markdown

    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(run.end))
    base = folder(ws, run.spec, run.env) / f"retrain-{stamp}"
    base.parent.mkdir(parents=True, exist_ok=True)
    event = base.with_suffix(".json")
    event.write_text(json.dumps(retrain_event(run), indent=2) + "\n", encoding="utf-8")
    report = base.with_suffix(".md")
    report.write_text(retrain_markdown(run), encoding="utf-8")
    features = [str(f["feature"]) for f in run.drifting]
    named = ", ".join(features) or "no input feature (output or accuracy)"
    return Taken(
        "propose_retrain", True, f"retrain proposed; drifting: {named}", (str(event), str(report))
    )


def _rollback(run: MonitorRun, spec_file: Path, ws: Workspace, say: Say) -> Taken:
    from pipelines.audit.ledger import ledger_of
    from pipelines.release.rollback import rollback

    last = ledger_of(ws).last(run.spec, run.env, (LedgerKind.ROLLBACK,))
    if last is not None and last.details.get("model") == run.model:
        # the breach outlived a rollback to this very release: going on would ping-pong
        why = f"{run.model} is the release an earlier rollback restored; not rolling back again"
        return Taken("rollback", False, why)
    try:
        detail = rollback(spec_file, run.env, None, ws, say).message
    except ShipyardError as exc:
        return Taken("rollback", False, f"rollback failed: {exc.message}")
    return Taken("rollback", True, detail)


def _record(
    run: MonitorRun, wanted: dict[str, list[str]], taken: list[Taken], ws: Workspace
) -> None:
    from pipelines.audit.ledger import ledger_of

    ledger_of(ws).append(
        LedgerKind.MONITOR,
        run.spec,
        run.env,
        model=run.model,
        window={"start": run.start, "end": run.end, "predictions": run.rows},
        breaches=[b for reasons in wanted.values() for b in reasons],
        drifting=run.drifting,
        actions=[asdict(t) for t in taken],
    )
