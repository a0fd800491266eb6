"""The specs a command acts on (apply, monitor): every one valid, else one error with every
problem of every file; no spec at all is a usage error naming where it looked."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.core.errors import UsageError
from pipelines.core.specs import load_valid
from validators.spec.findings import SpecError

REPO = Path(__file__).resolve().parents[3]
FAKE_ROOT = REPO / "tests" / "fixtures" / "spec" / "repo"
INVALID = REPO / "tests" / "fixtures" / "spec" / "invalid"


def test_every_valid_spec_comes_with_its_file() -> None:
    loaded = load_valid([], FAKE_ROOT)
    assert sorted((spec.metadata.name, file.name) for spec, file in loaded) == [
        ("credit-risk", "full.yaml"),
        ("minimal", "minimal.yaml"),
    ]


def test_one_invalid_spec_stops_them_all_with_every_problem(tmp_path: Path) -> None:
    shutil.copytree(FAKE_ROOT, tmp_path, dirs_exist_ok=True)
    shutil.copy(INVALID / "approvals-too-few.yaml", tmp_path / "specs" / "bad.yaml")
    shutil.copy(INVALID / "waiver-of-serving.yaml", tmp_path / "specs" / "bad2.yaml")
    with pytest.raises(SpecError, match=r"2 problem\(s\) in spec") as err:
        load_valid([], tmp_path)
    assert sorted(Path(f.file).name for f in err.value.findings) == ["bad.yaml", "bad2.yaml"]


def test_no_spec_is_a_usage_error_naming_where_it_looked(tmp_path: Path) -> None:
    (tmp_path / "specs").mkdir()
    with pytest.raises(UsageError, match=r"no spec files \(\*\.yaml, \*\.yml\) under .*specs"):
        load_valid([], tmp_path)
