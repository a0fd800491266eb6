"""Time `shipyard --help` against a bare interpreter start, side by side, medians over N runs.

    .venv/bin/python benchmarks/cli_startup.py [--runs 20]

Goal (foundation issue): `shipyard --help` under 0.3 s.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

SHIPYARD = str(Path(sys.executable).parent / "shipyard")
COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "shipyard --help": [SHIPYARD, "--help"],
    "python -m pipelines --help": [sys.executable, "-m", "pipelines", "--help"],
}


def time_once(argv: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    runs = parser.parse_args().runs
    for argv in COMMANDS.values():
        time_once(argv)  # warm the page cache and .pyc files
    samples: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(runs):  # interleaved, so load on the machine hits every command alike
        for name, argv in COMMANDS.items():
            samples[name].append(time_once(argv))
    base = statistics.median(samples["python -c pass"])
    print(f"{'command':<30} {'median s':>9} {'min s':>7} {'max s':>7} {'x bare':>7}  (runs={runs})")
    for name, values in samples.items():
        median = statistics.median(values)
        print(
            f"{name:<30} {median:9.3f} {min(values):7.3f} {max(values):7.3f} {median / base:7.1f}"
        )


if __name__ == "__main__":
    main()
