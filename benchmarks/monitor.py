"""Monitor a day of logs at 100 rps: read 8.64 M prediction log lines and compute drift.

    .venv/bin/python benchmarks/monitor.py [--lines 8640000] [--files 4] [--method psi] [--keep]

Setup (timed separately, not part of the figure): writes LINES prediction log lines in the
service's format (`ts`, `slot`, `model`, `input` with the demo's 15 columns, `output`) into
FILES files of a temp dir, as FILES server processes would over a day (one `ts` per line,
100 rps spread over 24 h), the second half of the day drifted (`generate(drift=True)`). The
baseline is built in memory from a seeded reference frame (no MLflow).

Timed: `scan` (the monitor's log reading and binned counting over a 24 h window: a window
estimated over 2 M predictions is read as a systematic 1-in-k line sample; `--every-line`
parses them all) then
`drift_results` (input drift and output shift verdicts), as `shipyard monitor` runs them.
Printed: wall time, lines per second, MB/s, peak RSS of the process (`ru_maxrss`) and the
verdict. Goal (monitor issue): under 60 s and 1 GiB.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pipelines.demo.dataset import LABEL, generate
from pipelines.monitor.baseline import Baseline
from pipelines.monitor.logs import MAX_ROWS
from pipelines.monitor.scan import drift_results, scan
from pipelines.monitor.stream import Window
from validators.gates.drift import FeatureProfile, Profile

DAY = 86_400.0
DISTINCT = 50_000  # distinct rows repeated through the day (half plain, half drifted)
BLOCK = 100_000  # lines formatted and written at once


def bodies(drift: bool, seed: int) -> list[str]:
    """Each row's log line after `{"ts": ...,` (the slot, model, input and output)."""
    frame = generate(DISTINCT, seed, drift=drift).drop(columns=[LABEL])
    outputs = np.random.default_rng(seed).beta(2, 6, len(frame))
    rows = frame.to_dict(orient="records")
    return [
        json.dumps(
            {"slot": "stable", "model": "models:/credit-risk/1", "input": r, "output": o},
            default=str,
        )[1:]
        for r, o in zip(rows, outputs.tolist(), strict=True)
    ]


def write_logs(folder: Path, lines: int, files: int, start: float) -> int:
    """LINES lines over FILES files, ts rising through the day; returns bytes written."""
    plain, drifted = bodies(False, 11), bodies(True, 12)
    step = DAY / lines
    written = 0
    per_file = -(-lines // files)
    for f in range(files):
        first, last = f * per_file, min((f + 1) * per_file, lines)
        with (folder / f"predictions-{1000 + f}.jsonl").open("w", encoding="utf-8") as out:
            for block in range(first, last, BLOCK):
                stop = min(block + BLOCK, last)
                text = "".join(
                    f'{{"ts": {start + i * files % lines * step:.3f}, '
                    f"{(drifted if i * 2 >= lines else plain)[i % DISTINCT]}\n"
                    for i in range(block, stop)
                )
                out.write(text)
                written += len(text)
    return written


def baseline() -> Baseline:
    reference = generate(20_000, 1).drop(columns=[LABEL])
    columns = list(reference.columns)
    outputs = pd.DataFrame({"output": np.random.default_rng(3).beta(2, 6, 5_000)})
    return Baseline(
        model="models:/credit-risk/1",
        columns=columns,
        profile=Profile.from_frame(reference, columns),
        reference=reference,
        output=FeatureProfile.build(outputs["output"]),
        outputs=outputs,
        offline={},
        data={},
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=8_640_000)
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--method", default="psi", choices=["psi", "jensen_shannon", "ks"])
    parser.add_argument("--keep", action="store_true", help="keep the temp dir")
    parser.add_argument(
        "--every-line", action="store_true", help="parse every line (no systematic sample)"
    )
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="shipyard-monitor-bench-"))
    try:
        start = 1_700_000_000.0
        began = time.perf_counter()
        size = write_logs(folder, args.lines, args.files, start)
        setup = time.perf_counter() - began
        print(
            f"setup: {args.lines:,} lines, {size / 1e9:.2f} GB in {args.files} files, {setup:.1f}s"
        )
        base = baseline()
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        began = time.perf_counter()
        limit = None if args.every_line else MAX_ROWS
        found = scan([folder], base, Window(start, start + DAY), args.method, max_rows=limit)
        results = drift_results(found, base, args.method, 0.25)
        took = time.perf_counter() - began
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"scan + drift ({args.method}): {took:.1f}s for {found.predictions:,} predictions, "
            f"1 line in {found.read.every} parsed "
            f"({found.predictions / took:,.0f} lines/s, {found.read.bytes / 1e6 / took:.0f} MB/s)"
        )
        print(
            f"peak RSS: {peak:.0f} MiB (before the scan: {rss_before:.0f} MiB; the write "
            "phase counts too, as ru_maxrss is a high-water mark)"
        )
        for r in results:
            print(f"  {r.gate}: {r.summary()}")
        print(f"goal: < 60 s and < 1024 MiB: {'met' if took < 60 and peak < 1024 else 'NOT met'}")
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
