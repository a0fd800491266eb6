"""Offline gate results as a GitHub pull-request comment (Markdown).

The comment opens with a hidden marker, so CI edits its one comment instead of adding one per
push, then a verdict line, a table of gate families per spec and, per spec, a collapsible
section with every check and the evidence behind each failure. GitHub caps comments at 65,536
characters: evidence is dropped spec by spec (and then whole specs) to stay under `BUDGET`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pipelines.report.svg import (
    RATE_COLUMNS,
    expectation_args,
    expectation_examples,
    expectation_found,
    failed_expectations,
    mcnemar_text,
    number,
    p_value,
    ranked_groups,
)
from validators.gates.result import Gate, GateResult, fmt

if TYPE_CHECKING:
    from pipelines.gates.run import GateRun

MARKER = "<!-- shipyard:plan -->"
BUDGET = 60_000  # below GitHub's 65,536, with room for what CI appends
FAMILIES = ("data", "model", "champion", "fairness", "drift")
SYMBOL = {">=": "≥", "<=": "≤", "==": "="}
BROKEN = {">=": "<", "<=": ">", "==": "≠"}
ICON = {"passed": "✅", "failed": "❌", "error": "⚠️"}
CELL_LIMIT = 300
EXPECTATION_LIMIT = 10
GROUP_LIMIT = 10
FEATURE_LIMIT = 8
TAG_START = re.compile(r"<(?=[A-Za-z/!?])")
ENTITY = re.compile(r"&(?=#|[A-Za-z0-9]+;)")


@dataclass(frozen=True)
class Status:
    """One gate family of one run: `state` is passed, failed, error or none (not configured)."""

    state: str
    detail: str = ""


def render_markdown(
    runs: list[GateRun],
    report_url: str | None = None,
    *,
    verdict: str | None = None,
    changes: list[str] | None = None,
) -> str:
    """The comment; a change plan passes its own `verdict` and the `changes` it renders
    (what changes, per environment) to go between the verdict and the gates."""
    lines = [MARKER, verdict or verdict_line(runs), ""]
    if changes:
        lines += [*changes, "", "#### Offline gates", ""] if runs else changes
    if runs or not changes:
        lines += _summary_table(runs)
    if report_url:
        lines += ["", f"📊 [Full report with plots]({_url(report_url)})"]
    text = "\n".join(lines) + "\n"
    trimmed = omitted = 0
    for index, run in enumerate(runs):
        full = "\n" + _section(run, evidence=True)
        if len(text) + len(full) <= BUDGET - 400:
            text += full
        elif len(text) + len(short := "\n" + _section(run, evidence=False)) <= BUDGET - 400:
            text, trimmed = text + short, trimmed + 1
        else:
            omitted = len(runs) - index
            break
    if trimmed or omitted:
        left_out = [f"evidence of {trimmed} spec(s) left out"] if trimmed else []
        left_out += [f"{omitted} spec(s) not shown"] if omitted else []
        where = "the HTML report" if report_url else "`shipyard plan`"
        text += f"\n_Shortened to fit a GitHub comment: {', '.join(left_out)}; see {where}._\n"
    return text


def verdict_line(runs: list[GateRun]) -> str:
    failing = [run for run in runs if not run.passed]
    if not runs:
        return "### ✅ Shipyard plan: no specs to check"
    if not failing:
        plural = "s" if len(runs) > 1 else ""
        return f"### ✅ Shipyard plan: all gates pass ({len(runs)} spec{plural})"
    if len(runs) == 1:
        return f"### ❌ Shipyard plan: {cell(runs[0].spec)} fails its gates"
    return f"### ❌ Shipyard plan: {len(failing)} of {len(runs)} specs fail their gates"


def family_status(results: list[GateResult], family: str) -> Status:
    """The worst verdict of one gate family and, for failures, the first failing measurement."""
    mine = [r for r in results if r.gate == family]
    if not mine:
        return Status("none")
    errors = [r for r in mine if r.error]
    failed = [r for r in mine if not r.passed and not r.error]
    if errors:
        return Status("error", _more(errors[0].error, len(errors)))
    if failed:
        return Status("failed", _more(failure_text(failed[0]), len(failed)))
    if all(r.measured is None and r.threshold is None for r in mine):
        return Status("passed", "no champion yet" if family == "champion" else "")
    return Status("passed")


def failure_text(result: GateResult) -> str:
    """`roc_auc 0.5026 < 0.8`: the check's short label and the broken comparison."""
    if result.gate == Gate.DATA:
        records = result.evidence.get("results", [])
        failed = sum(1 for r in records if not r.get("success"))
        return f"{short_label(result)}: {failed} of {len(records)} expectations fail"
    return f"{short_label(result)} {measurement(result)}".strip()


