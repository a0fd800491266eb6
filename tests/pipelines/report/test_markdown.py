"""The pull-request comment: golden output for the saved gate runs, escaping and the size cap.

After an intended change to the comment, regenerate the golden files with

    SHIPYARD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/pipelines/report/test_markdown.py

and review the diff of tests/fixtures/reports/*.md before committing.
"""

from __future__ import annotations

import os
from dataclasses import replace

import pytest

from pipelines.report.markdown import BUDGET, MARKER, cell, render_markdown
from tests.fakes.reports import ALL, FIXTURES, load_run, load_runs
from validators.gates.result import GateResult

UPDATE_GOLDEN = os.environ.get("SHIPYARD_UPDATE_GOLDEN") == "1"
URL = "https://ci.example.com/runs/42/report.html"
GOLDEN = {
    "plan-all.md": (ALL, URL),
    "plan-pass.md": (["credit-risk-v1"], None),
}


@pytest.mark.parametrize("golden", sorted(GOLDEN))
def test_matches_golden(golden: str) -> None:
    names, url = GOLDEN[golden]
    text = render_markdown(load_runs(names), url)
    path = FIXTURES / golden
    if UPDATE_GOLDEN:
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), "regenerate with SHIPYARD_UPDATE_GOLDEN=1"


def test_marker_and_verdict_lines() -> None:
    lines = render_markdown(load_runs(ALL), URL).splitlines()
    assert lines[0] == MARKER
    assert lines[1] == "### ❌ Shipyard plan: 4 of 5 specs fail their gates"
    assert f"📊 [Full report with plots]({URL})" in lines
    passing = render_markdown(load_runs(["credit-risk-v1"])).splitlines()
    assert passing[:2] == [MARKER, "### ✅ Shipyard plan: all gates pass (1 spec)"]
    assert not any("Full report" in line for line in passing)
    single = render_markdown(load_runs(["credit-risk-v3"])).splitlines()
    assert single[1] == "### ❌ Shipyard plan: credit-risk fails its gates"
    assert render_markdown([]).splitlines()[1] == "### ✅ Shipyard plan: no specs to check"


def summary_row(text: str, model: str) -> list[str]:
    [row] = [line for line in text.splitlines() if line.startswith("| **") and model in line]
    return [c.strip() for c in row.strip("|").split(" | ")]


@pytest.mark.parametrize(
    ("name", "model", "cells"),
    [
        ("credit-risk-v1", "/1", ["✅", "✅", "✅ no champion yet", "✅", "✅"]),
        ("credit-risk-v2", "/2", ["✅", "❌ roc_auc 0.5026 < 0.8 (+1 more)"]),
        ("credit-risk-v3", "/3", ["✅", "✅", "✅ no champion yet", "❌ sex 0.1838 > 0.1"]),
        (
            "credit-risk-v4",
            "/4",
            ["✅", "✅", "✅ no champion yet", "✅", "❌ utilization 0.9101 > 0.2"],
        ),
        (
            "credit-risk-corrupted",
            "/2",
            [
                "❌ evaluation: 5 of 11 expectations fail",
                "—",
                "❌ production: roc_auc 0.3518 > 0.04 (+1 more)",
                "—",
                "⚠️ error",
            ],
        ),
    ],
)
def test_summary_cells_show_the_failing_measurement(
    name: str, model: str, cells: list[str]
) -> None:
    run = load_run(name)
    row = summary_row(render_markdown([run]), model)
    assert row[:2] == [f"**{run.spec}**", run.model]
    assert row[2 : 2 + len(cells)] == cells


