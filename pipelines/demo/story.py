"""Steps of the demo's release story, each one `shipyard apply` of a demo model."""

from __future__ import annotations

from collections import Counter

from pipelines.core.outcomes import Outcome
from pipelines.core.output import Say
from pipelines.core.workspace import Workspace
from stacks.reach.client import SlotClient
from validators.gates.result import Gate
from validators.spec.model import ModelDeployment

# The demo model's input columns (the data set's, less the label and the sensitive feature).
_COLUMNS = (
    "age",
    "income",
    "debt_ratio",
    "utilization",
    "credit_history_months",
    "num_credit_lines",
    "late_payments_12m",
    "loan_amount",
    "loan_term_months",
    "savings",
    "employment",
    "home",
    "purpose",
    "region",
)


def spec_text(ws: Workspace, version: str) -> str:
    """The demo spec pointing at another registered version (what a PR would change)."""
    text = (ws.root / "specs" / "credit-risk.yaml").read_text(encoding="utf-8")
    return text.replace("models:/credit-risk/1", f"models:/credit-risk/{version}")


def variant_file(ws: Workspace, version: str, variant: str) -> str:
    """`spec_text` in a file of its own under `.shipyard/demo/specs/`."""
    text = spec_text(ws, version)
    path = ws.state / "demo" / "specs" / f"credit-risk-{variant}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def release(ws: Workspace, version: str, variant: str, expected: set[Outcome], say: Say) -> bool:
    from pathlib import Path

    from pipelines.core.specs import load_spec
    from pipelines.demo import REVIEWER, TRAFFIC_RPS
    from pipelines.release.apply import apply_spec
    from pipelines.release.context import ApplyOptions

    spec_file = Path(variant_file(ws, version, variant))
    say(
        f"$ shipyard apply {spec_file.relative_to(ws.root)} --approved-by {REVIEWER} "
        f"--traffic {TRAFFIC_RPS:g}"
    )
    options = ApplyOptions(approved_by=(REVIEWER,), traffic_rps=TRAFFIC_RPS)
    outcome = apply_spec(load_spec(spec_file, ws.root), spec_file, ws, options, say)
    stages = ", ".join(f"{k} {v:.0f}s" for k, v in outcome.stages.items())
    say(f"=> {outcome.outcome}" + (f" ({stages})" if stages else ""))
    if outcome.outcome == Outcome.ROLLED_BACK:  # the story's rollback is production's canary
        return Outcome.ROLLED_BACK in expected and outcome.envs[-1].env == "production"
    return outcome.outcome in expected


def watch_drift(ws: Workspace, say: Say) -> bool:
    """Drifted applicants reach production; `shipyard monitor`, over the window of that
    traffic, must see the drift and act as the spec says (propose a retrain)."""
    import math
    import time

    from pipelines.core.specs import load_spec
    from pipelines.core.targets import target_for
    from pipelines.monitor.engine import monitor
    from pipelines.monitor.report import render_text
    from pipelines.monitor.run import Options

    spec_file = ws.root / "specs" / "credit-risk.yaml"
    spec = load_spec(spec_file, ws.root)
    target = target_for(spec, "production", ws)
    endpoint = target.state().endpoint
    if endpoint is None:
        say("production does not run: nothing to monitor")
        return False
    started = time.time()
    statuses = _send_drifted(ws, spec, target.slot_client(None), DRIFTED_ROWS, DRIFTED_RPS)
    window = f"{math.ceil(time.time() - started) + 2}s"
    say(
        f"sent {sum(statuses.values())} applicants from the generator's drift mode to "
        f"production at {DRIFTED_RPS:g} rps (answers: {dict(statuses)})"
    )
    say(f"$ shipyard monitor {spec_file.relative_to(ws.root)} --env production --window {window}")
    result = monitor([spec_file], ws, Options(env="production", window=window), say)
    say(render_text(result))
    taken = [t.action for run in result.runs for t in run.actions if t.done]
    drifted = any(not r.passed for run in result.runs for r in run.results if r.gate == Gate.DRIFT)
    return drifted and taken == ["propose_retrain"]


DRIFTED_ROWS, DRIFTED_RPS = 1500, 100.0


def _send_drifted(
    ws: Workspace, spec: ModelDeployment, client: SlotClient, count: int, rps: float
) -> Counter[int]:
    """`count` drifted applicants, typed as the evaluation rows, one per request at `rps`."""
    import math
    import time

    from pipelines.demo.dataset import generate
    from pipelines.release.serving import sample_rows
    from pipelines.release.traffic import Replay

    example = sample_rows(spec, ws.root, list(_COLUMNS), 1)[0]
    typed = {k: type(v) for k, v in example.items() if v is not None}
    rows = [
        {
            k: None if isinstance(v, float) and math.isnan(v) else typed.get(k, float)(v)
            for k, v in record.items()
            if k in _COLUMNS
        }
        for record in generate(count, 7, drift=True).to_dict(orient="records")
    ]
    replay = Replay(lambda body: client.post("predict", body), rows, rps).start()
    time.sleep(count / rps)
    return replay.stop()


def finish(ws: Workspace, keep_serving: bool, say: Say) -> None:
    from pipelines.audit.status import status_lines
    from pipelines.core.specs import load_spec
    from pipelines.core.targets import target_for
    from stacks.target import Slot

    for line in status_lines(ws.root):
        say(line)
    spec = load_spec(ws.root / "specs" / "credit-risk.yaml", ws.root)
    production = target_for(spec, "production", ws)
    endpoint = production.state().endpoint
    if endpoint and Slot.STABLE in production.state().slots:
        row = _example_row(ws)
        say(
            f"\ntry it:\ncurl -s -X POST {endpoint}/predict -H 'content-type: application/json' "
            f"-d '{{\"rows\": [{row}]}}'"
        )
    from pipelines.state.engine import shown

    say(f"ledger: in {shown(ws.state_url)}  (verify: shipyard audit verify)")
    say(f"report: {ws.state / 'reports' / 'demo-gates.html'}")
    if keep_serving:
        say(
            "still serving (--keep-serving); stop with: shipyard destroy specs/credit-risk.yaml "
            "--env staging && shipyard destroy specs/credit-risk.yaml --env production"
        )
        return
    for env in spec.environments:
        target_for(spec, env.name, ws).destroy()
    say("stopped every server and route the demo started (run with --keep-serving to keep them)")


def _example_row(ws: Workspace) -> str:
    import json

    from pipelines.core.specs import load_spec
    from pipelines.release.serving import sample_rows

    spec = load_spec(ws.root / "specs" / "credit-risk.yaml", ws.root)
    return json.dumps(sample_rows(spec, ws.root, list(_COLUMNS), 1)[0])
