"""One pass over a window of prediction logs written here from a seeded generator: counted
per bin, sampled for raw-value methods, and judged for input drift and output shift."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.monitor.baseline import Baseline
from pipelines.monitor.scan import drift_results, scan
from pipelines.monitor.stream import Window
from validators.gates.drift import FeatureProfile, Profile

START = 1_700_000_000.0
WINDOW = Window(START, START + 3600.0, bins=6)


def frame(rows: int, seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "income": rng.normal(50_000 + shift * 20_000, 10_000, rows),
            "region": rng.choice(["north", "south", "west"], rows, p=[0.5, 0.3, 0.2]),
        }
    )


def outputs(data: pd.DataFrame) -> np.ndarray:
    return np.asarray(1 / (1 + np.exp((data["income"] - 50_000) / 10_000)))


REFERENCE = frame(4000, seed=1)
BASELINE = Baseline(
    model="models:/credit/1",
    columns=["income", "region"],
    profile=Profile.from_frame(REFERENCE, ["income", "region"]),
    reference=REFERENCE,
    output=FeatureProfile.build(pd.Series(outputs(REFERENCE), name="output")),
    outputs=pd.DataFrame({"output": outputs(REFERENCE)}),
    offline={},
    data={"data.reference": "d1"},
)


def write_logs(folder: Path, live: pd.DataFrame, start: float = START) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    scores = outputs(live)
    lines = [
        json.dumps(
            {
                "ts": start + i * 3000.0 / len(live),
                "slot": "stable",
                "model": "models:/credit/1",
                "input": {"income": row.income, "region": row.region},
                "output": float(score),
            }
        )
        for i, (row, score) in enumerate(zip(live.itertuples(), scores, strict=True))
    ]
    (folder / "predictions-1.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def test_every_prediction_in_the_window_is_counted(tmp_path: Path) -> None:
    folder = write_logs(tmp_path / "stable", frame(1200, seed=2))
    write_logs(tmp_path / "old", frame(500, seed=3), start=START - 7200.0)
    found = scan([folder, tmp_path / "old"], BASELINE, WINDOW, "psi")
    assert found.rows == found.predictions == 1200
    assert found.read.every == 1
    assert found.read.rows == 1200
    assert int(found.acc.rows[:5].sum()) == 1200  # 3000 s of traffic: the first 5 bins of 600 s
    assert int(found.acc.rows[5]) == 0


@pytest.mark.parametrize("method", ["psi", "jensen_shannon", "ks", "wasserstein"])
def test_reference_like_traffic_is_quiet_and_shifted_traffic_drifts(
    tmp_path: Path, method: str
) -> None:
    limit = {"psi": 0.2, "jensen_shannon": 0.1, "ks": 0.1, "wasserstein": 0.3}[method]
    quiet = scan([write_logs(tmp_path / "quiet", frame(1500, seed=4))], BASELINE, WINDOW, method)
    inputs, output = drift_results(quiet, BASELINE, method, limit)
    assert (inputs.gate, output.gate) == ("drift", "output")
    assert inputs.passed, inputs.summary()
    assert output.passed, output.summary()
    drifted = frame(1500, seed=5, shift=1.5)
    loud = scan([write_logs(tmp_path / "loud", drifted)], BASELINE, WINDOW, method)
    inputs, output = drift_results(loud, BASELINE, method, limit)
    assert not inputs.passed, inputs.summary()
    assert not output.passed, output.summary()
    assert inputs.measured is not None
    assert inputs.threshold == limit


def test_too_little_traffic_is_not_judged(tmp_path: Path) -> None:
    found = scan([write_logs(tmp_path / "s", frame(20, seed=6))], BASELINE, WINDOW, "psi")
    inputs, output = drift_results(found, BASELINE, "psi", 0.2)
    assert found.rows == 20
    assert inputs.note == "not judged: 20 predictions (< 100)"
    assert output.note == "not judged: 20 predictions (< 100)"
    assert inputs.measured is None
    assert output.measured is None
