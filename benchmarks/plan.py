"""Time `shipyard plan --base` on a repository of many specs where one changed.

    .venv/bin/python benchmarks/plan.py [--specs 500] [--runs 5] [--as-installed]

Sets up a project with `shipyard init` (the demo's data and MLflow models) in a temporary
Git repository, writes SPECS copies of the demo spec under different names, commits them, then
edits one spec (its service's workers), whose offline gates then run. Times, end to end
through the CLI, `shipyard plan --base HEAD --no-preview --format markdown`:

- cold: a first plan (the gate cache emptied before each: the changed spec's gates are
  computed and cached);
- warm: later plans (the gate results come from the cache, as on a second push);
- no cache: `--no-cache` every time (the gates recomputed each run);
- no cache, one process: the same with `SHIPYARD_GATE_WORKER=0` (the data gate in the CLI's
  own process instead of a forked worker), alternated with the line above so both see the
  same load.

Each figure is wall time; `cpu` is the user+system time of the CLI and its children.

Python bytecode: a venv installed without compiled bytecode, run where
`PYTHONDONTWRITEBYTECODE` is set, compiles every module it imports on every run (about 4,000
here, 10-20 s). The benchmark then keeps the bytecode in a private folder (written by
`shipyard init` and one untimed plan) and says so; `--as-installed` times every run as it
comes instead. `uv sync --compile-bytecode` gives an install the same start.

Goal (GitOps issue): 1 changed spec among 500 planned in under 10 s without the preview.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SHIPYARD = str(Path(sys.executable).parent / "shipyard")
GOAL_S = 10.0
ENV = dict(os.environ)


def run(
    root: Path, *args: str, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPYARD, "-C", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
        env=env or ENV,
    )


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        check=True,
        capture_output=True,
    )


def timed(root: Path, *args: str, serial: bool = False) -> tuple[float, float]:
    """Wall and CPU seconds of one plan."""
    env = {**ENV, "SHIPYARD_GATE_WORKER": "0"} if serial else ENV
    cpu_before = _children_cpu()
    started = time.perf_counter()
    result = run(
        root, "plan", "--base", "HEAD", "--no-preview", "--format", "markdown", *args, env=env
    )
    took = time.perf_counter() - started
    if result.returncode != 0 or f"1 spec(s) changed, {ARGS.specs - 1} unchanged" not in (
        result.stdout
    ):
        sys.exit(f"plan failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr}")
    return took, _children_cpu() - cpu_before


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def bytecode_missing() -> bool:
    """Whether imports compile on every run: no cached bytecode of a heavy dependency and
    none may be written."""
    spec = importlib.util.find_spec("great_expectations")
    assert spec is not None
    assert spec.origin is not None
    cached = Path(importlib.util.cache_from_source(spec.origin)).exists()
    return not cached and bool(os.environ.get("PYTHONDONTWRITEBYTECODE"))


def setup(root: Path) -> None:
    git(root, "init", "-q")
    (root / "validators" / "suites").mkdir(parents=True)
    shutil.copy(REPO / "validators/suites/credit.yaml", root / "validators/suites")
    (root / "specs").mkdir()
    print("setting up: shipyard init (data, DVC, MLflow models)...", flush=True)
    init = run(root, "init")
    if init.returncode != 0:
        sys.exit(init.stdout + init.stderr)
    demo = (REPO / "specs" / "credit-risk.yaml").read_text(encoding="utf-8")
    for number in range(ARGS.specs):
        name = f"model-{number:04d}"
        text = demo.replace("name: credit-risk", f"name: {name}")
        (root / "specs" / f"{name}.yaml").write_text(text, encoding="utf-8")
    git(root, "add", "-A", "specs", "validators")
    git(root, "commit", "-q", "-m", "specs")
    changed = root / "specs" / "model-0007.yaml"
    changed.write_text(
        changed.read_text().replace("workers: 2", "workers: 1"),
        encoding="utf-8",
    )


def row(label: str, runs: list[tuple[float, float]]) -> str:
    walls = [wall for wall, _ in runs]
    cpu = statistics.median(c for _, c in runs)
    shown = " ".join(f"{w:.2f}" for w in walls)
    return f"{label:<28} median {statistics.median(walls):6.2f} s  (cpu {cpu:5.2f} s; runs {shown})"


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipyard-plan-bench-") as tmp:
        root = Path(tmp) / "project"
        root.mkdir()
        bytecode_note = "bytecode: cached in the venv, or written by Python as usual"
        if bytecode_missing() and not ARGS.as_installed:
            ENV.pop("PYTHONDONTWRITEBYTECODE", None)
            ENV["PYTHONPYCACHEPREFIX"] = str(Path(tmp) / "pycache")
        setup(root)
        if "PYTHONPYCACHEPREFIX" in ENV:
            compiling = timed(root, "--no-cache")[0]
            bytecode_note = (
                "bytecode: the venv has none and PYTHONDONTWRITEBYTECODE is set: compiled into "
                f"a private cache by `shipyard init` and a first plan ({compiling:.2f} s, not "
                "counted)"
            )
        elif bytecode_missing():
            bytecode_note = (
                "bytecode: none cached and none written: every run compiles (--as-installed)"
            )
        cold: list[tuple[float, float]] = []
        nocache: list[tuple[float, float]] = []
        serial: list[tuple[float, float]] = []
        for _ in range(ARGS.runs):  # interleaved: each kind sees the same load
            shutil.rmtree(root / ".shipyard" / "cache" / "gates", ignore_errors=True)
            cold.append(timed(root))
            nocache.append(timed(root, "--no-cache"))
            serial.append(timed(root, "--no-cache", serial=True))
        warm = [timed(root) for _ in range(ARGS.runs)]
    print(f"repository: {ARGS.specs} specs, 1 changed; plan --base HEAD --no-preview")
    print(bytecode_note)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the end")
    print(row("cold (gates computed)", cold))
    print(row("warm (gates cached)", warm))
    print(row("--no-cache (recomputed)", nocache))
    print(row("--no-cache, one process", serial))
    medians = {
        "cold": statistics.median(w for w, _ in cold),
        "--no-cache": statistics.median(w for w, _ in nocache),
    }
    worst = max(w for w, _ in [*cold, *nocache])
    verdict = "meets" if max(medians.values()) < GOAL_S else "MISSES"
    shown = ", ".join(f"{k} {v:.2f} s" for k, v in medians.items())
    print(f"goal: under {GOAL_S:g} s; medians {shown} — {verdict} it (slowest run {worst:.2f} s)")


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--specs", type=int, default=500)
parser.add_argument("--runs", type=int, default=5)
parser.add_argument(
    "--as-installed",
    action="store_true",
    help="never cache bytecode privately: time each run as the install makes it",
)
ARGS = parser.parse_args()

if __name__ == "__main__":
    main()
