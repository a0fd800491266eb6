"""Time every offline gate of one spec on 100,000 rows x 20 features, gate by gate.

    .venv/bin/python benchmarks/gates.py [--rows 100000] [--runs 3] [--keep] [--profile FILE]

Setup (printed separately, not part of the figure) builds a throw-away project in a temp dir:
`git init`, `dvc init` with a local default remote, an evaluation and a reference CSV
(ROWS rows each, different seeds; the demo's 15 columns incl. `sex`, 5 extra numeric columns,
the label `default`) tracked with `dvc add`; two versions of `credit-risk` trained on the
reference data (19 features: every column but `sex` and the label) and registered in an MLflow
SQLite store under `.shipyard/`, the alias `production` on the first. The spec is the demo's
(`specs/credit-risk.yaml`: model gates with min and max_regression, fairness on sex, drift PSI)
pointing at the second version, with the demo's GX suite extended to the extra columns.

Timed: `run_offline_gates(spec, ws, use_cache=False)` end to end, one untimed first run (it
imports Great Expectations and builds its context; shown as "cold"), then RUNS timed runs;
then one run with use_cache=True. Per gate the time is the GateResult's duration_s; "outside
gates" is the total minus the gates' sum (MLflow resolve, model loads, data reads, scoring).

Goal (offline gates issue): all offline gates for 100,000 rows x 20 features under 30 s.
"""

from __future__ import annotations

import argparse
import contextlib
import cProfile
import functools
import hashlib
import io
import logging
import os
import pstats
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import yaml

from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from pipelines.demo import train
from pipelines.demo.dataset import LABEL, generate, write_csv
from pipelines.gates.run import GateRun, run_offline_gates
from validators.gates.result import GateResult
from validators.sources.datasets import read_dataset
from validators.sources.registry import Registry
from validators.spec.model import ModelDeployment

REPO = Path(__file__).resolve().parent.parent
GOAL_S = 30.0
BASE_SPEC = REPO / "specs" / "credit-risk.yaml"
BASE_SUITE = REPO / "validators" / "suites" / "credit.yaml"
EVALUATION = "data/bench/evaluation.csv"
REFERENCE = "data/bench/reference.csv"
SUITE = "validators/suites/bench.yaml"
SPEC = "specs/bench.yaml"
CHAMPION_ALIAS = "production"
EXTRA_COLUMNS = [
    "months_at_address",
    "open_inquiries_6m",
    "revolving_balance",
    "installment_ratio",
    "bureau_score",
]
EXTRA_EXPECTATIONS: list[dict[str, Any]] = [
    {"expect_column_values_to_not_be_null": {"column": "bureau_score"}},
    {
        "expect_column_values_to_be_between": {
            "column": "bureau_score",
            "min_value": 300,
            "max_value": 850,
        }
    },
    {
        "expect_column_values_to_be_between": {
            "column": "installment_ratio",
            "min_value": 0,
            "max_value": 1,
        }
    },
    {
        "expect_column_mean_to_be_between": {
            "column": "months_at_address",
            "min_value": 120,
            "max_value": 360,
            "severity": "warning",
        }
    },
]
T = TypeVar("T")


# --- quiet libraries ----------------------------------------------------------------------------


