"""Gate evidence as the reports show it: readers of the evidence that the Markdown and HTML
renderers share, and small inline-SVG charts (horizontal bars, confidence intervals).

Every chart is one `<svg>` string with a `<title>`, sized by its rows, drawn in the page's
font (text inherits CSS), with all text passed through `html.escape`. No external resources.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Any

from validators.gates.result import GateResult, fmt

XMLNS = "http://www.w3.org/2000/svg"
WIDTH = 960
LABEL_W = 220
VALUE_W = 90
ROW_H = 26
TOP = 30
AXIS_H = 26
EXAMPLES = 5
MAX_BARS = 25
PASS, FAIL, NEUTRAL = "#2da44e", "#cf222e", "#5a7bb5"
INK, MUTED, GRID = "#1f2328", "#59636e", "#d8dee4"


# Readers of gate evidence, shared by the Markdown and HTML renderers.


def number(value: Any) -> str:
    return fmt(float(value)) if isinstance(value, int | float) else "—"


def json_text(value: Any) -> str:
    """A JSON-ish value as a short string: `F`, `18`, `[F, M]`, `null`."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "[" + ", ".join(json_text(v) for v in value) + "]"
    return json.dumps(value)


def failed_expectations(result: GateResult) -> list[dict[str, Any]]:
    return [r for r in result.evidence.get("results", []) if not r.get("success")]


def expectation_args(record: dict[str, Any]) -> str:
    kwargs = record.get("kwargs") or {}
    return ", ".join(f"{key}={json_text(value)}" for key, value in kwargs.items())


def expectation_found(record: dict[str, Any]) -> str:
    """What GX saw: the unexpected rows, the observed value or the exception."""
    if record.get("exception"):
        return f"error: {record['exception']}"
    if record.get("unexpected_count") is not None:
        share = record.get("unexpected_percent")
        percent = f" ({share:.3g}%)" if isinstance(share, int | float) else ""
        return f"{record['unexpected_count']} unexpected{percent}"
    if "observed_value" in record:
        return f"observed {json_text(record['observed_value'])}"
    return ""


def expectation_examples(record: dict[str, Any]) -> str:
    distinct: list[str] = []
    for value in record.get("partial_unexpected_list") or []:
        text = json_text(value)
        if text not in distinct:
            distinct.append(text)
    return ", ".join(distinct[:EXAMPLES])


RATE_COLUMNS = {
    "selection_rate": "Selection rate",
    "true_positive_rate": "TPR",
    "false_positive_rate": "FPR",
    "accuracy": "Accuracy",
}


def ranked_groups(evidence: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """Groups by the compared rate, highest first."""
    rate = str(evidence.get("compared_rate", "selection_rate"))
    groups: dict[str, dict[str, Any]] = evidence.get("groups", {})
    return sorted(groups.items(), key=lambda item: -(item[1].get(rate) or 0.0))


def p_value(value: Any) -> str:
    if not isinstance(value, int | float):
        return "—"
    return "< 0.001" if value < 0.001 else f"{value:.3g}"


def mcnemar_text(test: dict[str, Any]) -> str:
    return (
        f"statistic {number(test.get('statistic'))}, p {p_value(test.get('p_value'))}; "
        f"only the champion right on {test.get('only_champion_right')} rows, "
        f"only the challenger on {test.get('only_challenger_right')}"
    )


@dataclass(frozen=True)
class Bar:
    """One row: a bar of `value`, an optional threshold `tick` across it, `text` at its end."""

    label: str
    value: float
    colour: str = NEUTRAL
    text: str = ""
    tick: float | None = None


@dataclass(frozen=True)
class Interval:
    """One row of an interval chart: `estimate` within [`low`, `high`], a limit `tick`."""

    label: str
    low: float
    estimate: float
    high: float
    colour: str = NEUTRAL
    tick: float | None = None


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 (times a power of ten) at or above `value`."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    return float(next(step * power for step in (1, 2, 2.5, 5, 10) if step * power >= value * 0.999))


def short(text: str, limit: int = 30) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def svg_open(title: str, height: int) -> list[str]:
    return [
        f'<svg xmlns="{XMLNS}" class="chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img">',
        f"<title>{escape(title)}</title>",
    ]


def svg_text(x: float, y: float, text: str, anchor: str = "start", css: str = "") -> str:
    klass = f' class="{css}"' if css else ""
    return f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}"{klass}>{escape(text)}</text>'


