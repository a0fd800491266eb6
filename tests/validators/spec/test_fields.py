"""The spec's constrained scalars: each pattern accepts and refuses what its description says,
and every pattern has a description (a pattern is never shown to a user raw)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError

from validators.spec import fields
from validators.spec.fields import (
    PATTERN_MEANING,
    DnsLabel,
    Duration,
    Fraction,
    ModelUri,
    Owner,
    Positive,
    Quantity,
)

CASES = [
    (fields.DNS_LABEL, ["credit-risk", "a", "x1", "a" * 63], ["Credit", "-a", "a-", "a_b", ""]),
    (fields.OWNER, ["@ml", "@acme/risk-team", "@a_b"], ["ml", "@", "@-x", "@org/"]),
    (
        fields.MODEL_URI,
        ["models:/credit-risk/3", "models:/credit-risk@champion", "models:/m.v2/10"],
        ["models:/m/0", "models:/m", "runs:/abc/model", "models:/m@1x", "models:/m/03"],
    ),
    (fields.DURATION, ["500ms", "30s", "5m", "1h30m", "1.5h"], ["30", "5 m", "1d", "m", "-1s"]),
    (fields.QUANTITY, ["500m", "2", "512Mi", "2Gi", "0.5"], ["2GB", "-1", "1e3", "Mi"]),
    (fields.IDENTIFIER, ["age", "_x", "col_2"], ["2col", "a-b", ""]),
    (fields.LABEL_KEY, ["team", "shipyard.dev/tier", "a.b-c_d"], ["/x", "a/", "-a"]),
    (fields.LABEL_VALUE, ["", "prod", "v1.2_x"], ["-x", "x-", "a b"]),
    (fields.RELATIVE_PATH, ["data/x.csv", "x"], ["/etc/passwd", ""]),
    (fields.TARGET_NAME, ["local", "aws", "my-target2"], ["Local", "1x", "a_b", "a" * 32]),
]


@pytest.mark.parametrize(("pattern", "good", "bad"), CASES, ids=lambda c: str(c)[:12])
def test_each_pattern_accepts_and_refuses(pattern: str, good: list[str], bad: list[str]) -> None:
    for value in good:
        assert re.match(pattern, value), f"{pattern} refused {value!r}"
    for value in bad:
        assert not re.match(pattern, value), f"{pattern} accepted {value!r}"


def test_every_pattern_has_a_meaning_and_every_meaning_a_pattern() -> None:
    patterns = {pattern for pattern, _, _ in CASES}
    assert set(PATTERN_MEANING) == patterns
    assert all(meaning and "^" not in meaning for meaning in PATTERN_MEANING.values())


@pytest.mark.parametrize(
    ("kind", "good", "bad", "error"),
    [
        (DnsLabel, "credit-risk", "a" * 64, "at most 63 characters"),
        (Owner, "@ml", "ml", "String should match pattern"),
        (ModelUri, "models:/m/1", "models:/m", "String should match pattern"),
        (Duration, "1m", "1 minute", "String should match pattern"),
        (Quantity, "2Gi", "2 GB", "String should match pattern"),
        (Fraction, 0.5, 1.5, "less than or equal to 1"),
        (Positive, 0.1, 0, "greater than 0"),
    ],
)
def test_the_typed_fields_enforce_their_constraints(
    kind: Any, good: object, bad: object, error: str
) -> None:
    adapter: TypeAdapter[object] = TypeAdapter(kind)
    assert adapter.validate_python(good) == good
    with pytest.raises(ValidationError, match=error):
        adapter.validate_python(bad)


def test_the_metric_families_are_consistent() -> None:
    assert fields.BOUNDED_METRICS.isdisjoint(fields.LOWER_IS_BETTER)
    assert fields.BUILTIN_TARGETS == ("local", "kubernetes", "aws")
    assert all(re.match(fields.TARGET_NAME, t) for t in fields.BUILTIN_TARGETS)
