"""Time spec validation: `load_all` in-process and `shipyard validate` end to end.

    .venv/bin/python benchmarks/validate.py [--count 1000] [--runs 5] [--cli-runs 3]

Generates COUNT valid specs, varied from tests/fixtures/spec/repo/specs/full.yaml (names,
metric gates, fairness gates, environment counts and targets, canary step lists, optional
sections dropped), into a temporary fake repository root. The root holds the files the specs
reference (the evaluation data, its `.dvc` pointer and the expectations suite), so the file
checks run and pass; the reference dataset keeps its pinned `rev:`, so it is not looked up.

Every generated spec is checked to load without findings before anything is timed.

Goal (spec loader issue): 1,000 specs validated in under 2 s.
"""

from __future__ import annotations

import argparse
import copy
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from pipelines.core.specs import load_all

REPO = Path(__file__).resolve().parent.parent
FULL = REPO / "tests" / "fixtures" / "spec" / "repo" / "specs" / "full.yaml"
SHIPYARD = str(Path(sys.executable).parent / "shipyard")
GOAL_S = 2.0

MODEL_GATES: list[dict[str, Any]] = [
    {"metric": "roc_auc", "min": 0.8},
    {"metric": "accuracy", "max_regression": 0.01},
    {"metric": "log_loss", "max": 0.5},
    {"metric": "f1", "min": 0.6, "max": 0.99},
    {"metric": "precision", "min": 0.7},
    {"metric": "recall", "min": 0.65, "max_regression": 0.02},
]
FAIRNESS_GATES: list[dict[str, Any]] = [
    {"metric": "demographic_parity_difference", "feature": "sex", "max": 0.1},
    {"metric": "equalized_odds_ratio", "feature": "sex", "min": 0.8},
    {"metric": "demographic_parity_ratio", "feature": "sex", "min": 0.75},
    {"metric": "equalized_odds_difference", "feature": "sex", "max": 0.15},
]
STEP_LISTS: list[list[dict[str, Any]]] = [
    [{"weight": 100}],
    [{"weight": 10}, {"pause": "30s"}, {"weight": 100}],
    [
        {"weight": 10},
        {"pause": "30s"},
        {"weight": 50},
        {"analysis": {"duration": "1m"}},
        {"weight": 100},
    ],
    [{"weight": 5}, {"weight": 25}, {"pause": "2m"}, {"weight": 60}, {"weight": 100}],
    [{"analysis": {"duration": "500ms"}}, {"weight": 50}, {"pause": "1h"}, {"weight": 100}],
]
TARGETS: dict[str, dict[str, Any]] = {
    "local": {},
    "kubernetes": {"namespace": "ml", "ingress_class": "nginx", "host": "svc.internal"},
    "aws": {"region": "eu-west-1", "instance_type": "ml.m5.large"},
}
ENV_NAMES = ["dev", "staging", "canary", "production", "production-eu"]


def make_spec(base: dict[str, Any], index: int, rng: random.Random) -> dict[str, Any]:
    """A valid variation of `base` (full.yaml), the `index`-th of the set."""
    spec = copy.deepcopy(base)
    spec["metadata"]["name"] = f"model-{index:04d}"
    spec["metadata"]["labels"] = {"team": rng.choice(["risk", "growth", "ops"]), "n": str(index)}
    spec["model"]["uri"] = f"models:/model-{index:04d}/{rng.randint(1, 40)}"
    gates = spec["gates"]
    gates["model"] = rng.sample(MODEL_GATES, rng.randint(1, len(MODEL_GATES)))
    gates["fairness"] = rng.sample(FAIRNESS_GATES, rng.randint(1, len(FAIRNESS_GATES)))
    if rng.random() < 0.3:
        del gates["serving"]
    for optional in ("service", "monitoring"):
        if rng.random() < 0.2:
            del spec[optional]
    environments = []
    for position, name in enumerate(sorted(rng.sample(ENV_NAMES, rng.randint(1, 4)))):
        target = rng.choice(list(TARGETS))
        env: dict[str, Any] = {"name": name, "target": target}
        if TARGETS[target]:
            env[target] = dict(TARGETS[target])
        if target == "local":
            env["local"] = {"port": 18000 + position}
        if rng.random() < 0.5:
            env["approvals"] = [{"required": 1, "from": ["@risk-ml", "@compliance"]}]
        if rng.random() < 0.6:
            steps = copy.deepcopy(rng.choice(STEP_LISTS))
            env["rollout"] = {"steps": steps, "analysis": {"interval": f"{rng.randint(1, 30)}s"}}
        else:
            env["rollout"] = {"strategy": "direct"}
        environments.append(env)
    spec["environments"] = environments
    return spec


def generate(root: Path, count: int, seed: int) -> Path:
    """A fake repository under `root` with `count` specs in root/specs; returns that folder."""
    base: dict[str, Any] = yaml.safe_load(FULL.read_text(encoding="utf-8"))
    data = base["data"]
    files = [data["evaluation"]["path"] + ".dvc", data["expectations"]]
    for rel in files:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text("placeholder\n", encoding="utf-8")
    specs = root / "specs"
    specs.mkdir()
    rng = random.Random(seed)
    for index in range(count):
        spec = make_spec(base, index, rng)
        text = yaml.safe_dump(spec, sort_keys=False, default_flow_style=rng.choice([False, None]))
        (specs / f"model-{index:04d}.yaml").write_text(text, encoding="utf-8")
    return specs


def time_load(specs: Path, root: Path) -> tuple[float, int]:
    started = time.perf_counter()
    reports = load_all([specs], root=root)
    elapsed = time.perf_counter() - started
    return elapsed, sum(1 for report in reports if report.ok)


def time_cli(specs: Path, root: Path) -> float:
    started = time.perf_counter()
    result = subprocess.run(
        [SHIPYARD, "-C", str(root), "validate", str(specs)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise SystemExit(f"shipyard validate exited {result.returncode}: {result.stderr[-2000:]}")
    return elapsed


def row(name: str, samples: list[float], count: int) -> str:
    median = statistics.median(samples)
    return (
        f"{name:<28} {median:9.3f} {min(samples):7.3f} {max(samples):7.3f} "
        f"{count / median:9.0f} {len(samples):5d}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--count", type=int, default=1000, help="specs to generate")
    parser.add_argument("--runs", type=int, default=5, help="timed runs of load_all")
    parser.add_argument("--cli-runs", type=int, default=3, help="timed runs of the CLI")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-") as tmp:
        root = Path(tmp)
        started = time.perf_counter()
        specs = generate(root, args.count, args.seed)
        generated_s = time.perf_counter() - started
        _, ok = time_load(specs, root)  # warm-up, and every spec must be valid
        if ok != args.count:
            raise SystemExit(f"only {ok} of {args.count} generated specs are valid")
        loads = [time_load(specs, root)[0] for _ in range(args.runs)]
        clis = [time_cli(specs, root) for _ in range(args.cli_runs)]
    print(f"{args.count} valid specs generated in {generated_s:.2f} s (file checks on)")
    print(f"{'what':<28} {'median s':>9} {'min s':>7} {'max s':>7} {'specs/s':>9} {'runs':>5}")
    print(row("load_all (in process)", loads, args.count))
    print(row("shipyard validate (CLI)", clis, args.count))
    verdict = "met" if statistics.median(clis) < GOAL_S * args.count / 1000 else "MISSED"
    print(f"goal: 1,000 specs under {GOAL_S:.0f} s end to end: {verdict}")


if __name__ == "__main__":
    main()