def svg_line(x1: float, y1: float, x2: float, y2: float, css: str) -> str:
    return f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" class="{css}"/>'


def _axis(low: float, high: float, top: float, bottom: float) -> list[str]:
    """Grid lines and labels at multiples of a round step (1, 2, 2.5 or 5 times 10^k)."""
    step = nice_ceiling((high - low) / 6 or 1.0)
    first = math.ceil(low / step - 1e-9) * step
    out: list[str] = []
    for i in range(int((high - first) / step + 1e-9) + 1):
        value = first + i * step + 0.0  # + 0.0: no "-0"
        x = _x(value, low, high)
        out.append(svg_line(x, top - 6, x, bottom, "grid"))
        out.append(svg_text(x, bottom + 16, f"{value:.4g}", "middle", "axis"))
    return out


def _x(value: float, low: float, high: float) -> float:
    span = (high - low) or 1.0
    clamped = min(max(value, low), high)
    return LABEL_W + (clamped - low) / span * (WIDTH - LABEL_W - VALUE_W)


def bar_chart(
    bars: Sequence[Bar],
    title: str,
    axis_max: float | None = None,
    line: float | None = None,
    line_label: str = "",
) -> str:
    """Horizontal bars from 0, a per-bar threshold tick and an optional vertical limit line."""
    values = [b.value for b in bars] + [b.tick for b in bars if b.tick is not None]
    high = axis_max or nice_ceiling(max([*values, line or 0.0, 1e-9]) * 1.05)
    top = TOP if line is not None else 12
    bottom = top + ROW_H * len(bars)
    out = svg_open(title, bottom + AXIS_H + 4) + _axis(0.0, high, top, bottom)
    for row, bar in enumerate(bars):
        y = top + row * ROW_H
        out.append(f"<g><title>{escape(f'{bar.label}: {bar.text}')}</title>")
        out.append(svg_text(LABEL_W - 10, y + 17, short(bar.label), "end", "label"))
        width = max(_x(bar.value, 0.0, high) - LABEL_W, 1.0)
        out.append(
            f'<rect x="{LABEL_W}" y="{y + 5}" width="{width:.1f}" height="{ROW_H - 10}" '
            f'rx="2" fill="{bar.colour}"/>'
        )
        end = _x(bar.value, 0.0, high)
        if bar.tick is not None:
            tick = _x(bar.tick, 0.0, high)
            out.append(svg_line(tick, y + 1, tick, y + ROW_H - 1, "tick"))
            end = max(end, tick)
        out.append(svg_text(end + 6, y + 17, bar.text, "start", "value"))
        out.append("</g>")
    if line is not None:
        x = _x(line, 0.0, high)
        out.append(svg_line(x, top - 8, x, bottom, "limit"))
        out.append(svg_text(x, top - 12, line_label or f"{line:.4g}", "middle", "limit-label"))
    out.append("</svg>")
    return "\n".join(out)


def interval_chart(rows: Sequence[Interval], title: str) -> str:
    """Point estimates with their interval, a zero line and a per-row limit tick."""
    points = [v for r in rows for v in (r.low, r.high, r.estimate, r.tick or 0.0)]
    finite = [v for v in points if math.isfinite(v)] or [0.0, 1.0]
    low = -nice_ceiling(-min(finite) * 1.05) if min(finite) < 0 else 0.0
    high = nice_ceiling(max(finite) * 1.05) if max(finite) > 0 else 0.0
    top = 12
    bottom = top + ROW_H * len(rows)
    out = svg_open(title, bottom + AXIS_H + 4) + _axis(low, high, top, bottom)
    zero = _x(0.0, low, high)
    out.append(svg_line(zero, top - 8, zero, bottom, "zero"))
    for index, row in enumerate(rows):
        y = top + index * ROW_H + ROW_H / 2
        out.append(svg_text(LABEL_W - 10, y + 4, short(row.label), "end", "label"))
        out.append(svg_line(_x(row.low, low, high), y, _x(row.high, low, high), y, "whisker"))
        out.append(
            f'<circle cx="{_x(row.estimate, low, high):.1f}" cy="{y:.1f}" r="5" '
            f'fill="{row.colour}"/>'
        )
        if row.tick is not None:
            tick = _x(row.tick, low, high)
            out.append(svg_line(tick, y - 10, tick, y + 10, "tick"))
    out.append("</svg>")
    return "\n".join(out)


