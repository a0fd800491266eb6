"""Time-series line charts for the monitor's HTML report, in the style (and with the helpers)
of `pipelines.report.svg`: one self-contained `<svg>`, a limit line, a legend."""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

from pipelines.report.svg import WIDTH, nice_ceiling, svg_line, svg_open, svg_text

HEIGHT = 240
LEFT, RIGHT, TOP, BOTTOM = 70, 150, 20, 36
PALETTE = ("#5a7bb5", "#e16f24", "#2da44e", "#8250df", "#bf3989", "#1b7c83", "#9a6700", "#59636e")


@dataclass(frozen=True)
class Series:
    """One line: a value (None: no data) per time."""

    label: str
    values: Sequence[float | None]


def _x(t: float, t0: float, t1: float) -> float:
    return LEFT + (t - t0) / ((t1 - t0) or 1.0) * (WIDTH - LEFT - RIGHT)


def _y(v: float, high: float) -> float:
    return TOP + (1 - min(max(v, 0.0), high) / high) * (HEIGHT - TOP - BOTTOM)


def line_chart(
    times: Sequence[float], lines: Sequence[Series], title: str, limit: float | None = None
) -> str:
    """Lines over time (epoch seconds) from 0, an optional dashed limit; gaps where None."""
    values = [v for s in lines for v in s.values if v is not None and math.isfinite(v)]
    if not times or not values:
        return ""
    high = nice_ceiling(max([*values, limit or 0.0]) * 1.1)
    t0, t1 = min(times), max(times)
    out = svg_open(title, HEIGHT) + _grid(high, t0, t1)
    for index, series in enumerate(lines):
        colour = PALETTE[index % len(PALETTE)]
        out += _path(times, series.values, t0, t1, high, colour)
        y = TOP + 14.0 * index + 6
        out.append(
            f'<rect x="{WIDTH - RIGHT + 12}" y="{y - 8}" width="10" height="3" fill="{colour}"/>'
        )
        out.append(svg_text(WIDTH - RIGHT + 26, y - 3, series.label[:18], "start", "value"))
    if limit is not None:
        y = _y(limit, high)
        out.append(svg_line(LEFT, y, WIDTH - RIGHT, y, "limit"))
        out.append(svg_text(WIDTH - RIGHT - 4, y - 4, f"max {limit:.4g}", "end", "limit-label"))
    out.append("</svg>")
    return "\n".join(out)


def _grid(high: float, t0: float, t1: float) -> list[str]:
    out = []
    step = nice_ceiling(high / 4)
    for i in range(int(high / step + 1e-9) + 1):
        y = _y(i * step, high)
        out.append(svg_line(LEFT, y, WIDTH - RIGHT, y, "grid"))
        out.append(svg_text(LEFT - 6, y + 4, f"{i * step:.4g}", "end", "axis"))
    for i in range(5):
        t = t0 + (t1 - t0) * i / 4
        label = time.strftime("%H:%M", time.gmtime(t))
        out.append(svg_text(_x(t, t0, t1), HEIGHT - BOTTOM + 18, label, "middle", "axis"))
    return out


def _path(
    times: Sequence[float],
    values: Sequence[float | None],
    t0: float,
    t1: float,
    high: float,
    colour: str,
) -> list[str]:
    out: list[str] = []
    points: list[tuple[float, float]] = []
    for t, v in zip(times, values, strict=False):
        if v is None or not math.isfinite(v):
            out += _polyline(points, colour)
            points = []
            continue
        points.append((_x(t, t0, t1), _y(v, high)))
    return out + _polyline(points, colour)


def _polyline(points: list[tuple[float, float]], colour: str) -> list[str]:
    if not points:
        return []
    if len(points) == 1:
        x, y = points[0]
        return [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>']
    coords = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
    return [f'<polyline points="{coords}" fill="none" stroke="{colour}" stroke-width="2"/>']