def quiet_libraries() -> None:
    """Keep MLflow, GX, DVC and friends off the terminal: errors only, no progress bars."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    os.environ.setdefault("GX_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("DVC_NO_ANALYTICS", "1")
    os.environ.pop("MLFLOW_TRACKING_URI", None)  # the temp project's own SQLite store
    warnings.filterwarnings("ignore")
    logging.disable(logging.WARNING)  # GX resets its loggers' levels on import


@contextlib.contextmanager
def muted() -> Iterator[None]:
    """Anything a library prints (stdout and stderr) is dropped while inside."""
    sink = io.StringIO()
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        yield


def timed(fn: Callable[[], T]) -> tuple[T, float]:
    started = time.perf_counter()
    with muted():
        value = fn()
    return value, time.perf_counter() - started


# --- setup --------------------------------------------------------------------------------------


def run_tool(root: Path, *argv: str) -> None:
    result = subprocess.run(
        list(argv),
        cwd=root,
        capture_output=True,
        text=True,
        env={**os.environ, "DVC_NO_ANALYTICS": "1"},
    )
    if result.returncode != 0:
        raise SystemExit(f"`{' '.join(argv)}` failed: {(result.stderr or result.stdout)[-2000:]}")


def dvc(root: Path, *args: str) -> None:
    run_tool(root, sys.executable, "-m", "dvc", *args)


def frame_with_extras(rows: int, seed: int) -> Any:
    """The demo's 15 columns plus 5 seeded numeric ones, the label last."""
    frame = generate(rows, seed)
    rng = np.random.default_rng(seed + 10_000)
    extras = {
        "months_at_address": rng.integers(0, 480, rows),
        "open_inquiries_6m": rng.poisson(1.2, rows).astype(np.int64),
        "revolving_balance": rng.lognormal(8.0, 1.0, rows).round(2),
        "installment_ratio": rng.beta(2.0, 6.0, rows).round(4),
        "bureau_score": np.clip(rng.normal(680, 60, rows), 300, 850).round().astype(np.int64),
    }
    for name, values in extras.items():
        frame.insert(frame.columns.get_loc(LABEL), name, values)
    return frame


def write_data(root: Path, rows: int) -> dict[str, str]:
    """The two CSVs; path -> sha256 of the bytes."""
    digests = {}
    for relative, seed in ((EVALUATION, 11), (REFERENCE, 12)):
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        write_csv(frame_with_extras(rows, seed), str(path))
        digests[relative] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def write_suite(root: Path) -> int:
    """The demo suite with the extra columns in the column set and 4 more expectations."""
    suite: dict[str, Any] = yaml.safe_load(BASE_SUITE.read_text(encoding="utf-8"))
    suite["name"] = "credit-bench"
    for item in suite["expectations"]:
        args = item.get("expect_table_columns_to_match_set")
        if args is not None:
            columns = list(args["column_set"])
            args["column_set"] = [*columns[:-1], *EXTRA_COLUMNS, columns[-1]]
    suite["expectations"] += EXTRA_EXPECTATIONS
    path = root / SUITE
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(suite, sort_keys=False), encoding="utf-8")
    return len(suite["expectations"])


def register_models(ws: Workspace, digest: str) -> tuple[str, str]:
    """Champion (alias production) and challenger, both on every non-sex feature."""
    import mlflow
    import pandas as pd

    frame = pd.read_csv(ws.root / REFERENCE)  # as the gates will read it: same dtypes
    ws.mlflow_artifacts.mkdir(parents=True, exist_ok=True)
    versions = []
    for name, max_iter in (("bench-champion", 60), ("bench-challenger", 100)):
        variant = train.Variant(
            name=name,
            training_data=REFERENCE,
            description=f"{max_iter} boosting rounds on 19 features",
            features=lambda columns: columns,
            max_iter=max_iter,
        )
        versions.append(
            train.register(variant, frame, digest, ws.mlflow_uri, ws.mlflow_artifacts.as_uri())
        )
    client = mlflow.MlflowClient(tracking_uri=ws.mlflow_uri, registry_uri=ws.mlflow_uri)
    client.set_registered_model_alias(train.MODEL_NAME, CHAMPION_ALIAS, versions[0])
    return versions[0], versions[1]


