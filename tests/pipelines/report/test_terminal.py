"""Gate runs as the terminal table: one line per check, marks, measured against limit."""

from __future__ import annotations

from pipelines.gates.run import GateRun
from pipelines.report.terminal import render_run, render_runs
from tests.fakes.reports import load_run
from validators.gates.result import GateResult


def test_a_passing_run_marks_every_check_ok() -> None:
    lines = render_run(load_run("credit-risk-v1")).splitlines()
    assert lines[0] == "credit-risk  models:/credit-risk/1  PASSED (cached)"
    assert len(lines) == 1 + 8
    assert all(line.startswith("  ok    ") for line in lines[1:])
    expectations = [line for line in lines if " data " in line]
    assert len(expectations) == 2
    assert all("11/11 expectations" in line for line in expectations)


def test_a_failing_run_counts_its_failures_and_marks_errors() -> None:
    text = render_run(load_run("credit-risk-corrupted"))
    lines = text.splitlines()
    assert lines[0] == "credit-risk-corrupted  models:/credit-risk/2  FAILED (4 of 4 checks)"
    assert "6/11 expectations" in lines[1]
    assert lines[1].startswith("  FAIL  data ")
    assert "0.3518 <= 0.04" in lines[2]
    assert lines[4].startswith("  ERR   drift ")
    assert "data.reference: not set" in lines[4]


def test_columns_line_up_on_the_longest_check_name() -> None:
    results = [
        GateResult("model", "roc_auc", True, 0.91, 0.8, ">="),
        GateResult("model", "a much longer check name", False, 0.2, 0.5, ">="),
    ]
    lines = render_run(GateRun("s", "models:/s/1", {}, results)).splitlines()
    assert lines[0] == "s  models:/s/1  FAILED (1 of 2 checks)"
    assert lines[1] == "  ok    model     roc_auc                   0.91 >= 0.8"
    assert lines[2] == "  FAIL  model     a much longer check name  0.2 >= 0.5"


def test_the_summary_names_the_specs_that_fail() -> None:
    passing, failing = load_run("credit-risk-v1"), load_run("credit-risk-v2")
    assert render_runs([passing]).splitlines()[-1] == "1 spec(s): all gates pass"
    text = render_runs([passing, failing])
    assert text.splitlines()[-1] == "2 spec(s): 1 fail their gates (credit-risk)"
    assert text.count("\n\n") == 2  # one block per run, then the summary
