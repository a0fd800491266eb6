"""`shipyard schema` prints the committed JSON Schema, byte for byte, and takes no argument."""

from __future__ import annotations

import json

import pytest

from pipelines.cli import schema
from tests.fakes.cli import parse, shipyard
from validators.spec.schema import committed


def test_it_prints_the_committed_schema(capsys: pytest.CaptureFixture[str]) -> None:
    ran = shipyard(capsys, "schema")
    assert ran.code == 0
    assert ran.out == committed()
    assert json.loads(ran.out)["title"]


def test_it_takes_no_argument() -> None:
    assert vars(parse(schema)) == {}
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(schema, "extra")