def write_spec(root: Path, version: str) -> Path:
    spec: dict[str, Any] = yaml.safe_load(BASE_SPEC.read_text(encoding="utf-8"))
    spec["metadata"]["name"] = "credit-risk-bench"
    spec["model"]["uri"] = f"models:/{train.MODEL_NAME}/{version}"
    spec["data"]["evaluation"] = {"path": EVALUATION}
    spec["data"]["reference"] = {"path": REFERENCE}
    spec["data"]["expectations"] = SUITE
    path = root / SPEC
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def setup(root: Path, rows: int) -> tuple[Workspace, ModelDeployment, list[str]]:
    """The throw-away project; returns the workspace, the spec and lines describing it."""
    ws = Workspace.at(root)
    steps: list[str] = []
    ws.state.mkdir(parents=True, exist_ok=True)
    _, took = timed(lambda: run_tool(root, "git", "init", "-q"))
    _, more = timed(lambda: dvc(root, "init", "--quiet"))
    ws.dvc_remote.mkdir(parents=True, exist_ok=True)
    remote = os.path.relpath(ws.dvc_remote, root)
    _, most = timed(lambda: dvc(root, "remote", "add", "--default", "bench-local", remote))
    steps.append(f"git init + dvc init + remote      {took + more + most:7.2f} s")
    digests, took = timed(lambda: write_data(root, rows))
    steps.append(f"generate + write 2 CSVs           {took:7.2f} s")
    _, took = timed(lambda: dvc(root, "add", "--quiet", EVALUATION, REFERENCE))
    steps.append(f"dvc add                           {took:7.2f} s")
    (champion, challenger), took = timed(lambda: register_models(ws, digests[REFERENCE]))
    steps.append(f"train + register 2 models         {took:7.2f} s")
    expectations = write_suite(root)
    spec = load_spec(write_spec(root, challenger), root)
    size = sum((root / p).stat().st_size for p in (EVALUATION, REFERENCE)) / 1e6
    steps.append(
        f"data: {rows:,} rows x {len(EXTRA_COLUMNS) + 15} features + label, 2 CSVs "
        f"({size:.1f} MB), tracked by DVC"
    )
    steps.append(
        f"model: {spec.model.uri} (challenger) vs v{champion} (@{CHAMPION_ALIAS}); "
        f"suite: {expectations} expectations"
    )
    return ws, spec, steps


# --- timing -------------------------------------------------------------------------------------


def gate_seconds(results: list[GateResult]) -> dict[tuple[str, str], float]:
    """(family, name) -> seconds, from each result's own duration."""
    seconds: dict[tuple[str, str], float] = {}
    for r in results:
        seconds[(r.gate, r.name)] = seconds.get((r.gate, r.name), 0.0) + r.duration_s
    return seconds


def verdicts(run: GateRun) -> dict[tuple[str, str], str]:
    return {(r.gate, r.name): r.verdict for r in run.results}


def row(what: str, samples: list[float], verdict: str = "") -> str:
    return (
        f"{what:<66} {statistics.median(samples):8.3f} {min(samples):7.3f} "
        f"{max(samples):7.3f}  {verdict}"
    ).rstrip()


def outside_breakdown(spec: ModelDeployment, ws: Workspace) -> list[tuple[str, float]]:
    """The non-gate work of one run, step by step, measured on its own (one pass)."""
    assert spec.data is not None
    assert spec.data.reference is not None
    registry = Registry(ws.mlflow_uri)
    steps: list[tuple[str, float]] = []
    version, took = timed(lambda: registry.resolve(spec.model.uri))
    champion, more = timed(lambda: registry.alias(version.name, CHAMPION_ALIAS))
    _, most = timed(lambda: [registry.alias(version.name, e.name) for e in spec.environments])
    steps.append(("MLflow resolve + alias look-ups", took + more + most))
    evaluation, took = timed(lambda: read_dataset(ws.root, EVALUATION, None, "data.evaluation"))
    steps.append((f"read {EVALUATION} (dvc.api.read + read_csv)", took))
    _, took = timed(lambda: read_dataset(ws.root, REFERENCE, None, "data.reference"))
    steps.append((f"read {REFERENCE}", took))
    for label, which in (("challenger", version), ("champion", champion)):
        assert which is not None
        model, took = timed(functools.partial(registry.load, which))
        steps.append((f"load {label} v{which.version} (mlflow.pyfunc)", took))
        _, took = timed(functools.partial(model.score, evaluation.frame, "data.evaluation"))
        steps.append((f"score {label} on {len(evaluation.frame):,} rows", took))
    return steps


