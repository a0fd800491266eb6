"""`plan_specs` validates every spec before any gate runs: no spec is a usage error, an
invalid one stops the plan with every finding; a plan passes when every run passes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pipelines.core.errors import EXIT_FAILED, UsageError
from pipelines.plan.offline import PlanResult, plan_specs
from tests.fakes.projects import BAD_SPEC, local_spec, project
from tests.fakes.reports import load_run
from validators.spec.findings import SpecError


def test_no_spec_file_is_a_usage_error(tmp_path: Path) -> None:
    ws = project(tmp_path, {})
    with pytest.raises(UsageError, match=r"^no spec files under specs$"):
        plan_specs([], ws)
    (tmp_path / "empty").mkdir()
    with pytest.raises(
        UsageError, match=f"^no spec files under {re.escape(str(tmp_path / 'empty'))}$"
    ):
        plan_specs([tmp_path / "empty"], ws)


def test_an_invalid_spec_stops_the_plan_with_every_finding(tmp_path: Path) -> None:
    ws = project(tmp_path, {"good.yaml": local_spec("good"), "bad.yaml": BAD_SPEC})
    with pytest.raises(SpecError, match=r"^2 problem\(s\) in spec: ") as caught:
        plan_specs([], ws)
    assert [f.path for f in caught.value.findings] == ["metadata.name", "environments[0].replcas"]
    assert not ws.cache.exists(), "no gate ran"


def test_a_plan_passes_only_when_every_run_passes() -> None:
    passing, failing = load_run("credit-risk-v1"), load_run("credit-risk-v2")
    assert PlanResult([passing]).exit_code == 0
    assert PlanResult([passing, failing]).exit_code == EXIT_FAILED
    assert PlanResult([]).exit_code == 0
