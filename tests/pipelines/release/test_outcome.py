"""The exit code of an apply, from how each spec ended, and the JSON object of the same."""

from __future__ import annotations

import pytest

from pipelines.core.errors import EXIT_FAILED
from pipelines.core.outcomes import Outcome
from pipelines.release.outcome import ApplyResult, EnvOutcome, SpecOutcome, apply_json


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


def test_the_json_of_an_apply_says_how_each_spec_and_environment_ended() -> None:
    staging = EnvOutcome("staging", Outcome.PROMOTED, "models:/credit/4", seconds=12.5)
    production = EnvOutcome(
        "production",
        Outcome.ROLLED_BACK,
        "models:/credit/4",
        "analysis failed: error rate 0.09 > 0.01",
        40.0,
        restored="models:/credit/3",
    )
    result = ApplyResult(
        [
            SpecOutcome(
                "credit",
                Outcome.ROLLED_BACK,
                [staging, production],
                "production: analysis failed",
                {"gates": 3.0, "build": 8.0},
            ),
            SpecOutcome("fraud", Outcome.UNCHANGED),
        ]
    )
    assert apply_json(result) == {
        "specs": [
            {
                "spec": "credit",
                "outcome": "rolled back",
                "ok": False,
                "detail": "production: analysis failed",
                "stages": {"gates": 3.0, "build": 8.0},
                "envs": [
                    {
                        "env": "staging",
                        "outcome": "promoted",
                        "version": "models:/credit/4",
                        "detail": "",
                        "seconds": 12.5,
                        "restored": None,
                    },
                    {
                        "env": "production",
                        "outcome": "rolled back",
                        "version": "models:/credit/4",
                        "detail": "analysis failed: error rate 0.09 > 0.01",
                        "seconds": 40.0,
                        "restored": "models:/credit/3",
                    },
                ],
            },
            {
                "spec": "fraud",
                "outcome": "unchanged",
                "ok": True,
                "detail": "",
                "stages": {},
                "envs": [],
            },
        ],
        "ok": False,
        "exit_code": EXIT_FAILED,
    }
    assert apply_json(ApplyResult([])) == {"specs": [], "ok": True, "exit_code": 0}
