"""`run_demo` refuses to start outside a Shipyard checkout, before touching anything."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.core.errors import UsageError
from pipelines.core.workspace import Workspace
from pipelines.demo import DEMO_SPEC, REVIEWER, run_demo


def test_without_the_demo_spec_it_says_where_to_run_it(tmp_path: Path) -> None:
    said: list[str] = []
    with pytest.raises(UsageError, match=r"^specs/credit-risk\.yaml is not in ") as caught:
        run_demo(Workspace.at(tmp_path), said.append)
    assert str(caught.value) == f"specs/credit-risk.yaml is not in {tmp_path.resolve()}"
    assert caught.value.hint == "run the demo from a Shipyard checkout (or pass -C with its path)"
    assert said == []
    assert list(tmp_path.iterdir()) == [], "nothing is set up"


def test_the_demo_releases_the_checkouts_spec_as_its_reviewer(repo: Path) -> None:
    assert (repo / DEMO_SPEC).is_file()
    assert REVIEWER in (repo / DEMO_SPEC).read_text(encoding="utf-8")
