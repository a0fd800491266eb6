"""The exit code of an apply, from how each spec ended."""

from __future__ import annotations

import pytest

from pipelines.core.errors import EXIT_FAILED
from pipelines.core.outcomes import Outcome
from pipelines.release.outcome import ApplyResult, SpecOutcome


@pytest.mark.parametrize(
    ("outcomes", "code"),
    [
        ((Outcome.PROMOTED, Outcome.UNCHANGED), 0),
        ((Outcome.PROMOTED, Outcome.ROLLED_BACK), EXIT_FAILED),
        ((Outcome.BLOCKED,), EXIT_FAILED),
        ((), 0),
    ],
)
def test_only_promoted_or_unchanged_specs_exit_zero(
    outcomes: tuple[Outcome, ...], code: int
) -> None:
    result = ApplyResult([SpecOutcome(f"s{i}", o) for i, o in enumerate(outcomes)])
    assert result.exit_code == code


def test_outcomes_print_as_the_words_users_read() -> None:
    assert [str(o) for o in Outcome] == ["promoted", "unchanged", "rolled back", "blocked"]
    assert [o.ok for o in Outcome] == [True, True, False, False]