def profile(spec: ModelDeployment, ws: Workspace, target: Path) -> None:
    profiler = cProfile.Profile()
    with muted():
        profiler.runcall(run_offline_gates, spec, ws, False)
    profiler.dump_stats(str(target))
    stats = pstats.Stats(profiler, stream=sys.stdout).strip_dirs().sort_stats("cumulative")
    print(f"\ncProfile of one run (saved to {target}), top 30 by cumulative time:")
    stats.print_stats(30)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000, help="rows of each CSV")
    parser.add_argument("--runs", type=int, default=3, help="timed runs (after a cold one)")
    parser.add_argument("--keep", action="store_true", help="keep the temp project")
    parser.add_argument("--profile", type=Path, help="also cProfile one run, stats to FILE")
    args = parser.parse_args()
    quiet_libraries()
    root = Path(tempfile.mkdtemp(prefix="shipyard-gates-bench-"))
    try:
        bench(root, args.rows, max(1, args.runs), args.profile)
    finally:
        if args.keep:
            print(f"\nkept: {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


def bench(root: Path, rows: int, runs: int, profile_to: Path | None) -> None:
    started = time.perf_counter()
    ws, spec, steps = setup(root, rows)
    print(f"setup (not timed below): {time.perf_counter() - started:.2f} s in {root}")
    for step in steps:
        print(f"  {step}")

    cold, cold_s = timed(lambda: run_offline_gates(spec, ws, use_cache=False))
    totals: list[float] = []
    per_gate: dict[tuple[str, str], list[float]] = {}
    outside: list[float] = []
    for _ in range(runs):
        run, took = timed(lambda: run_offline_gates(spec, ws, use_cache=False))
        assert not run.cached
        totals.append(took)
        seconds = gate_seconds(run.results)
        for key, value in seconds.items():
            per_gate.setdefault(key, []).append(value)
        outside.append(took - sum(seconds.values()))
    cached, cached_s = timed(lambda: run_offline_gates(spec, ws, use_cache=True))
    verdict = verdicts(cold)

    print(f"\nrun_offline_gates(use_cache=False), {runs} timed run(s) after a cold one")
    print(f"{'gate / check':<66} {'median s':>8} {'min s':>7} {'max s':>7}  verdict")
    families: dict[str, list[float]] = {}
    for (family, name), samples in per_gate.items():
        print(row(f"{family:<9} {name}"[:66], samples, verdict.get((family, name), "")))
        family_sum = families.setdefault(family, [0.0] * runs)
        for i, value in enumerate(samples):
            family_sum[i] += value
    print("-" * 100)
    for family, samples in families.items():
        print(row(f"{family} (all checks)", samples))
    gates_sum = [t - o for t, o in zip(totals, outside, strict=True)]
    print(row("all gates", gates_sum))
    print(row("outside gates (resolve, model loads, data reads, scoring)", outside))
    print(row("TOTAL run_offline_gates", totals, "passed" if cold.passed else "FAILED"))
    print(f"{'cold first run in this process (GX import + context)':<66} {cold_s:8.3f}")
    print(
        f"{'cached run (use_cache=True; still resolves + reads data)':<66} {cached_s:8.3f}"
        f"  cached={cached.cached}, saves {statistics.median(totals) - cached_s:.2f} s"
    )

    print("\noutside gates, step by step (one separate pass):")
    for what, took in outside_breakdown(spec, ws):
        print(f"  {what:<56} {took:8.3f}")

    median = statistics.median(totals)
    met = "met" if median < GOAL_S else "MISSED"
    print(
        f"\ngoal: under {GOAL_S:.0f} s — {met} (median {median:.2f} s; cold {cold_s:.2f} s; "
        f"{rows:,} rows x {len(EXTRA_COLUMNS) + 15} features)"
    )
    if profile_to is not None:
        profile(spec, ws, profile_to)


if __name__ == "__main__":
    main()
