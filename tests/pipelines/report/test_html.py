"""The HTML report: well-formed, self-contained (no scripts, no external resources), escaped,
and with one inline SVG per plot whose evidence exists."""

from __future__ import annotations

import re
import subprocess
import sys
from dataclasses import replace
from html.parser import HTMLParser

import pytest

from pipelines.report import svg
from pipelines.report.html import render_html
from tests.fakes.reports import ALL, load_run, load_runs
from validators.gates.result import GateResult

VOID = {"meta", "br", "hr", "img", "link", "input", "col", "wbr", "source", "area", "base"}
MODEL_PLOT = "Model metrics against their thresholds"
FAIRNESS_PLOT = "sex: demographic_parity_difference: selection_rate per group"
DRIFT_PLOT = "Drift (psi) by feature"
CHAMPION_PLOT = "Regression of the challenger (95% CI)"


class TagChecker(HTMLParser):
    """Every opened element closed, in order; collects the titles of the SVGs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.problems: list[str] = []
        self.tags: list[str] = []
        self.svg_titles: list[str] = []
        self._in_svg_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        if tag not in VOID:
            self.stack.append(tag)
        self._in_svg_title = tag == "title" and self.stack[-2:-1] == ["svg"]

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:]} at {self.getpos()}")
            return
        self.stack.pop()
        self._in_svg_title = False

    def handle_data(self, data: str) -> None:
        if self._in_svg_title:
            self.svg_titles.append(data)


def parse(page: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(page)
    checker.close()
    assert checker.problems == []
    assert checker.stack == []
    return checker


def test_the_report_is_well_formed() -> None:
    page = render_html(load_runs(ALL))
    assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
    checker = parse(page)
    assert checker.tags.count("section") == 1 + len(ALL)  # the summary and one per spec


def test_the_report_is_self_contained() -> None:
    page = render_html(load_runs(ALL))
    references = re.findall(r"https?://[^\s\"'<>)]*", page)
    assert references
    assert set(references) == {svg.XMLNS}
    lowered = page.lower()
    for forbidden in (
        "<script",
        "<link",
        "<img",
        "<iframe",
        "src=",
        "@import",
        "url(",
        "@font-face",
    ):
        assert forbidden not in lowered
    assert re.search(r"\son[a-z]+=", lowered) is None  # no inline event handlers


@pytest.mark.parametrize(
    ("name", "plots"),
    [
        ("credit-risk-v1", [MODEL_PLOT, FAIRNESS_PLOT, DRIFT_PLOT]),
        ("credit-risk-v2", [MODEL_PLOT, FAIRNESS_PLOT, DRIFT_PLOT]),
        ("credit-risk-v3", [MODEL_PLOT, FAIRNESS_PLOT, DRIFT_PLOT]),
        ("credit-risk-v4", [MODEL_PLOT, FAIRNESS_PLOT, DRIFT_PLOT]),
        ("credit-risk-corrupted", [CHAMPION_PLOT]),  # no model metrics, drift is an error
    ],
)
def test_one_svg_per_plot_with_evidence(name: str, plots: list[str]) -> None:
    page = render_html([load_run(name)])
    checker = parse(page)
    assert checker.svg_titles == plots
    assert checker.tags.count("svg") == len(plots)


def test_no_plots_without_evidence() -> None:
    error = GateResult("drift", "drift", False, None, 0.2, "<=", error="no reference data")
    run = replace(load_run("credit-risk-v1"), results=[error])
    checker = parse(render_html([run]))
    assert checker.svg_titles == []
    assert "no reference data" in render_html([run])


def drift_svg(page: str) -> str:
    start = page.index(f"<title>{DRIFT_PLOT}</title>")
    return page[start : page.index("</svg>", start)]


def test_drift_bars_over_the_threshold_are_red() -> None:
    drifted = drift_svg(render_html([load_run("credit-risk-v4")]))
    assert drifted.count(f'fill="{svg.FAIL}"') == 4  # utilization, income, age, employment
    assert drifted.count(f'fill="{svg.NEUTRAL}"') == 10
    assert 'class="limit"' in drifted
    assert "max 0.2" in drifted
    calm = drift_svg(render_html([load_run("credit-risk-v1")]))
    assert f'fill="{svg.FAIL}"' not in calm


def test_the_gx_and_champion_tables_are_shown() -> None:
    page = render_html([load_run("credit-risk-corrupted")])
    assert '<code class="type">expect_column_values_to_not_be_null</code>' in page
    assert "41 unexpected (1.03%)" in page
    assert '<span class="pill error">warn</span>' in page  # the warning-severity failure
    assert "[0.3294, 0.3731]" in page
    assert "6 of 11 passed" in page


def test_text_is_escaped() -> None:
    hostile = "<script>alert(1)</script>"
    run = load_run("credit-risk-v3")
    fairness = replace(run.results[-2], note='<img src=x onerror="alert(2)">')
    run = replace(
        run, spec=hostile, model=f"models:/{hostile}", results=[*run.results[:-2], fairness]
    )
    page = render_html([run], title=hostile)
    assert "<script" not in page
    assert "<img" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;img src=x onerror=&quot;alert(2)&quot;&gt;" in page
    parse(page)


def test_an_empty_plan_renders() -> None:
    page = render_html([])
    parse(page)
    assert "No specs to check" in page


def test_nice_axis_ends() -> None:
    assert [svg.nice_ceiling(v) for v in (0.91, 0.2, 0.0075, 3.2, 0.0, 1.0)] == [
        1.0,
        0.2,
        0.01,
        5.0,
        1.0,
        1.0,
    ]


def test_renderers_import_no_heavy_library() -> None:
    code = (
        "import sys, pipelines.report.html, pipelines.report.markdown\n"
        "heavy = {'pandas', 'numpy', 'mlflow', 'great_expectations', 'scipy', 'sklearn'}\n"
        "print(sorted(heavy & {m.split('.')[0] for m in sys.modules}))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr
