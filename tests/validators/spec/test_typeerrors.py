"""pydantic's errors on literal specs turned into issues: the field path, the message built
from `messages`, and a hint where one helps."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError

from validators.spec import messages as msg
from validators.spec.fields import DNS_LABEL, PATTERN_MEANING
from validators.spec.findings import Issue, Path_
from validators.spec.model import Environment, Metadata, ModelDeployment
from validators.spec.typeerrors import describe, field_names, from_error, model_at

BASE: dict[str, Any] = {
    "apiVersion": "shipyard/v1",
    "kind": "ModelDeployment",
    "metadata": {"name": "m", "owners": ["@ml"]},
    "model": {"uri": "models:/m/1"},
    "environments": [{"name": "staging", "target": "local"}],
}


def issues(edit: dict[Path_, Any], scalars: dict[Path_, str] | None = None) -> list[Issue]:
    """The issues of BASE with each path set to its value (None as value: the key removed)."""
    data = copy.deepcopy(BASE)
    for path, value in edit.items():
        node: Any = data
        for part in path[:-1]:
            node = node.setdefault(part, {}) if isinstance(part, str) else node[part]
        if value is None:
            del node[path[-1]]
        else:
            node[path[-1]] = value
    with pytest.raises(ValidationError, match="validation error") as caught:
        ModelDeployment.model_validate(data)
    return [from_error(ModelDeployment, e, scalars or {}) for e in caught.value.errors()]


def test_an_unknown_field_suggests_the_closest_known_one() -> None:
    assert issues({("metadata", "ownrs"): ["@ml"]}) == [
        Issue(
            ("metadata", "ownrs"),
            msg.UNKNOWN_FIELD.format(key="ownrs"),
            msg.DID_YOU_MEAN.format(suggestion="owners"),
            on_key=True,
        )
    ]


def test_an_unknown_field_far_from_any_lists_the_valid_ones() -> None:
    (issue,) = issues({("metadata", "zzzzzz"): 1})
    assert issue.hint == msg.VALID_FIELDS.format(fields="name, owners, description, labels")


def test_a_missing_field_is_reported_on_its_parent() -> None:
    assert issues({("model",): None}) == [
        Issue((), msg.MISSING_FIELD.format(key="model"), on_key=True)
    ]


def test_a_wrong_type_says_what_was_expected_and_found() -> None:
    (issue,) = issues({("environments", 0, "replicas"): "two"})
    assert issue.path == ("environments", 0, "replicas")
    assert issue.message == msg.WRONG_TYPE.format(expected="an integer", found='string "two"')


def test_a_number_where_a_patterned_string_goes_is_told_to_quote_it() -> None:
    (issue,) = issues({("metadata", "name"): 12}, {("metadata", "name"): "012"})
    meaning = PATTERN_MEANING[DNS_LABEL]
    assert issue.message == msg.WRONG_TYPE.format(expected=meaning, found="integer 012")
    assert issue.hint == msg.QUOTE_HINT.format(found="012", kind="an integer", text="012")


def test_a_bare_number_for_a_duration_is_told_its_unit() -> None:
    (issue,) = issues({("service",): {"timeout": 30}}, {("service", "timeout"): "30"})
    assert issue.path == ("service", "timeout")
    assert issue.hint == msg.UNIT_HINT.format(example="30s")


def test_a_choice_lists_the_choices_and_suggests_the_nearest() -> None:
    (issue,) = issues({("gates",): {"model": [{"metric": "roc_aux", "min": 0.8}]}})
    assert issue.path == ("gates", "model", 0, "metric")
    assert issue.message == msg.NOT_ONE_OF.format(
        choices="accuracy, precision, recall, f1, roc_auc, log_loss, rmse, mae, r2",
        found='string "roc_aux"',
    )
    assert issue.hint == msg.DID_YOU_MEAN.format(suggestion="roc_auc")
    (kind,) = issues({("kind",): "Deployment"})
    assert kind.message == msg.NOT_EXACTLY.format(
        choice="ModelDeployment", found='string "Deployment"'
    )


def test_bounds_and_lengths_name_the_limit() -> None:
    (low,) = issues({("environments", 0, "replicas"): 0})
    assert low.message == msg.BELOW_MIN.format(found=0, limit=1)
    (empty,) = issues({("environments",): []})
    assert empty.message == msg.TOO_SHORT.format(limit=1, count=0)
    (pattern,) = issues({("metadata", "name"): "Bad_Name"})
    assert pattern.message == msg.BAD_PATTERN.format(
        found='string "Bad_Name"', meaning=PATTERN_MEANING[DNS_LABEL]
    )


@pytest.mark.parametrize(
    ("value", "text", "shown"),
    [
        (None, None, "an empty value (null)"),
        (True, None, "boolean true"),
        (3, None, "integer 3"),
        (3, "0x3", "integer 0x3"),
        (2.5, None, "number 2.5"),
        (1e-7, "1e-7", "number 1e-7"),
        ("abc", None, 'string "abc"'),
        ("x" * 70, None, f'string "{"x" * 57}..."'),
        (dt.date(2024, 5, 1), None, "date 2024-05-01"),
        ([1], None, "a list"),
        ({"a": 1}, None, "a mapping"),
        (b"raw", None, "bytes"),
    ],
)
def test_values_read_as_a_person_reads_them(value: Any, text: str | None, shown: str) -> None:
    assert describe(value, text) == shown


def test_the_object_at_a_path_skips_list_indexes() -> None:
    assert model_at(ModelDeployment, ("environments", 0)) is Environment
    assert model_at(ModelDeployment, ("metadata",)) is Metadata
    assert model_at(ModelDeployment, ("nowhere", "deeper")) is None
    assert model_at(ModelDeployment, ("metadata", "name")) is None  # a string, not an object
    assert field_names(Metadata) == ["name", "owners", "description", "labels"]
    assert "apiVersion" in field_names(ModelDeployment)  # aliases, as written in YAML
