"""Read the prediction logs of a time window block by block, never a whole log at once.

Each server process appends to its own `predictions-<pid>.jsonl` (one JSON object a line:
`ts`, `slot`, `model`, `input`, `output`), in time order. In each file the window's first line is
found by binary search on the lines' `ts` (less `SLACK` seconds, since concurrent batches may
log a few milliseconds out of order); files not written since the window started are skipped.
From there the file is read in blocks of `BLOCK_BYTES` cut at line ends, each parsed by
pyarrow's JSON reader against the schema the reference data implies (numeric columns as
float64, categorical ones as strings). A block that schema does not fit (a torn or
hand-edited line, a value of another type) is parsed line by line with `json`, and lines that
still do not parse are counted and skipped. Memory is bounded by one block.

Reading and parsing are the cost, so a window estimated (from its bytes and the length of its
first lines) to hold more than `MAX_ROWS` predictions is read as a systematic cluster sample:
the file is cut into `SEGMENT_BYTES` segments (~600 lines, a few seconds of traffic at
100 rps) and every k-th one is read (seeked to, the others never touched), with k the
smallest that brings the window under `MAX_ROWS` (`ReadStats.every`). Drift scores compare
proportions, which 2 million rows spread over the whole window estimate closely; the reports
scale counts back by k. With a feedback file every line is read (labels must be joined).
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa
    from numpy.typing import NDArray

BLOCK_BYTES = 32 << 20
SLACK = 60.0
MAX_ROWS = 2_000_000
SEGMENT_BYTES = 256 << 10
PATTERN = "predictions-*.jsonl"
_TS = re.compile(rb'^\{"ts":\s*(-?[0-9.eE+-]+)')


@dataclass(frozen=True)
class Chunk:
    """Logged predictions inside the window: timestamps, input rows, outputs."""

    ts: NDArray[np.float64]
    inputs: pd.DataFrame
    outputs: NDArray[np.float64]

    def __len__(self) -> int:
        return len(self.ts)


@dataclass
class ReadStats:
    """What reading cost and found: files and bytes read, predictions in the window, lines
    that could not be read."""

    files: int = 0
    bytes: int = 0
    rows: int = 0
    unreadable: int = 0
    every: int = 1  # 1 segment in `every` was read (a systematic sample of a large window)
    past_end: bool = False  # the current file's lines are past the window


def log_files(directories: list[Path], since: float) -> list[Path]:
    """The prediction logs under `directories` written to at or after `since`."""
    found = []
    for directory in directories:
        if directory.is_dir():
            found += [p for p in sorted(directory.glob(PATTERN)) if p.stat().st_mtime >= since]
    return found


def line_ts(line: bytes) -> float | None:
    """The `ts` of one log line (None when the line is not a log record)."""
    match = _TS.match(line)
    if match:
        try:
            return float(match.group(1))
        except ValueError:
            pass
    try:
        value = json.loads(line)["ts"]
        return float(value)
    except (ValueError, KeyError, TypeError):
        return None


def first_offset(handle: Any, size: int, start: float) -> int:
    """Byte offset of the first line whose `ts` may be at or after `start`: a binary search
    over line starts; lines must be (nearly) in time order, as an append-only log is."""
    lo, hi = 0, size
    while hi - lo > 4096:
        mid = (lo + hi) // 2
        handle.seek(mid)
        handle.readline()  # the rest of the line `mid` falls in
        where = handle.tell()
        ts = line_ts(handle.readline())
        if where >= size or ts is None or ts >= start:
            hi = mid
        else:
            lo = where
    return lo


def schema(columns: dict[str, str]) -> pa.Schema:
    """The records' schema: `columns` maps each input column to `numeric` or `categorical`."""
    import pyarrow as pa

    fields = [
        pa.field(name, pa.float64() if kind == "numeric" else pa.string())
        for name, kind in columns.items()
    ]
    return pa.schema(
        [
            pa.field("ts", pa.float64()),
            pa.field("input", pa.struct(fields)),
            pa.field("output", pa.float64()),
        ]
    )


