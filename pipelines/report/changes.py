"""A change plan (`shipyard plan --base`) as text, JSON or a pull-request comment.

The comment reads top-down for a reviewer: a verdict line (what changes, whether the gates
pass, who must approve), a table of changed specs per environment, a collapsible section per
spec (the fields that differ, the rollout steps, the rollback target, the `pulumi preview`),
then the offline gates in the format of `shipyard plan` (report/markdown.py).
"""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pipelines.report.markdown import cell
from pipelines.report.preview import preview_markdown, preview_text
from stacks.target import PreviewSummary

if TYPE_CHECKING:
    from pipelines.plan.change import ChangePlan
    from pipelines.plan.planner import EnvPlan, FieldChange, SpecPlan

ACTION = {"deploy": "🆕 deploy", "update": "🔄 update", "remove": "🗑️ remove", "none": "— none"}
VALUE_LIMIT = 80


def write_change_plan(result: ChangePlan, fmt: str, html: Path | None) -> str:
    if html is not None:
        from pipelines.report.html import render_html

        html.parent.mkdir(parents=True, exist_ok=True)
        html.write_text(render_html(list(result.gates.values())), encoding="utf-8")
    if fmt == "json":
        return json.dumps(change_json(result), indent=2, default=str)
    if fmt == "markdown":
        return change_markdown(result, str(html) if html else None)
    return change_text(result)


def verdict(result: ChangePlan) -> str:
    changed = result.plan.changed
    if not changed:
        return f"### ✅ Shipyard plan: no spec changes between {_rev(result.base)} and head"
    names = ", ".join(f"`{s.name}`" for s in changed)
    failing = [name for name, run in result.gates.items() if not run.passed]
    blocked = [name for name in failing if not result.waived(name)]
    approvers = sorted({who for s in changed for who in s.approvers})
    sign = f"; needs approval from {', '.join(approvers)}" if approvers else ""
    if blocked:
        return f"### ❌ Shipyard plan: {names} — gates fail for {', '.join(blocked)}{sign}"
    if failing:
        waived = ", ".join(failing)
        return (
            f"### ✅ Shipyard plan: {names} — failed gates waived for {waived} (see Waivers){sign}"
        )
    return f"### ✅ Shipyard plan: {names} — gates pass{sign}"


def change_markdown(result: ChangePlan, report_url: str | None) -> str:
    from pipelines.report.markdown import render_markdown

    plan = result.plan
    lines = [
        f"Comparing `{_rev(result.base)}` → `{_rev(result.head)}`: {len(plan.changed)} spec(s) "
        f"changed, {plan.unchanged} unchanged (not evaluated).",
        "",
        "| Spec | Change | Environment | Target | Action | Model now → after | Rollout "
        "| Approvals |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for spec in plan.changed:
        for env in spec.envs:
            lines.append(
                f"| **{cell(spec.name)}** | {spec.change} | {env.name} | {env.target} | "
                f"{ACTION[env.action]} | {cell(_model_move(env))} | {cell(_rollout(env))} | "
                f"{cell('; '.join(env.approvals) or '—')} |"
            )
    for note in result.notes:
        lines += ["", f"> ⚠️ {cell(note)}"]
    for spec in plan.changed:
        lines += ["", *_spec_details(result, spec)]
    lines += _waiver_markdown(result)
    return render_markdown(
        list(result.gates.values()), report_url, verdict=verdict(result), changes=lines
    )


def _spec_details(result: ChangePlan, spec: SpecPlan) -> list[str]:
    renamed = f" (renamed from `{spec.renamed_from}`)" if spec.renamed_from else ""
    lines = [
        "<details>",
        f"<summary>📝 <b>{cell(spec.name)}</b> · {spec.change} · <code>{spec.path}</code>"
        f"{renamed}</summary>",
        "",
    ]
    if spec.changes:
        lines += ["| Field | Before | After |", "|---|---|---|"]
        lines += [_field_row(change) for change in spec.changes]
        lines.append("")
    for env in spec.envs:
        lines += [f"**{env.name}** ({env.target}): {ACTION[env.action]}", ""]
        if env.changes:
            lines += ["| Field | Before | After |", "|---|---|---|"]
            lines += [_field_row(change) for change in env.changes]
            lines.append("")
        if env.action in ("deploy", "update"):
            lines.append(f"- rollout: {_rollout(env)}")
            target = env.rollback_to or "nothing runs there now: a failure removes the release"
            lines.append(f"- on a failed gate, rolls back to: {target}")
        if env.approvals:
            lines.append(f"- approvals: {'; '.join(env.approvals)}")
        preview = result.previews.get((spec.name, env.name))
        if preview is not None:
            lines += preview_markdown(preview)
        lines.append("")
    return [*lines, "</details>"]


def _waiver_markdown(result: ChangePlan) -> list[str]:
    """Per spec whose gates fail: each failed gate, waived (by whom, why, how far) or how it
    could be."""
    from pipelines.approvals.waivers import summary_lines

    lines: list[str] = []
    for name, decision in result.waivers.items():
        lines += ["", f"**Waivers** of `{cell(name)}` (failed offline gates):", ""]
        lines += [f"- {cell(line)}" for line in summary_lines(decision)]
    return lines


def _field_row(change: FieldChange) -> str:
    return f"| `{change.path}` | {_value(change.before)} | {_value(change.after)} |"


def _value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, sort_keys=True)
    return cell(f"`{text}`" if len(text) <= VALUE_LIMIT else f"`{text[:VALUE_LIMIT]}…`")


