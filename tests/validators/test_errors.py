"""The validators layer's error root: message, hint and exit code, shared by every area."""

from __future__ import annotations

import pytest

from validators.errors import ValidatorError
from validators.sources.datasets import DataError
from validators.sources.registry import RegistryError
from validators.spec.findings import SpecError


def test_an_error_carries_its_message_hint_and_exit_code() -> None:
    error = ValidatorError("data.evaluation: file not found", hint="run `dvc pull`")
    assert str(error) == "data.evaluation: file not found"
    assert (error.message, error.hint, error.exit_code) == (
        "data.evaluation: file not found",
        "run `dvc pull`",
        1,
    )
    assert ValidatorError("no hint").hint == ""


@pytest.mark.parametrize("kind", [DataError, RegistryError])
def test_bad_input_errors_are_caught_at_the_root_and_exit_2(kind: type[ValidatorError]) -> None:
    with pytest.raises(ValidatorError, match=r"^models:/m/9 does not exist$") as caught:
        raise kind("models:/m/9 does not exist", hint="list the versions")
    assert type(caught.value) is kind
    assert caught.value.exit_code == 2
    assert caught.value.hint == "list the versions"


def test_a_spec_error_counts_its_findings() -> None:
    error = SpecError([])
    assert isinstance(error, ValidatorError)
    assert (error.message, error.exit_code, error.findings) == ("0 problem(s) in spec: ", 2, [])
