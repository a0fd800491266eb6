"""What a load test reports, whoever ran it."""

from __future__ import annotations

import math

import pytest

from stacks.reach.client import LoadReport, nearest_rank


def report(statuses: dict[str, int], errors: int = 0) -> LoadReport:
    return LoadReport(sum(statuses.values()) + errors, 10.0, 1.0, 2.0, 3.0, statuses, errors)


def test_the_error_rate_counts_non_2xx_answers_and_lost_requests() -> None:
    assert report({"200": 90, "503": 10}).error_rate == pytest.approx(0.1)
    assert report({"200": 95}, errors=5).error_rate == pytest.approx(0.05)
    assert report({"201": 4, "204": 6}).error_rate == 0.0


def test_nothing_answered_is_all_errors() -> None:
    assert report({}).error_rate == 1.0


def test_nearest_rank_quantiles() -> None:
    ordered = [float(i) for i in range(1, 101)]
    assert nearest_rank(ordered, 0.5) == 50.0
    assert nearest_rank(ordered, 0.95) == 95.0
    assert nearest_rank(ordered, 1.0) == 100.0
    assert nearest_rank([7.0], 0.99) == 7.0
    assert math.isnan(nearest_rank([], 0.5))