def measurement(result: GateResult) -> str:
    if result.measured is None or result.threshold is None or result.comparison is None:
        return ""
    ok = result.passed or result.error
    op = SYMBOL[result.comparison] if ok else BROKEN[result.comparison]
    return f"{fmt(result.measured)} {op} {fmt(result.threshold)}"


def short_label(result: GateResult) -> str:
    """What a summary cell names: dataset, metric, environment and metric, feature."""
    evidence = result.evidence
    if result.gate == Gate.DATA:
        return str(evidence.get("dataset", result.name)).split(" (")[0]
    if result.gate == Gate.FAIRNESS and "feature" in evidence:
        return str(evidence["feature"])
    if result.gate == Gate.DRIFT and evidence.get("top"):
        return str(evidence["top"][0]["feature"])
    if result.gate == Gate.CHAMPION:
        return result.name.split(" regression vs ")[0]
    return result.name


def threshold_text(result: GateResult) -> str:
    if result.threshold is None:
        return "—"
    return f"{SYMBOL[result.comparison or '<=']} {fmt(result.threshold)}"


def cell(text: object, limit: int = CELL_LIMIT) -> str:
    """Text for a Markdown table cell: one line, at most `limit`, `|` escaped, and `<` or `&`
    escaped where GitHub would read a tag, comment or entity."""
    value = str(text)
    if len(value) > limit:
        value = value[: limit - 1] + "…"
    escaped = TAG_START.sub("&lt;", ENTITY.sub("&amp;", value)).replace("|", "\\|")
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "<br>")


def _more(text: str, count: int) -> str:
    return f"{text} (+{count - 1} more)" if count > 1 else text


def _url(url: str) -> str:
    return url.replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _status_cell(status: Status) -> str:
    if status.state == "none":
        return "—"
    if status.state == "error":
        return "⚠️ error"
    return f"{ICON[status.state]} {cell(status.detail, 120)}".rstrip()


def _summary_table(runs: list[GateRun]) -> list[str]:
    rows = [
        "| Spec | Model | Data | Metrics | Champion | Fairness | Drift |",
        "|---|---|---|---|---|---|---|",
    ]
    size = 0
    for index, run in enumerate(runs):
        cells = [_status_cell(family_status(run.results, f)) for f in FAMILIES]
        row = f"| **{cell(run.spec)}** | {cell(run.model)} | " + " | ".join(cells) + " |"
        size += len(row) + 1
        if size > BUDGET // 2:
            rows.append(f"| … {len(runs) - index} more specs |" + " |" * (len(FAMILIES) + 1))
            break
        rows.append(row)
    return rows


def _section(run: GateRun, evidence: bool) -> str:
    failing = len(run.failed)
    state = "passed" if run.passed else "failed"
    counts = f"{failing} of {len(run.results)} checks fail" if failing else "all checks pass"
    lines = [
        f"<details{'' if run.passed else ' open'}>",
        f"<summary>{ICON[state]} <b>{cell(run.spec)}</b> · {cell(run.model)} · {counts}</summary>",
        "",
        _data_line(run),
        "",
        "| Gate | Check | Measured | Threshold | Verdict | Note |",
        "|---|---|--:|---|---|---|",
    ]
    lines += [_check_row(r) for r in run.results]
    if evidence:
        lines += _evidence(run.results)
    return "\n".join([*lines, "", "</details>", ""])


def _data_line(run: GateRun) -> str:
    data = ", ".join(f"{cell(label)} (sha256 {digest[:12]})" for label, digest in run.data.items())
    cached = " · results cached" if run.cached else ""
    return f"Data: {data or 'none'}{cached}"


def _check_row(result: GateResult) -> str:
    measured = "—" if result.measured is None else fmt(result.measured)
    verdict = f"{ICON[result.verdict]} {result.verdict}"
    note = result.error or result.note
    return (
        f"| {result.gate} | {cell(result.name)} | {measured} | {threshold_text(result)} "
        f"| {verdict} | {cell(note)} |"
    )


def _evidence(results: list[GateResult]) -> list[str]:
    lines: list[str] = []
    for result in results:
        if result.error:
            continue
        if result.gate == Gate.DATA and failed_expectations(result):
            lines += _data_evidence(result)
        elif result.gate == Gate.FAIRNESS and not result.passed:
            lines += _fairness_evidence(result)
        elif result.gate == Gate.DRIFT and not result.passed:
            lines += _drift_evidence(result)
    champions = [r for r in results if r.gate == Gate.CHAMPION and not r.passed and r.evidence]
    if champions:
        lines += _champion_evidence(champions)
    return lines