def _model_move(env: EnvPlan) -> str:
    now = env.running or "nothing"
    after = env.model or "removed"
    return now if now == after else f"{now} → {after}"


def _rollout(env: EnvPlan) -> str:
    if env.action in ("none", "remove"):
        return "—"
    steps = " → ".join(env.steps)
    return f"canary {steps}" if env.strategy == "canary" else "direct (all traffic at once)"


def _rev(rev: str) -> str:
    return rev[:12] if len(rev) == 40 else rev


def change_text(result: ChangePlan) -> str:
    lines = [verdict(result).removeprefix("### ")]
    for spec in result.plan.changed:
        lines.append(f"{spec.name} ({spec.path}): {spec.change}")
        for change in spec.changes:
            lines.append(f"  {change.path}: {_plain(change.before)} -> {_plain(change.after)}")
        for env in spec.envs:
            lines.append(
                f"  {env.name:<12} {env.action:<7} {_model_move(env)}; {_rollout(env)}"
                + (f"; approvals: {'; '.join(env.approvals)}" if env.approvals else "")
            )
            for change in env.changes:
                lines.append(
                    f"    {change.path}: {_plain(change.before)} -> {_plain(change.after)}"
                )
            preview = result.previews.get((spec.name, env.name))
            if preview is not None:
                lines += [f"    {line}" for line in preview_text(preview)]
    lines += [f"note: {note}" for note in result.notes]
    from pipelines.approvals.waivers import summary_lines

    for name, decision in result.waivers.items():
        lines += [f"{name}: waivers", *(f"  {line}" for line in summary_lines(decision))]
    if result.gates:
        from pipelines.report.terminal import render_runs

        lines += ["", render_runs(list(result.gates.values()))]
    return "\n".join(lines)


def _plain(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


def change_json(result: ChangePlan) -> dict[str, Any]:
    from pipelines.report.plan import run_json

    return {
        "base": result.base,
        "head": result.head,
        "passed": result.passed,
        "unchanged": result.plan.unchanged,
        "specs": [asdict(spec) for spec in result.plan.changed],
        "gates": {name: run_json(run) for name, run in result.gates.items()},
        "previews": {
            f"{spec}/{env}": asdict(p) if isinstance(p, PreviewSummary) else {"error": p}
            for (spec, env), p in result.previews.items()
        },
        "notes": list(result.notes),
        "waivers": {name: asdict(decision) for name, decision in result.waivers.items()},
    }