def read_window(
    files: list[Path],
    columns: dict[str, str],
    start: float,
    end: float,
    stats: ReadStats,
    block_bytes: int = BLOCK_BYTES,
    max_rows: int | None = MAX_ROWS,
) -> Iterator[Chunk]:
    """The window's predictions in `files`, as chunks of at most one block each; every
    k-th line only when the window holds more than `max_rows` (None: every line)."""
    records = schema(columns)
    offsets = {path: _window_offset(path, start) for path in files}
    if max_rows is not None:
        stats.every = max(1, -(-estimate_lines(offsets) // max_rows))
    for path, offset in offsets.items():
        stats.files += 1
        stats.past_end = False
        yield from _read_file(
            path, offset, records, list(columns), (start, end), stats, block_bytes
        )


def _window_offset(path: Path, start: float) -> int:
    with path.open("rb") as handle:
        return first_offset(handle, path.stat().st_size, start - SLACK)


def estimate_lines(offsets: dict[Path, int], probe: int = 1 << 16) -> int:
    """Lines from each offset to the end of its file, by the length of the first lines."""
    total = 0
    for path, offset in offsets.items():
        size = path.stat().st_size - offset
        with path.open("rb") as handle:
            handle.seek(offset)
            head = handle.read(min(probe, size))
        lines = head.count(b"\n")
        total += int(size * lines / len(head)) if lines else 0
    return total


def _read_file(
    path: Path,
    offset: int,
    records: pa.Schema,
    names: list[str],
    span: tuple[float, float],
    stats: ReadStats,
    block_bytes: int,
) -> Iterator[Chunk]:
    if stats.every > 1:
        yield from _sampled(path, offset, records, names, span, stats, block_bytes)
        return
    with path.open("rb") as handle:
        size = path.stat().st_size  # lines appended from now on belong to the next run
        handle.seek(offset)
        rest = b""
        while offset < size:
            data = rest + handle.read(min(block_bytes, size - offset))
            offset += len(data) - len(rest)
            cut = data.rfind(b"\n") + 1
            block, rest = data[:cut], data[cut:]
            if not block:
                continue
            chunk = _windowed(block, records, names, span, stats)
            if chunk is not None:
                yield chunk
            if stats.past_end:
                return


def _sampled(
    path: Path,
    offset: int,
    records: pa.Schema,
    names: list[str],
    span: tuple[float, float],
    stats: ReadStats,
    block_bytes: int,
) -> Iterator[Chunk]:
    """Every `stats.every`-th segment of the file from `offset`, whole lines only, parsed a
    block's worth of segments at a time."""
    size = path.stat().st_size
    starts = range(offset, size, SEGMENT_BYTES * stats.every)
    pending: list[bytes] = []
    with path.open("rb") as handle:
        for at in starts:
            handle.seek(at)
            if at > offset:
                handle.readline()  # the line the segment starts inside belongs to the one before
            left = at + SEGMENT_BYTES - handle.tell()
            segment = handle.read(max(left, 0)) if left > 0 else b""
            if segment and not segment.endswith(b"\n"):
                segment += handle.readline()
            if not segment.endswith(b"\n"):  # a line still being written: not yet
                segment = segment[: segment.rfind(b"\n") + 1]
            pending.append(segment)
            if sum(map(len, pending)) >= block_bytes or at == starts[-1]:
                chunk = _windowed(b"".join(pending), records, names, span, stats)
                pending = []
                if chunk is not None:
                    yield chunk
                if stats.past_end:
                    return


def _windowed(
    block: bytes, records: pa.Schema, names: list[str], span: tuple[float, float], stats: ReadStats
) -> Chunk | None:
    """The records of `block` inside the window (None: none are)."""
    start, end = span
    stats.bytes += len(block)
    chunk = parse_block(block, records, names, stats)
    inside = (chunk.ts >= start) & (chunk.ts < end)
    stats.rows += int(inside.sum())
    if len(chunk) and float(chunk.ts.min()) >= end + SLACK:
        stats.past_end = True
    return _select(chunk, inside) if inside.any() else None


def _select(chunk: Chunk, mask: NDArray[np.bool_]) -> Chunk:
    if mask.all():
        return chunk
    inputs = chunk.inputs[mask].reset_index(drop=True)
    return Chunk(chunk.ts[mask], inputs, chunk.outputs[mask])


def parse_block(block: bytes, records: pa.Schema, names: list[str], stats: ReadStats) -> Chunk:
    """The records of `block` (whole lines); pyarrow first, `json` line by line if that fails."""
    import pyarrow as pa
    import pyarrow.json as pj

    options = pj.ParseOptions(explicit_schema=records, unexpected_field_behavior="ignore")
    try:
        table = pj.read_json(
            io.BytesIO(block),
            parse_options=options,
            read_options=pj.ReadOptions(block_size=4 << 20),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _parse_lines(block, names, stats)
    return _chunk_of(table, names, stats)


def _chunk_of(table: pa.Table, names: list[str], stats: ReadStats) -> Chunk:
    import pandas as pd

    ts = table.column("ts").to_numpy(zero_copy_only=False).astype(np.float64)
    outputs = table.column("output").to_numpy(zero_copy_only=False).astype(np.float64)
    inputs = table.column("input").combine_chunks()
    frame = pd.DataFrame({name: inputs.field(name).to_pandas() for name in names})
    usable = ~np.isnan(ts)
    stats.unreadable += int((~usable).sum())
    return _select(Chunk(ts, frame, outputs), usable)


def _parse_lines(block: bytes, names: list[str], stats: ReadStats) -> Chunk:
    import pandas as pd

    ts: list[float] = []
    outputs: list[float] = []
    rows: list[dict[str, Any]] = []
    for line in block.splitlines():
        try:
            record = json.loads(line)
            stamp, output, row = float(record["ts"]), float(record["output"]), record["input"]
            if not isinstance(row, dict):
                raise TypeError("input is not an object")
        except (ValueError, KeyError, TypeError):
            stats.unreadable += line.strip() != b""
            continue
        ts.append(stamp)
        outputs.append(output)
        rows.append(row)
    frame = pd.DataFrame.from_records(rows, columns=names) if rows else pd.DataFrame(columns=names)
    return Chunk(np.asarray(ts, dtype=np.float64), frame, np.asarray(outputs, dtype=np.float64))
