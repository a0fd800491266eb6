"""/metrics snapshots differenced by window, and the monitor's reports on a literal run."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from pipelines.audit.ledger import LedgerKind
from pipelines.monitor.html import render_html
from pipelines.monitor.metrics import Snapshot, load_snapshots, save_snapshot, window_sample
from pipelines.monitor.report import render_json, render_text, retrain_event, retrain_markdown
from pipelines.monitor.run import MonitorResult, MonitorRun, Taken
from pipelines.state.store import open_store
from stacks.reach.metrics import SlotSample
from validators.gates.result import GateResult

INF = math.inf


def snap(ts: float, requests: float, errors: float, fast: float) -> Snapshot:
    buckets = ((0.05, fast), (0.5, requests), (INF, requests))
    return Snapshot(ts, {"stable": SlotSample(requests, errors, buckets)})


def test_window_is_the_difference_from_the_snapshot_before_it() -> None:
    snapshots = [
        snap(100.0, 1000, 10, 900),
        snap(200.0, 1100, 10, 1000),
        snap(300.0, 1300, 30, 1100),
    ]
    sample, since, series = window_sample(snapshots, snap(400.0, 1400, 30, 1200), start=250.0)
    assert since == 200.0
    assert (sample.requests, sample.errors) == (300, 20)
    assert [(p.ts, p.requests, p.error_rate) for p in series] == [
        (300.0, 200, 0.1),
        (400.0, 100, 0.0),
    ]


def test_without_snapshots_the_window_counts_from_server_start() -> None:
    sample, since, series = window_sample([], snap(400.0, 50, 1, 40), start=0.0)
    assert since is None
    assert sample.requests == 50
    assert len(series) == 1


def test_a_restarted_server_counts_from_zero() -> None:
    sample, _, _ = window_sample([snap(100.0, 5000, 5, 4000)], snap(200.0, 80, 2, 70), start=150.0)
    assert (sample.requests, sample.errors) == (80, 2)


def test_snapshots_round_trip_through_the_state_store_per_environment(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    save_snapshot(store, "credit", "production", snap(1.0, 10, 0, 5))
    save_snapshot(store, "credit", "production", snap(3.0, 20, 1, 15))
    assert [s.ts for s in load_snapshots(store, "credit", "production")] == [1.0, 3.0]
    assert load_snapshots(store, "credit", "production")[1].slots["stable"].buckets[-1] == (INF, 20)
    assert load_snapshots(store, "credit", "staging") == []


def breach_run() -> MonitorRun:
    features = [
        {"feature": "income", "score": 0.9, "kind": "numeric"},
        {"feature": "age", "score": 0.1, "kind": "numeric"},
    ]
    drift = GateResult(
        "drift",
        "max psi over 2 features",
        False,
        0.9,
        0.25,
        "<=",
        {"method": "psi", "features": features, "rows": {"reference": 10, "current": 500}},
        note="drifting: income 0.9",
    )
    slo = GateResult("slo", "latency p95 ms", True, 30.0, 80.0, "<=", note="500 requests")
    return MonitorRun(
        spec="credit-risk",
        env="production",
        model="models:/credit-risk/1",
        start=1_700_000_000.0,
        end=1_700_003_600.0,
        method="psi",
        rows=500,
        results=[drift, slo],
        edges=[1_700_000_000.0, 1_700_001_800.0, 1_700_003_600.0],
        rows_series=[200, 300],
        drift_series={"income": [0.05, 1.2], "age": [0.02, None]},
        actions=[Taken("propose_retrain", True, "retrain proposed; drifting: income", ("a.json",))],
    )


def test_text_and_json_reports() -> None:
    result = MonitorResult(
        [
            breach_run(),
            MonitorRun("other", "production", skipped="no monitoring section in the spec"),
        ]
    )
    text = render_text(result)
    assert "credit-risk/production  models:/credit-risk/1  BREACH (1)" in text
    assert "FAIL  drift" in text
    assert "action propose_retrain: done: retrain proposed; drifting: income" in text
    assert "other/production  skipped: no monitoring section in the spec" in text
    assert text.endswith("2 spec(s): breach in credit-risk/production")
    first, second = json.loads(render_json(result))
    assert first["breach"] is True
    assert first["drifting"] == [{"feature": "income", "score": 0.9}]
    assert first["series"]["drift"]["age"] == [0.02, None]
    assert second["skipped"] == "no monitoring section in the spec"
    assert result.exit_code == 1
    assert MonitorResult([MonitorRun("x", "production", skipped="nothing runs")]).exit_code == 0


def test_retrain_proposal_names_the_drifting_features() -> None:
    run = breach_run()
    event = retrain_event(run)
    assert event["event"] == "shipyard.retrain_proposed"
    assert event["drifting_features"] == [{"feature": "income", "score": 0.9}]
    assert event["breaches"] == [
        {"family": "drift", "check": "max psi over 2 features", "measured": 0.9, "threshold": 0.25}
    ]
    text = retrain_markdown(run)
    assert text.startswith("# Retrain proposed: credit-risk (production)")
    assert "| `income` | 0.9 |" in text
    assert "`age`" not in text


def test_html_report_has_the_time_series() -> None:
    page = render_html(MonitorResult([breach_run()]))
    assert page.startswith("<!DOCTYPE html>")
    assert "Predictions per bin" in page
    assert "Drift (psi) per feature" in page
    assert page.count("<polyline") >= 2  # predictions and income (age has one point: a dot)
    assert "max 0.25" in page
    assert "retrain proposed; drifting: income" in page


@pytest.mark.parametrize("values", [[], [None, None]])
def test_no_chart_without_data(values: list[float | None]) -> None:
    from pipelines.monitor.plots import Series, line_chart

    assert line_chart([1.0, 2.0], [Series("x", values)], "t") == ""


def test_rollback_is_not_repeated_onto_the_release_it_restored(tmp_path: Path) -> None:
    from pipelines.audit.ledger import ledger_of
    from pipelines.core.workspace import Workspace
    from pipelines.monitor.actions import take

    ws = Workspace.at(tmp_path)
    ledger_of(ws).append(
        LedgerKind.ROLLBACK, "credit-risk", "production", model="models:/credit-risk/1"
    )
    run = breach_run()
    (taken,) = take(
        run, {"rollback": ["drift: max psi 0.9 > 0.25"]}, tmp_path / "x.yaml", ws, print
    )
    assert (taken.action, taken.done) == ("rollback", False)
    assert "not rolling back again" in taken.detail
    entry = ledger_of(ws).last("credit-risk", "production", (LedgerKind.MONITOR,))
    assert entry is not None
    assert entry.details["actions"][0]["done"] is False
    assert entry.details["breaches"] == ["drift: max psi 0.9 > 0.25"]
