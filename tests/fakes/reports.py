"""Report renderers: shared loading of the saved gate runs in tests/fixtures/reports."""

from __future__ import annotations

import json
from pathlib import Path

from pipelines.gates.run import GateRun
from validators.gates.result import GateResult

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "reports"
# Real `run_offline_gates` output for the demo's four versions of credit-risk (v1 passes,
# v2 fails its metrics, v3 fairness, v4 drift), and one run built with the real validators on
# deliberately corrupted data: failed expectations, champion regressions and a drift error.
REAL = ["credit-risk-v1", "credit-risk-v2", "credit-risk-v3", "credit-risk-v4"]
ALL = [*REAL, "credit-risk-corrupted"]


def load_run(name: str) -> GateRun:
    data = json.loads((FIXTURES / f"{name}.json").read_text(encoding="utf-8"))
    results = [GateResult.from_json(r) for r in data["results"]]
    return GateRun(data["spec"], data["model"], data["data"], results, data["cached"], data["key"])


def load_runs(names: list[str]) -> list[GateRun]:
    return [load_run(name) for name in names]