def _data_evidence(result: GateResult) -> list[str]:
    failed = failed_expectations(result)
    lines = [
        "",
        f"**Failed expectations: {cell(result.evidence.get('dataset', result.name))}** "
        f"({result.evidence.get('rows', '?')} rows)",
        "",
        "| Expectation | Arguments | Severity | Found | Examples |",
        "|---|---|---|---|---|",
    ]
    for record in failed[:EXPECTATION_LIMIT]:
        lines.append(
            f"| {cell(record.get('type', '?'))} | {cell(expectation_args(record), 120)} "
            f"| {cell(record.get('severity', 'critical'))} | {cell(expectation_found(record))} "
            f"| {cell(expectation_examples(record), 120)} |"
        )
    if len(failed) > EXPECTATION_LIMIT:
        lines.append(f"| … {len(failed) - EXPECTATION_LIMIT} more | | | | |")
    return lines


def _fairness_evidence(result: GateResult) -> list[str]:
    evidence = result.evidence
    rate = evidence.get("compared_rate", "")
    header = [f"**{name}**" if key == rate else name for key, name in RATE_COLUMNS.items()]
    lines = [
        "",
        f"**Fairness: {cell(result.name)} = {measurement(result)}** (compared rate: {cell(rate)})",
        "",
        "| Group | Rows | " + " | ".join(header) + " |",
        "|---|--:|" + "--:|" * len(header),
    ]
    ranked = ranked_groups(evidence)
    for group, row in ranked[:GROUP_LIMIT]:
        values = [number(row.get(key)) for key in RATE_COLUMNS]
        lines.append(f"| {cell(group)} | {row.get('count', '—')} | " + " | ".join(values) + " |")
    if len(ranked) > GROUP_LIMIT:
        lines.append(f"| … {len(ranked) - GROUP_LIMIT} more groups | |" + " |" * len(header))
    if evidence.get("warnings"):
        lines += ["", "Unreliable groups: " + cell("; ".join(evidence["warnings"]))]
    return lines


def _drift_evidence(result: GateResult) -> list[str]:
    evidence = result.evidence
    features: list[dict[str, Any]] = evidence.get("features", [])
    threshold = evidence.get("threshold", result.threshold)
    over = [f for f in features if threshold is not None and (f.get("score") or 0.0) > threshold]
    rows = evidence.get("rows", {})
    lines = [
        "",
        f"**Drift: {len(over)} of {len(features)} features over {cell(evidence.get('method'))} "
        f"{number(threshold)}** (reference {rows.get('reference', '?')} rows, "
        f"current {rows.get('current', '?')})",
        "",
        "| Feature | Kind | Score | PSI | JS | KS | Missing ref → current |",
        "|---|---|--:|--:|--:|--:|---|",
    ]
    for feature in features[:FEATURE_LIMIT]:
        flag = " ❌" if feature in over else ""
        missing = (
            f"{feature.get('missing_reference', 0):.1%} → {feature.get('missing_current', 0):.1%}"
        )
        lines.append(
            f"| {cell(feature.get('feature'))} | {feature.get('kind', '')} "
            f"| {number(feature.get('score'))}{flag} | {number(feature.get('psi'))} "
            f"| {number(feature.get('js'))} | {number(feature.get('ks'))} | {missing} |"
        )
    if len(features) > FEATURE_LIMIT:
        lines.append(f"| … {len(features) - FEATURE_LIMIT} more features | | | | | | |")
    return lines


def _champion_evidence(results: list[GateResult]) -> list[str]:
    lines = [
        "",
        "**Champion vs challenger** (paired bootstrap; regression > 0: the challenger is worse)",
        "",
        "| Check | Champion | Challenger | Regression | 95% CI | p-value | Significant |",
        "|---|--:|--:|--:|---|--:|---|",
    ]
    for result in results:
        e = result.evidence
        champion, challenger = e.get("champion_version"), e.get("challenger_version")
        lines.append(
            f"| {cell(result.name)} | {number(e.get('champion'))} ({cell(champion)})"
            f" | {number(e.get('challenger'))} ({cell(challenger)})"
            f" | {number(e.get('regression'))} | [{number(e.get('ci_low'))}, "
            f"{number(e.get('ci_high'))}] | {p_value(e.get('p_value'))} "
            f"| {'yes' if e.get('significant') else 'no'} |"
        )
    for result in results:
        test = result.evidence.get("mcnemar")
        if test:
            lines += ["", f"McNemar ({cell(result.name)}): {mcnemar_text(test)}"]
    return lines
