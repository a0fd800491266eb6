"""A plan written in each format: text, Markdown, JSON, and the HTML file beside it."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.report.plan import run_json, write_plan
from tests.fakes.reports import load_runs

RUNS = load_runs(["credit-risk-v1", "credit-risk-v2"])


def test_text_is_the_terminal_table() -> None:
    text = write_plan(RUNS, "text", None)
    assert text.splitlines()[0] == "credit-risk  models:/credit-risk/1  PASSED (cached)"
    assert text.splitlines()[-1] == "2 spec(s): 1 fail their gates (credit-risk)"


def test_json_holds_every_result_of_every_run() -> None:
    document = json.loads(write_plan(RUNS, "json", None))
    assert [(d["model"], d["passed"], d["cached"]) for d in document] == [
        ("models:/credit-risk/1", True, True),
        ("models:/credit-risk/2", False, True),
    ]
    assert document[1] == json.loads(json.dumps(run_json(RUNS[1])))
    failed = [r["name"] for r in document[1]["results"] if not r["passed"]]
    assert failed == ["roc_auc", "accuracy"]


def test_markdown_links_the_html_report_written_beside_it(tmp_path: Path) -> None:
    html = tmp_path / "reports" / "plan.html"
    markdown = write_plan(RUNS, "markdown", html)
    assert html.read_text(encoding="utf-8").lstrip().lower().startswith("<!doctype html>")
    assert f"[Full report with plots]({html})" in markdown
    assert "| **credit-risk** | models:/credit-risk/2 |" in markdown


def test_markdown_without_html_links_no_report() -> None:
    markdown = write_plan(RUNS, "markdown", None)
    assert "Full report" not in markdown
    assert "| **credit-risk** | models:/credit-risk/1 |" in markdown
