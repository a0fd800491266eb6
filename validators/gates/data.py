"""The data gate: a Great Expectations suite validated on a pandas DataFrame.

One ephemeral GX context (in memory, writes no files) serves the whole process; a lock keeps
two validations from sharing its one batch at once. Great Expectations and pandas are imported
inside the functions only: the CLI must start without them.
"""

from __future__ import annotations

import datetime as dt
import functools
import math
import threading
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from validators.gates.result import Gate, GateResult, stopwatch
from validators.sources.datasets import LoadedData
from validators.sources.expectations import Suite, SuiteItem, build_expectation, load_suite

if TYPE_CHECKING:
    import pandas as pd

PARTIAL_LIMIT = 10
NOTE_LIMIT = 5
RESULT_KEYS = ("observed_value", "unexpected_count", "unexpected_percent")
INDEX_KEY = "shipyard_index"
_lock = threading.Lock()


def run_suite(suite_path: Path, frame: pd.DataFrame, dataset: str) -> GateResult:
    """Load the suite at `suite_path` (SuiteError if unusable) and validate `frame` with it."""
    return validate_frame(load_suite(suite_path), frame, dataset)


def validate_frame(suite: Suite, frame: pd.DataFrame, dataset: str) -> GateResult:
    """One GateResult: measured = share of the suite's expectations that succeeded.

    Only failures of `critical` expectations (the default severity) block; a failed
    `warning` or `info` expectation is reported in the note and the evidence.
    """
    with stopwatch() as elapsed:
        records = _validate(suite, frame)
    failed = [
        item for item, record in zip(suite.items, records, strict=True) if not record["success"]
    ]
    blocking = [
        record
        for record in records
        if not record["success"] and record.get("severity", "critical") == "critical"
    ]
    total = len(records)
    return GateResult(
        gate=Gate.DATA,
        name=f"{dataset}: {suite.name}",
        passed=not blocking,
        measured=(total - len(failed)) / total,
        threshold=1.0,
        comparison=">=",
        evidence={"dataset": dataset, "rows": len(frame), "results": records},
        duration_s=elapsed[0],
        note=_note(failed, total),
    )


def _note(failed: list[SuiteItem], total: int) -> str:
    if not failed:
        return f"all {total} expectations passed"
    labels = [item.label for item in failed[:NOTE_LIMIT]]
    more = len(failed) - len(labels)
    return (
        f"{len(failed)} of {total} failed: "
        + ", ".join(labels)
        + (f", +{more} more" if more else "")
    )


def _validate(suite: Suite, frame: pd.DataFrame) -> list[dict[str, Any]]:
    """One evidence record per suite item, in suite order."""
    import great_expectations as gx

    expectations = [
        build_expectation(suite.path, item, {INDEX_KEY: item.index}) for item in suite.items
    ]
    with _lock:
        batch = _batch_definition().get_batch(batch_parameters={"dataframe": frame})
        try:
            results = batch.validate(
                gx.ExpectationSuite(name=suite.name, expectations=expectations)
            )
            by_index = {r.expectation_config.meta[INDEX_KEY]: r for r in results.results}
            return [_record(item, by_index[item.index]) for item in suite.items]
        except Exception:  # GX failed as a whole: isolate the culprit
            return [
                _validate_one(batch, item, e)
                for item, e in zip(suite.items, expectations, strict=True)
            ]


def _validate_one(batch: Any, item: SuiteItem, expectation: Any) -> dict[str, Any]:
    try:
        return _record(item, batch.validate(expectation))
    except Exception as err:  # one expectation fails, the gate goes on
        return _base_record(item, success=False) | {"exception": f"{type(err).__name__}: {err}"}


@functools.cache
def _batch_definition() -> Any:
    """The process's one in-memory context, pandas datasource and whole-frame batch."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    asset = context.data_sources.add_pandas("shipyard").add_dataframe_asset("frame")
    return asset.add_batch_definition_whole_dataframe("whole")


def _base_record(item: SuiteItem, *, success: bool) -> dict[str, Any]:
    return {
        "type": item.type,
        "kwargs": json_safe(item.args),
        "severity": str(item.kwargs.get("severity", "critical")),
        "success": success,
    }


def _record(item: SuiteItem, result: Any) -> dict[str, Any]:
    """The reviewer-facing part of one ExpectationValidationResult, JSON-safe."""
    record = _base_record(item, success=bool(result.success))
    found = result.result or {}
    for key in RESULT_KEYS:
        if key in found:
            record[key] = json_safe(found[key])
    if "partial_unexpected_list" in found:
        record["partial_unexpected_list"] = json_safe(
            list(found["partial_unexpected_list"])[:PARTIAL_LIMIT]
        )
    message = _exception_message(result.exception_info or {})
    if message:
        record["success"] = False
        record["exception"] = message
    return record


def _exception_message(info: dict[str, Any]) -> str:
    """GX puts {raised_exception, exception_message} flat, or one such dict per failed metric."""
    entries = [info] if "raised_exception" in info else list(info.values())
    messages = [
        str(entry.get("exception_message"))
        for entry in entries
        if isinstance(entry, dict) and entry.get("raised_exception")
    ]
    return "; ".join(dict.fromkeys(messages))


def json_safe(value: Any) -> Any:
    """`value` with numpy/pandas scalars made plain: NaN/NaT/NA -> None, inf -> "inf"."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [json_safe(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if hasattr(value, "tolist"):  # numpy scalars and arrays
        return json_safe(value.tolist())
    if isinstance(value, float | Decimal):
        number = float(value)
        if math.isnan(number):
            return None
        return number if math.isfinite(number) else ("inf" if number > 0 else "-inf")
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return None if _is_missing(value) else value.isoformat()
    return None if _is_missing(value) else str(value)


def _is_missing(value: Any) -> bool:
    """pandas' NaT and NA (which print as such and fail comparisons)."""
    return type(value).__name__ in {"NaTType", "NAType"}


def suite_results(suite: Suite, datasets: list[tuple[str, LoadedData]]) -> list[GateResult]:
    """The data gate: `suite` validated on each named data set."""
    results = []
    for name, data in datasets:
        with stopwatch() as t:
            result = validate_frame(suite, data.frame, f"{name} ({data.label})")
        results.append(result.timed(t[0]))
    return results
