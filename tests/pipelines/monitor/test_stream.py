"""Reading prediction logs by window, block by block, and what the stream keeps."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pipelines.monitor.feedback import Feedback, load_feedback, row_keys
from pipelines.monitor.logs import ReadStats, first_offset, line_ts, log_files, read_window
from pipelines.monitor.stream import Accumulator, Reservoir, Window
from validators.gates.drift import FeatureProfile, Profile

KINDS = {"x": "numeric", "colour": "categorical"}


def line(ts: float, x: float, colour: str, output: float = 0.5) -> str:
    record = {"ts": ts, "slot": "stable", "model": "m", "input": {"x": x, "colour": colour}}
    return json.dumps({**record, "output": output}) + "\n"


def write_log(folder: Path, name: str, lines: list[str]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"predictions-{name}.jsonl"
    path.write_text("".join(lines), encoding="utf-8")
    return path


def read_all(
    files: list[Path], start: float, end: float, block: int = 1 << 20
) -> tuple[pd.DataFrame, ReadStats]:
    stats = ReadStats()
    chunks = list(read_window(files, KINDS, start, end, stats, block_bytes=block))
    frames = [c.inputs.assign(ts=c.ts, output=c.outputs) for c in chunks]
    return (pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()), stats


def test_only_the_window_is_returned(tmp_path: Path) -> None:
    lines = [line(1000.0 + i, float(i), "red") for i in range(5000)]
    path = write_log(tmp_path, "1", lines)
    frame, stats = read_all([path], 3000.0, 4000.0, block=4096)
    assert frame["ts"].min() == 3000.0
    assert frame["ts"].max() == 3999.0
    assert len(frame) == stats.rows == 1000
    assert frame["x"].tolist() == [float(i) for i in range(2000, 3000)]
    # the binary search skipped most of what is before the window
    assert stats.bytes < path.stat().st_size / 2


def test_first_offset_is_a_line_start_before_the_window(tmp_path: Path) -> None:
    path = write_log(tmp_path, "1", [line(float(i), 1.0, "red") for i in range(20_000)])
    with path.open("rb") as handle:
        offset = first_offset(handle, path.stat().st_size, 15_000.0)
        handle.seek(offset)
        ts = line_ts(handle.readline())
    assert ts is not None
    assert 14_000.0 < ts <= 15_000.0


def test_torn_and_foreign_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    good = [line(10.0 + i, float(i), "blue") for i in range(5)]
    lines = [*good[:2], "not json\n", '{"ts": 12.5, "input": "x"}\n', *good[2:], '{"ts": 20, "inp']
    path = write_log(tmp_path, "1", lines)
    frame, stats = read_all([path], 0.0, 100.0)
    assert len(frame) == 5  # the last line has no newline yet: it is left for the next read
    assert stats.unreadable == 2
    assert frame["colour"].tolist() == ["blue"] * 5


def test_log_files_skips_files_not_written_in_the_window(tmp_path: Path) -> None:
    old = write_log(tmp_path / "stable", "1", [line(1.0, 1.0, "red")])
    new = write_log(tmp_path / "canary", "2", [line(2.0, 1.0, "red")])
    import os

    os.utime(old, (100.0, 100.0))
    os.utime(new, (5000.0, 5000.0))
    assert log_files([tmp_path / "stable", tmp_path / "canary", tmp_path / "none"], 1000.0) == [new]


def test_window_bins() -> None:
    window = Window(100.0, 200.0, bins=4)
    assert window.bin_of(np.array([99.0, 100.0, 124.9, 125.0, 199.9, 200.0])).tolist() == [
        -1,
        0,
        0,
        1,
        3,
        -1,
    ]
    assert window.edges() == [100.0, 125.0, 150.0, 175.0, 200.0]


def test_accumulator_counts_per_bin_add_up_to_the_profile_counts() -> None:
    reference = pd.DataFrame({"x": np.arange(100, dtype=float), "colour": ["red", "blue"] * 50})
    profile = Profile.from_frame(reference, ["x", "colour"])
    output = FeatureProfile.build(pd.Series(np.linspace(0, 1, 100), name="output"))
    acc = Accumulator(profile, output, Window(0.0, 10.0, bins=2))
    from pipelines.monitor.logs import Chunk

    ts = np.array([1.0, 2.0, 6.0, 7.0, 8.0, 11.0])
    inputs = pd.DataFrame(
        {
            "x": [1.0, 50.0, 99.0, 200.0, np.nan, 5.0],
            "colour": ["red", "red", "blue", "green", None, "red"],
        }
    )
    acc.add(Chunk(ts, inputs, np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6])))
    assert acc.rows.tolist() == [2, 3]
    inside = inputs.iloc[:5]
    assert acc.total("x").tolist() == profile.features["x"].counts(inside["x"]).tolist()
    colour = profile.features["colour"]
    counted = dict(zip(colour.labels(), acc.total("colour").tolist(), strict=True))
    assert counted == {"red": 2, "blue": 1, "(other)": 1, "(missing)": 1}
    first_bin = dict(zip(colour.labels(), acc.counts["colour"][0].tolist(), strict=True))
    assert first_bin == {"red": 2, "blue": 0, "(other)": 0, "(missing)": 0}
    assert acc.total("output").sum() == 5


def test_reservoir_is_a_uniform_sample_of_everything_added() -> None:
    reservoir = Reservoir(2000, seed=7)
    for start in range(0, 200_000, 10_000):
        reservoir.add(pd.DataFrame({"x": np.arange(start, start + 10_000, dtype=float)}))
    sample = reservoir.frame()
    assert sample is not None
    assert len(sample) == 2000
    assert reservoir.seen == 200_000
    assert sample["x"].is_unique
    # uniform over 0..200k: mean ~100k (sd of the mean ~1.3k), every decile represented
    assert sample["x"].mean() == pytest.approx(100_000, abs=6_000)
    deciles = np.bincount((sample["x"] // 20_000).astype(int), minlength=10)
    assert deciles.min() > 140


def test_reservoir_keeps_everything_while_it_fits() -> None:
    reservoir = Reservoir(10)
    reservoir.add(pd.DataFrame({"x": [1.0, 2.0], "c": ["a", "b"]}))
    reservoir.add(pd.DataFrame({"x": [3.0], "c": ["c"]}))
    sample = reservoir.frame()
    assert sample is not None
    assert sample.to_dict("list") == {"x": [1.0, 2.0, 3.0], "c": ["a", "b", "c"]}


def test_feedback_matches_logged_rows_by_their_inputs(tmp_path: Path) -> None:
    labels = tmp_path / "labels.csv"
    labels.write_text("x,colour,default\n1,red,1\n2.5,blue,0\n7,green,1\n", encoding="utf-8")
    feedback = load_feedback(labels, KINDS, "default")
    logged = pd.DataFrame({"x": [2.5, 1.0, 9.0], "colour": ["blue", "red", "red"]})
    feedback.match(logged, np.array([0.2, 0.8, 0.5]), KINDS)
    y, out = feedback.pairs()
    assert sorted(zip(y.tolist(), out.tolist(), strict=True)) == [(0.0, 0.2), (1.0, 0.8)]


def test_row_keys_normalise_numbers() -> None:
    a = row_keys(pd.DataFrame({"x": [1, 2], "colour": ["r", "s"]}), KINDS)
    b = row_keys(pd.DataFrame({"x": [1.0, 2.0], "colour": ["r", "s"]}), KINDS)
    assert a.tolist() == b.tolist()
    assert a[0] != a[1]


def test_feedback_file_needs_the_input_columns(tmp_path: Path) -> None:
    from pipelines.core.errors import UsageError

    labels = tmp_path / "labels.csv"
    labels.write_text("x,default\n1,1\n", encoding="utf-8")
    with pytest.raises(UsageError, match="lacks column\\(s\\) colour"):
        load_feedback(labels, KINDS, "default")
    assert isinstance(Feedback(np.zeros(0, dtype=np.uint64), np.zeros(0)).pairs()[0], np.ndarray)


def test_a_large_window_is_read_as_a_systematic_segment_sample(tmp_path: Path) -> None:
    lines = [line(float(i), float(i % 100), "red") for i in range(40_000)]
    path = write_log(tmp_path, "1", lines)
    stats = ReadStats()
    chunks = list(read_window([path], KINDS, 0.0, 1e9, stats, max_rows=10_000))
    xs = np.concatenate([c.inputs["x"].to_numpy() for c in chunks])
    ts = np.concatenate([c.ts for c in chunks])
    assert stats.every in (4, 5)  # from an estimate of the line count
    assert stats.rows == len(ts)
    assert 40_000 / stats.every * 0.8 < len(ts) < 40_000 / stats.every * 1.2
    assert len(np.unique(ts)) == len(ts)  # no line twice
    assert ts.min() < 1_000
    assert ts.max() > 39_000
    assert xs.mean() == pytest.approx(49.5, abs=2)
    assert stats.bytes < path.stat().st_size / 3  # the other segments were never read
