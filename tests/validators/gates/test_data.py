"""The data gate with the real Great Expectations: suites in tests/fixtures/suites."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from validators.gates.data import json_safe, run_suite
from validators.gates.result import GateResult
from validators.sources.expectations import SuiteError, load_suite

SUITES = Path(__file__).resolve().parents[2] / "fixtures" / "suites"
CREDIT = SUITES / "credit.yaml"
ROWS = 2000


@pytest.fixture
def frame() -> pd.DataFrame:
    """A seeded credit-like table every expectation of credit.yaml holds on."""
    rng = np.random.default_rng(7)
    return pd.DataFrame(
        {
            "age": rng.integers(18, 90, ROWS),
            "income": rng.lognormal(10, 0.5, ROWS),
            "sex": rng.choice(["F", "M"], ROWS),
            "default": rng.integers(0, 2, ROWS),
        }
    )


def by_label(result: GateResult) -> dict[str, dict[str, Any]]:
    records: list[dict[str, Any]] = result.evidence["results"]
    return {f"{r['type']}({r['kwargs'].get('column', '')})": r for r in records}


def test_passing_suite(frame: pd.DataFrame) -> None:
    result = run_suite(CREDIT, frame, "evaluation")

    assert result.passed
    assert (result.gate, result.name) == ("data", "evaluation: credit")
    assert (result.measured, result.threshold, result.comparison) == (1.0, 1.0, ">=")
    assert result.note == "all 9 expectations passed"
    assert result.evidence["dataset"] == "evaluation"
    assert result.evidence["rows"] == ROWS
    records = result.evidence["results"]
    assert [r["success"] for r in records] == [True] * 9
    assert records[0] == {
        "type": "expect_table_row_count_to_be_between",
        "kwargs": {"min_value": 1000},
        "severity": "critical",
        "success": True,
        "observed_value": ROWS,
    }
    assert records[-1]["severity"] == "warning"
    assert "meta" not in records[-1]["kwargs"]
    assert result.duration_s > 0


def test_failing_suite_names_each_failure_and_its_counts(frame: pd.DataFrame) -> None:
    frame.loc[[1, 5, 9, 13, 17, 21, 25], "income"] = np.nan
    frame.loc[[2, 4, 6], "age"] = 150
    frame.loc[[8, 10], "age"] = 5
    frame.loc[[3, 7], "sex"] = "X"

    result = run_suite(CREDIT, frame, "evaluation")

    assert not result.passed
    assert result.measured == pytest.approx(6 / 9)
    assert result.note == (
        "3 of 9 failed: expect_column_values_to_not_be_null(income), "
        "expect_column_values_to_be_between(age), expect_column_values_to_be_in_set(sex)"
    )
    records = by_label(result)
    failed = sorted(label for label, r in records.items() if not r["success"])
    assert failed == [
        "expect_column_values_to_be_between(age)",
        "expect_column_values_to_be_in_set(sex)",
        "expect_column_values_to_not_be_null(income)",
    ]
    nulls = records["expect_column_values_to_not_be_null(income)"]
    assert nulls["unexpected_count"] == 7
    assert nulls["partial_unexpected_list"] == [None] * 7
    ages = records["expect_column_values_to_be_between(age)"]
    assert ages["unexpected_count"] == 5
    assert ages["unexpected_percent"] == pytest.approx(100 * 5 / ROWS)
    assert sorted(ages["partial_unexpected_list"]) == [5, 5, 150, 150, 150]
    sexes = records["expect_column_values_to_be_in_set(sex)"]
    assert (sexes["unexpected_count"], sexes["partial_unexpected_list"]) == (2, ["X", "X"])
    # NaN incomes are outside a map expectation's domain: `mostly` is not affected.
    assert records["expect_column_values_to_be_between(income)"]["unexpected_count"] == 0


def test_partial_unexpected_list_is_truncated(frame: pd.DataFrame) -> None:
    frame.loc[:99, "sex"] = "X"
    records = by_label(run_suite(CREDIT, frame, "evaluation"))
    sexes = records["expect_column_values_to_be_in_set(sex)"]
    assert sexes["unexpected_count"] == 100
    assert sexes["partial_unexpected_list"] == ["X"] * 10


def test_missing_column_fails_that_expectation_only(frame: pd.DataFrame) -> None:
    result = run_suite(SUITES / "missing_column.yaml", frame, "reference")

    assert not result.passed
    assert result.measured == 0.5
    assert result.error == ""
    missing, present = result.evidence["results"]
    assert missing["success"] is False
    assert 'The column "salary" in BatchData does not exist' in missing["exception"]
    assert present == {
        "type": "expect_column_to_exist",
        "kwargs": {"column": "age"},
        "severity": "critical",
        "success": True,
    }
    assert result.note == "1 of 2 failed: expect_column_values_to_not_be_null(salary)"


def test_evidence_is_json(frame: pd.DataFrame) -> None:
    frame.loc[[0, 1], "income"] = np.nan
    result = run_suite(CREDIT, frame, "evaluation")
    text = json.dumps(result.to_json(), allow_nan=False)
    assert GateResult.from_json(json.loads(text)).evidence == result.evidence


def test_gx_native_json_suite(frame: pd.DataFrame) -> None:
    result = run_suite(SUITES / "credit.json", frame, "evaluation")
    assert result.passed
    assert result.name == "evaluation: credit-native"
    assert [r["type"] for r in result.evidence["results"]] == [
        "expect_column_values_to_not_be_null",
        "expect_column_values_to_be_between",
        "expect_column_values_to_be_in_set",
    ]


def test_load_suite_keeps_arguments_as_written() -> None:
    suite = load_suite(CREDIT)
    assert (suite.name, len(suite.items)) == ("credit", 9)
    mostly = suite.items[6]
    assert mostly.type == "expect_column_values_to_be_between"
    assert mostly.args == {"column": "income", "min_value": 0, "mostly": 0.99}
    assert suite.items[4].kwargs["notes"].startswith("Self-declared")


def test_unknown_expectation_suggests_close_names() -> None:
    with pytest.raises(
        SuiteError, match=r"did you mean expect_column_values_to_not_be_null"
    ) as info:
        load_suite(SUITES / "unknown_expectation.yaml")
    error = info.value
    assert (error.path, error.index) == (SUITES / "unknown_expectation.yaml", 1)
    assert isinstance(error, ValueError)
    assert "expectations[1] (expect_column_values_to_not_be_nul)" in str(error)
    assert "\n" not in str(error)


def test_bad_kwargs_name_the_item_and_argument() -> None:
    with pytest.raises(
        SuiteError,
        match=r"bad_kwargs\.yaml: expectations\[2\] \(expect_column_values_to_be_between\): "
        r"invalid arguments: min_value: ",
    ) as info:
        load_suite(SUITES / "bad_kwargs.yaml")
    assert info.value.index == 2
    assert "\n" not in str(info.value)


SUITE_PROBLEMS = [
    ("name: s\nexpectations: [\n", r"invalid YAML at line 3, column 1: .*fix the syntax"),
    ("- a\n- b\n", r"a suite is a mapping with `name` and `expectations`"),
    ("name: s\nexpectations: []\n", r"`expectations` must be a non-empty list"),
    ("name: s\nexpect: []\n", r"unknown key\(s\) \['expect'\]"),
    (
        "expectations:\n  - {expect_column_to_exist: {column: a}, x: 1}\n",
        r"expectations\[0\]: each expectation is a one-key mapping",
    ),
    (
        "expectations:\n  - expect_column_to_exist: age\n",
        r"expectations\[0\] \(expect_column_to_exist\): arguments must be a mapping",
    ),
    (
        "expectations:\n  - expect_column_to_exist: {colum: age}\n",
        r"column: field required; colum: unknown argument \(did you mean column\?\); "
        r"fix them \(allowed: column, column_index, ",
    ),
    (
        "expectations:\n  - expect_column_to_exist: {column: age, id: x}\n",
        r"`id` is assigned by Great Expectations",
    ),
    (
        "expectations:\n  - expect_column_values_to_not_be_null: {column: a, mostly: 2}\n",
        r"mostly: ensure this value is less than or equal to 1",
    ),
]


@pytest.mark.parametrize(("text", "message"), SUITE_PROBLEMS)
def test_suite_problems_are_one_line(tmp_path: Path, text: str, message: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(text)
    with pytest.raises(SuiteError, match=message) as info:
        load_suite(path)
    assert str(info.value).startswith(f"{path}: ")
    assert "\n" not in str(info.value)


def test_missing_file_and_bad_json(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match=r"nope\.yaml: cannot read the suite \(No such file"):
        load_suite(tmp_path / "nope.yaml")
    broken = tmp_path / "suite.json"
    broken.write_text('{"expectations": [}')
    with pytest.raises(SuiteError, match=r"invalid JSON at line 1, column 19: Expecting value"):
        load_suite(broken)


def test_suite_name_defaults_to_file_stem(tmp_path: Path) -> None:
    path = tmp_path / "holdout.yml"
    path.write_text("expectations:\n  - expect_column_to_exist: {column: age}\n")
    assert load_suite(path).name == "holdout"


def test_json_safe_plain_values() -> None:
    values = {
        1: np.int64(3),
        "f": np.float32(0.5),
        "nan": float("nan"),
        "inf": np.inf,
        "b": np.bool_(True),
        "arr": np.array([1, 2]),
        "ts": pd.Timestamp("2024-01-02"),
        "nat": pd.NaT,
        "na": pd.NA,
        "t": (1, "x"),
    }
    assert json_safe(values) == {
        "1": 3,
        "f": 0.5,
        "nan": None,
        "inf": "inf",
        "b": True,
        "arr": [1, 2],
        "ts": "2024-01-02T00:00:00",
        "nat": None,
        "na": None,
        "t": [1, "x"],
    }


def test_modules_import_without_great_expectations_or_pandas() -> None:
    probe = (
        "import sys, validators.gates.data, validators.sources.expectations; "
        "print(sorted({m.split('.')[0] for m in sys.modules} & {'great_expectations', 'pandas'}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
