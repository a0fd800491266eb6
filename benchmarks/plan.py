"""Time `shipyard plan --base` on a repository of many specs where one changed.

    .venv/bin/python benchmarks/plan.py [--specs 500] [--runs 5]

Sets up a project with `shipyard init` (the demo's data and MLflow models) in a temporary
Git repository, writes SPECS copies of the demo spec under different names, commits them, then
edits one spec (its service's workers), whose offline gates then run. Times, end to end
through the CLI, `shipyard plan --base HEAD --no-preview --format markdown`:

- cold: the first plan (the changed spec's gates are computed and cached);
- warm: later plans (the gate results come from the cache, as on a second push);
- no cache: `--no-cache` every time (the gates recomputed each run).

Goal (GitOps issue): 1 changed spec among 500 planned in under 10 s without the preview.
"""

from __future__ import annotations

import argparse
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


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [SHIPYARD, "-C", str(root), *args], capture_output=True, text=True, check=False
    )


def git(root: Path, *args: str) -> None:
    subprocess.run(
        ["git", "-C", str(root), "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        check=True,
        capture_output=True,
    )


def timed(root: Path, *args: str) -> float:
    started = time.perf_counter()
    result = run(root, "plan", "--base", "HEAD", "--no-preview", "--format", "markdown", *args)
    took = time.perf_counter() - started
    if result.returncode != 0 or f"1 spec(s) changed, {ARGS.specs - 1} unchanged" not in (
        result.stdout
    ):
        sys.exit(f"plan failed ({result.returncode}):\n{result.stdout[-2000:]}{result.stderr}")
    return took


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="shipyard-plan-bench-") as tmp:
        root = Path(tmp)
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
        cold = timed(root)
        warm = [timed(root) for _ in range(ARGS.runs)]
        nocache = [timed(root, "--no-cache") for _ in range(ARGS.runs)]
    print(f"repository: {ARGS.specs} specs, 1 changed; plan --base HEAD --no-preview")
    print(f"cold (gates computed):     {cold:6.2f} s")
    print(f"warm (gates cached):       median {statistics.median(warm):6.2f} s over {ARGS.runs}")
    print(f"--no-cache (recomputed):   median {statistics.median(nocache):6.2f} s over {ARGS.runs}")
    worst = max(cold, *nocache)
    verdict = "meets" if worst < GOAL_S else "MISSES"
    print(f"goal: under {GOAL_S:g} s; slowest uncached run {worst:.2f} s — {verdict} it")


parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
parser.add_argument("--specs", type=int, default=500)
parser.add_argument("--runs", type=int, default=5)
ARGS = parser.parse_args()

if __name__ == "__main__":
    main()
