"""An environment's preview in a plan: the `pulumi preview` counts and steps, or, for targets
that preview a whole release, each rollout step's changes; labelled when it was not made
against the live stack (e.g. with Pulumi mocks)."""

from __future__ import annotations

from pipelines.report.markdown import cell
from stacks.target import PreviewSummary, RolloutStepPreview

STEP_LIMIT = 30  # resource lines shown per step


def counts(changes: dict[str, int]) -> str:
    shown = {op: n for op, n in changes.items() if op != "same"}
    text = ", ".join(f"{n} to {op}" for op, n in sorted(shown.items()))
    same = f"{changes['same']} unchanged" if changes.get("same") else ""
    return ", ".join(part for part in (text, same) if part) or "no changes"


def preview_markdown(preview: PreviewSummary | str) -> list[str]:
    if isinstance(preview, str):
        return [f"- preview: {cell(preview)}"]
    lines = []
    if preview.note:
        lines += [f"- preview: ⚠️ {cell(preview.note)}"]
    if not preview.rollout:
        lines += [f"- `pulumi preview`: {counts(preview.changes)}", "", "```diff"]
        return [*lines, *preview.steps[:STEP_LIMIT], "```"]
    lines += ["", "| Step | Changes |", "|---|---|"]
    lines += [f"| {cell(step.title)} | {counts(step.changes)} |" for step in preview.rollout]
    for number, step in enumerate(preview.rollout, start=1):
        lines += ["", f"Step {number}, {cell(step.title)}:", "", "```diff"]
        lines += [*_resources(step), "```"]
    return lines


def preview_text(preview: PreviewSummary | str) -> list[str]:
    """Indented lines under an environment in `shipyard plan --base` text output."""
    if isinstance(preview, str):
        return [f"preview: {preview}"]
    lines = [f"preview: {preview.note}"] if preview.note else []
    if not preview.rollout:
        return [*lines, f"preview: {counts(preview.changes)}"]
    for number, step in enumerate(preview.rollout, start=1):
        lines.append(f"step {number}: {step.title}: {counts(step.changes)}")
        lines += [f"  {line}" for line in _resources(step)]
    return lines


def _resources(step: RolloutStepPreview) -> list[str]:
    more = len(step.resources) - STEP_LIMIT
    return [*step.resources[:STEP_LIMIT], *([f"  ... {more} more"] if more > 0 else [])]