def model_chart(results: Sequence[GateResult]) -> str:
    """Each model metric against its threshold; bars of 0..1 metrics on a 0..1 axis."""
    bars = []
    for r in results:
        if r.measured is None or not math.isfinite(r.measured) or r.threshold is None:
            continue
        bound = "min" if r.comparison == ">=" else "max"
        text = f"{fmt(r.measured)} ({bound} {fmt(r.threshold)})"
        bars.append(Bar(r.name, r.measured, PASS if r.passed else FAIL, text, r.threshold))
    if not bars:
        return ""
    unit = all(0.0 <= v <= 1.0 for b in bars for v in (b.value, b.tick or 0.0))
    return bar_chart(bars, "Model metrics against their thresholds", 1.0 if unit else None)


def fairness_chart(result: GateResult) -> str:
    """The compared rate of every group, highest first."""
    rate = str(result.evidence.get("compared_rate", "selection_rate"))
    ranked = ranked_groups(result.evidence)[:MAX_BARS]
    bars = [
        Bar(
            f"{group} (n={row.get('count', '?')})",
            float(row.get(rate) or 0.0),
            text=fmt(float(row.get(rate) or 0.0)),
        )
        for group, row in ranked
    ]
    if not bars:
        return ""
    return bar_chart(bars, f"{result.name}: {rate} per group", 1.0)


def drift_chart(result: GateResult) -> str:
    """Drift score per feature, highest first; bars over the threshold in red."""
    threshold = result.threshold
    features: list[dict[str, Any]] = result.evidence.get("features") or []
    scored = [f for f in features if _finite(f.get("score"))][:MAX_BARS]
    if not scored:
        return ""
    bars = [
        Bar(
            str(f.get("feature")),
            float(f["score"]),
            FAIL if threshold is not None and f["score"] > threshold else NEUTRAL,
            fmt(float(f["score"])),
        )
        for f in scored
    ]
    method = str(result.evidence.get("method", "score"))
    label = f"max {fmt(threshold)}" if threshold is not None else ""
    return bar_chart(bars, f"Drift ({method}) by feature", None, threshold, label)


def champion_chart(results: Sequence[GateResult]) -> str:
    """Regression of the challenger with its 95% interval against max_regression."""
    rows = [
        Interval(
            r.name.split(" regression vs ")[0],
            float(r.evidence["ci_low"]),
            float(r.evidence["regression"]),
            float(r.evidence["ci_high"]),
            PASS if r.passed else FAIL,
            r.threshold,
        )
        for r in results
        if all(_finite(r.evidence.get(k)) for k in ("ci_low", "regression", "ci_high"))
    ]
    return interval_chart(rows, "Regression of the challenger (95% CI)") if rows else ""


def _finite(value: Any) -> bool:
    return isinstance(value, int | float) and math.isfinite(value)


CSS = f"""
svg.chart {{ display: block; max-width: 100%; height: auto; font-size: 12px; }}
svg.chart text {{ fill: {INK}; }}
svg.chart text.axis, svg.chart text.value {{ fill: {MUTED}; font-variant-numeric: tabular-nums; }}
svg.chart text.limit-label {{ fill: {FAIL}; font-weight: 600; }}
svg.chart line.grid {{ stroke: {GRID}; stroke-width: 1; }}
svg.chart line.tick {{ stroke: {INK}; stroke-width: 2.5; }}
svg.chart line.limit {{ stroke: {FAIL}; stroke-width: 1.5; stroke-dasharray: 5 3; }}
svg.chart line.zero {{ stroke: {MUTED}; stroke-width: 1; }}
svg.chart line.whisker {{ stroke: {INK}; stroke-width: 2; }}
"""