def test_failures_carry_their_evidence() -> None:
    text = render_markdown(load_runs(ALL))
    expected = [
        # GX: failed expectations with unexpected counts and examples; the warning one too
        "| expect_column_values_to_not_be_null | column=income | critical "
        "| 41 unexpected (1.03%) | null |",
        "| expect_column_values_to_be_in_set | column=sex, value_set=[F, M] | critical "
        "| 61 unexpected (1.52%) | X |",
        "| expect_column_mean_to_be_between | column=default, min_value=0.05, max_value=0.6 "
        "| warning | observed 1.0 |  |",
        # fairness: every group's rates, the compared one in bold
        "| Group | Rows | **Selection rate** | TPR | FPR | Accuracy |",
        "| F | 1972 | 0.4427 | 0.8016 | 0.2762 | 0.7485 |",
        # drift: top features, the ones over the threshold flagged
        "**Drift: 4 of 14 features over psi 0.2**",
        "| utilization | numeric | 0.9101 ❌ | 0.9101 | 0.3906 | 0.387 | 0.0% → 0.0% |",
        "| … 6 more features | | | | | | |",
        # champion/challenger: values, CI, p-value, McNemar
        "| production: roc_auc regression vs v1 | 0.8543 (v1) | 0.5026 (v2) | 0.3518 "
        "| [0.3294, 0.3731] | < 0.001 | yes |",
        "statistic 183, p < 0.001; only the champion right on 732 rows",
    ]
    for line in expected:
        assert line in text
    assert "<details open>\n<summary>❌ <b>credit-risk</b> · models:/credit-risk/4" in text
    assert "<details>\n<summary>✅ <b>credit-risk</b> · models:/credit-risk/1" in text


def test_cells_escape_pipes_newlines_and_markup() -> None:
    assert cell("a|b\nc\r\nd") == "a\\|b<br>c<br>d"
    assert cell("<script>alert(1)</script> & &amp; < 3") == (
        "&lt;script>alert(1)&lt;/script> & &amp;amp; < 3"
    )
    assert cell("<!-- shipyard:plan -->") == "&lt;!-- shipyard:plan -->"
    assert cell("x" * 500, 10) == "x" * 9 + "…"


def test_hostile_names_keep_the_table_intact() -> None:
    run = load_run("credit-risk-v3")
    failing = replace(run.results[-2], name="a|b\n<script>alert(1)</script>", note="x|y\nz")
    hostile = replace(run, spec="<script>alert(1)</script>|x", results=[*run.results[:-2], failing])
    text = render_markdown([hostile])
    assert "<script>" not in text
    assert text.count(MARKER) == 1
    row = next(line for line in text.splitlines() if "alert" in line and line.startswith("| **"))
    assert row.replace("\\|", "").count("|") == 8  # 7 columns
    check = next(line for line in text.splitlines() if line.startswith("| fairness |"))
    assert check.replace("\\|", "").count("|") == 7  # 6 columns
    assert "x\\|y<br>z" in check


def test_large_plans_fit_a_github_comment() -> None:
    runs = load_runs(ALL) * 40
    text = render_markdown(runs, URL)
    assert len(text) <= BUDGET < 65_536
    assert text.startswith(MARKER)
    assert "_Shortened to fit a GitHub comment:" in text
    assert text.count("<details") == text.count("</details>")


def test_huge_evidence_and_notes_are_cut() -> None:
    run = load_run("credit-risk-corrupted")
    data = run.results[0]
    records = data.evidence["results"] * 500
    big = replace(data, note="n" * 100_000, evidence={**data.evidence, "results": records})
    text = render_markdown([replace(run, results=[big])] * 3)
    assert len(text) <= BUDGET
    assert "| … 2490 more | | | | |" in text
    assert "n" * 300 not in text


def test_thousands_of_specs_still_fit() -> None:
    runs = [replace(load_run("credit-risk-v4"), spec=f"spec-{i}") for i in range(2000)]
    text = render_markdown(runs)
    assert len(text) <= BUDGET
    assert "more specs |" in text


def test_error_results_render_without_evidence() -> None:
    error = GateResult("drift", "drift", False, None, 0.2, "<=", error="no reference data")
    run = replace(load_run("credit-risk-v1"), results=[error])
    text = render_markdown([run])
    assert "| drift | drift | — | ≤ 0.2 | ⚠️ error | no reference data |" in text
    assert summary_row(text, "/1")[2:] == ["—", "—", "—", "—", "⚠️ error"]
