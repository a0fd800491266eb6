"""`shipyard monitor` against a real service on the local target (supervisord, nginx,
BentoML): reference-like traffic is quiet; drifted traffic from the data generator's drift
mode is a breach, and the spec's action is taken and recorded in the ledger: a retrain
proposal, then a rollback to the previous release through `shipyard rollback`'s path."""

from __future__ import annotations

import io
import json
import math
import time
from collections.abc import Iterator
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.cli import main
from pipelines.demo.dataset import generate
from pipelines.monitor.engine import monitor
from pipelines.monitor.run import MonitorResult, Options
from stacks.target import Slot
from tests.fakes.local import JSON, Demo, LocalEnv, Releases, local_env

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fakes.local"]

SPEC = "credit-risk"
BATCH = 50  # rows per request: bodies beyond nginx's default 16 KiB buffer, as clients send


@pytest.fixture(scope="module")
def env(demo: Demo, releases: Releases) -> Iterator[LocalEnv]:
    ws, _ = demo
    with local_env(ws, "mon") as local:
        local.target.deploy(Slot.STABLE, releases.a)
        yield local


def configure(env: LocalEnv, drift_action: str) -> Path:
    """The environment's spec with monitoring: drift PSI <= 0.25 -> `drift_action`; SLOs a busy
    shared host meets, so only drift can breach."""
    data = yaml.safe_load(env.spec_file.read_text(encoding="utf-8"))
    data["monitoring"] = {
        "window": "1h",
        "drift": {"max": 0.25, "action": drift_action},
        "slo": {"latency_p95_ms": 30000, "error_rate_max": 0.5, "action": "alert"},
    }
    env.spec_file.write_text(yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return env.spec_file


def send(env: LocalEnv, releases: Releases, rows: int, seed: int, drift: bool) -> None:
    """`rows` applicants from the seeded generator, typed as the service expects."""
    frame = generate(rows, seed, drift=drift)
    records: list[dict[str, Any]] = [
        {name: type(example)(row[name]) for name, example in releases.row.items()}
        for row in frame.to_dict(orient="records")
    ]
    with httpx.Client(base_url=env.endpoint, headers=JSON, timeout=60) as client:
        for start in range(0, len(records), BATCH):
            body = json.dumps({"rows": records[start : start + BATCH]})
            response = client.post(f"/{releases.api}", content=body)
            assert response.status_code == 200, response.text


def run(env: LocalEnv, spec_file: Path, window: str | None = None) -> MonitorResult:
    options = Options(env=env.name, window=window)
    return monitor([spec_file], env.ws, options, say=lambda _: None)


def monitor_entries(env: LocalEnv) -> list[Any]:
    return [e for e in ledger_of(env.ws).entries() if e.kind == "monitor" and e.env == env.name]


def test_reference_like_traffic_is_quiet(env: LocalEnv, releases: Releases) -> None:
    spec_file = configure(env, "propose_retrain")
    send(env, releases, 400, seed=101, drift=False)
    result = run(env, spec_file)
    (found,) = result.runs
    assert found.skipped == ""
    assert found.rows == 400
    assert {r.gate: r.passed for r in found.results} == {
        "drift": True,
        "output": True,
        "slo": True,
    }
    assert found.results[0].measured is not None
    assert found.results[0].measured < 0.25
    assert result.exit_code == 0
    assert found.actions == []
    assert monitor_entries(env) == []


def test_drifted_traffic_is_a_breach_and_a_retrain_is_proposed(
    env: LocalEnv, releases: Releases
) -> None:
    spec_file = configure(env, "propose_retrain")
    send(env, releases, 1600, seed=102, drift=True)
    result = run(env, spec_file)
    (found,) = result.runs
    assert found.rows == 2000
    assert result.exit_code == 1
    drift = next(r for r in found.results if r.gate == "drift")
    assert not drift.passed
    drifting = {str(f["feature"]) for f in found.drifting}
    assert {"income", "utilization"} <= drifting
    (taken,) = found.actions
    assert (taken.action, taken.done) == ("propose_retrain", True)
    event_file, report_file = (Path(f) for f in taken.files)
    event = json.loads(event_file.read_text(encoding="utf-8"))
    assert event["event"] == "shipyard.retrain_proposed"
    assert {f["feature"] for f in event["drifting_features"]} == drifting
    assert "`income`" in report_file.read_text(encoding="utf-8")
    (entry,) = monitor_entries(env)
    assert entry.details["actions"][0]["action"] == "propose_retrain"
    assert entry.details["model"] == releases.a.model
    assert ledger_of(env.ws).verify() == []


def test_cli_reports_json_and_html_and_exits_non_zero(env: LocalEnv, tmp_path: Path) -> None:
    spec_file = configure(env, "propose_retrain")
    html = tmp_path / "monitor.html"
    out = io.StringIO()
    argv = ["-C", str(env.ws.root), "monitor", str(spec_file), "--env", env.name]
    with redirect_stdout(out):
        code = main([*argv, "--format", "json", "--html", str(html), "--no-action"])
    assert code == 1
    (report,) = json.loads(out.getvalue())
    assert report["breach"] is True
    assert report["actions"] == []
    assert sum(report["series"]["predictions"]) == 2000
    assert "income" in report["series"]["drift"]
    page = html.read_text(encoding="utf-8")
    assert page.count("<svg") >= 3
    assert "Drift (psi) per feature" in page
    assert len(monitor_entries(env)) == 1  # --no-action records nothing


def test_drift_breach_rolls_back_to_the_previous_release(env: LocalEnv, releases: Releases) -> None:
    ledger = ledger_of(env.ws)
    for release in (releases.a, releases.b):  # A was promoted, then B replaced it
        ledger.append(LedgerKind.PROMOTED, SPEC, env.name, model=release.model, bento=release.bento)
    env.target.deploy(Slot.STABLE, releases.b)
    spec_file = configure(env, "rollback")
    # B was trained on recession-era data, so its reference is drifted: today's traffic is
    # what drifts from it. A window of just this traffic.
    started = time.time()
    send(env, releases, 600, seed=103, drift=False)
    window = f"{math.ceil(time.time() - started) + 2}s"
    result = run(env, spec_file, window)
    (found,) = result.runs
    assert found.model == releases.b.model
    (taken,) = found.actions
    assert (taken.action, taken.done) == ("rollback", True), taken.detail
    assert env.target.state().slots[Slot.STABLE].release.bento == releases.a.bento
    rollback = ledger.last(SPEC, env.name, (LedgerKind.ROLLBACK,))
    assert rollback is not None
    assert rollback.details["model"] == releases.a.model
    assert monitor_entries(env)[-1].details["actions"][0]["action"] == "rollback"
    # A's reference is today's data: the same traffic is quiet for the release restored
    again = run(env, spec_file, window).runs[0]
    assert again.model == releases.a.model
    assert again.breached == []
    assert again.actions == []
    assert env.target.state().slots[Slot.STABLE].release.bento == releases.a.bento
