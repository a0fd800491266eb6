"""Steps of the demo's release story, each one `shipyard apply` of a demo model."""

from __future__ import annotations

from collections.abc import Callable

from pipelines.workspace import Workspace

Say = Callable[[str], None]


def variant_file(ws: Workspace, version: str, variant: str) -> str:
    """The demo spec pointing at another registered version (what a PR would change)."""
    text = (ws.root / "specs" / "credit-risk.yaml").read_text(encoding="utf-8")
    text = text.replace("models:/credit-risk/1", f"models:/credit-risk/{version}")
    path = ws.state / "demo" / "specs" / f"credit-risk-{variant}.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return str(path)


def release(ws: Workspace, version: str, variant: str, expected: set[str], say: Say) -> bool:
    from pathlib import Path

    from pipelines.apply import ApplyOptions, apply_spec
    from pipelines.demo import REVIEWER, TRAFFIC_RPS
    from validators.spec.loader import load_spec

    spec_file = Path(variant_file(ws, version, variant))
    say(
        f"$ shipyard apply {spec_file.relative_to(ws.root)} --approved-by {REVIEWER} "
        f"--traffic {TRAFFIC_RPS:g}"
    )
    options = ApplyOptions(approved_by=(REVIEWER,), traffic_rps=TRAFFIC_RPS)
    outcome = apply_spec(load_spec(spec_file, ws.root), spec_file, ws, options, say)
    stages = ", ".join(f"{k} {v:.0f}s" for k, v in outcome.stages.items())
    say(f"=> {outcome.outcome}" + (f" ({stages})" if stages else ""))
    return outcome.outcome in expected


def finish(ws: Workspace, keep_serving: bool, say: Say) -> None:
    from pipelines.runs import status_lines
    from pipelines.targets import target_for
    from stacks.target import Slot
    from validators.spec.loader import load_spec

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
    say(f"ledger: {ws.state / 'ledger.jsonl'}  (verify: shipyard ledger verify)")
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

    from pipelines.serving import sample_rows
    from validators.spec.loader import load_spec

    spec = load_spec(ws.root / "specs" / "credit-risk.yaml", ws.root)
    columns = [
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
    ]
    return json.dumps(sample_rows(spec, ws.root, columns, 1)[0])
