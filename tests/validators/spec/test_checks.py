"""Unit tests on literals: the cross-field rules (`checks.check_spec`), the duration and
quantity parser, defaults (`resolved.with_defaults`) and field descriptions.

Specs are built from Python dicts with `ModelDeployment.model_validate` (no YAML); every rule
is asserted as the exact list of issues, messages built from `validators.spec.messages`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from validators.spec import messages as msg
from validators.spec import model as m
from validators.spec.checks import check_spec
from validators.spec.durations import parse_duration, parse_quantity
from validators.spec.findings import Issue
from validators.spec.resolved import DEFAULTS, ResolvedRollout, ResolvedStep, with_defaults

DELETE = object()
PROD = ("environments", 1)
ROLLOUT = (*PROD, "rollout")
STEPS = (*ROLLOUT, "steps")
EXPECTATIONS = "validators/suites/credit.yaml"
EVALUATION = "data/credit/holdout.csv"

BASE: dict[str, Any] = {
    "apiVersion": "shipyard/v1",
    "kind": "ModelDeployment",
    "metadata": {"name": "credit-risk", "owners": ["@risk-ml"]},
    "model": {"uri": "models:/credit-risk/3"},
    "data": {
        "evaluation": {"path": EVALUATION},
        "reference": {"path": "data/credit/train.csv", "rev": "v1.2.0"},
        "label": "default",
        "sensitive_features": ["sex"],
        "expectations": EXPECTATIONS,
    },
    "service": {"timeout": "30s"},
    "gates": {
        "model": [{"metric": "roc_auc", "min": 0.8}, {"metric": "log_loss", "max": 0.5}],
        "fairness": [
            {"metric": "demographic_parity_difference", "feature": "sex", "max": 0.1},
            {"metric": "equalized_odds_ratio", "feature": "sex", "min": 0.8},
        ],
        "drift": {"method": "psi", "max": 0.2},
        "serving": {"load": {"rps": 10, "duration": "20s"}},
    },
    "environments": [
        {"name": "staging", "target": "local", "local": {"port": 18080}},
        {
            "name": "production",
            "target": "kubernetes",
            "approvals": [{"required": 1, "from": ["@risk-ml", "@compliance"]}],
            "rollout": {
                "strategy": "canary",
                "steps": [
                    {"weight": 10},
                    {"pause": "30s"},
                    {"weight": 50},
                    {"analysis": {"duration": "1m"}},
                    {"weight": 100},
                ],
                "analysis": {"interval": "5s"},
            },
        },
    ],
    "monitoring": {"window": "1h", "drift": {"max": 0.25}},
}
MINIMAL: dict[str, Any] = {
    "apiVersion": "shipyard/v1",
    "kind": "ModelDeployment",
    "metadata": {"name": "minimal", "owners": ["@ml"]},
    "model": {"uri": "models:/minimal@champion"},
    "environments": [{"name": "staging", "target": "local"}],
}


def spec(
    *changes: tuple[tuple[str | int, ...], object], base: dict[str, Any] = BASE
) -> m.ModelDeployment:
    """`base` with each (path, value) set, or deleted when the value is DELETE."""
    data = copy.deepcopy(base)
    for path, value in changes:
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        if value is DELETE:
            del parent[path[-1]]
        else:
            parent[path[-1]] = value
    return m.ModelDeployment.model_validate(data)


def everything(_rel: str) -> bool:
    return True


# --- the valid spec ------------------------------------------------------------------------------


@pytest.mark.parametrize("exists", [None, everything], ids=["no-file-checks", "files-present"])
def test_valid_spec_has_no_issues(exists: Callable[[str], bool] | None) -> None:
    assert check_spec(spec(), exists) == []


def test_minimal_spec_has_no_issues() -> None:
    assert check_spec(spec(base=MINIMAL), everything) == []


# --- environments --------------------------------------------------------------------------------


def test_duplicate_environment_name() -> None:
    found = check_spec(spec(((*PROD, "name"), "staging")))
    text = msg.DUPLICATE_ENVIRONMENT.format(name="staging", first=0)
    assert found == [Issue((*PROD, "name"), text)]


def test_settings_block_of_another_target() -> None:
    found = check_spec(spec((("environments", 0, "aws"), {"region": "eu-west-1"})))
    assert found == [
        Issue(
            ("environments", 0, "aws"),
            msg.WRONG_SETTINGS_BLOCK.format(block="aws", target="local"),
            msg.WRONG_SETTINGS_HINT.format(target="local"),
            on_key=True,
        )
    ]


def test_too_few_approvers() -> None:
    found = check_spec(spec(((*PROD, "approvals", 0, "required"), 3)))
    assert found == [
        Issue(
            (*PROD, "approvals", 0, "required"),
            msg.TOO_FEW_APPROVERS.format(required=3, count=2),
            msg.TOO_FEW_APPROVERS_HINT,
        )
    ]


def test_duplicate_approver_ignores_case() -> None:
    found = check_spec(spec(((*PROD, "approvals", 0, "from"), ["@risk-ml", "@Risk-ML"])))
    text = msg.DUPLICATE_APPROVER.format(who="@Risk-ML")
    assert found == [Issue((*PROD, "approvals", 0, "from", 1), text)]


# --- rollout -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("step", "found"),
    [
        ({"weight": 20, "pause": "30s"}, "`weight` and `pause`"),
        ({"pause": "30s", "analysis": {"duration": "1m"}}, "`pause` and `analysis`"),
        ({}, "none of them"),
    ],
    ids=["weight-and-pause", "pause-and-analysis", "none"],
)
def test_step_takes_exactly_one_of(step: dict[str, object], found: str) -> None:
    issues = check_spec(spec(((*STEPS, 1), step)))
    assert issues == [Issue((*STEPS, 1), msg.STEP_ONE_OF.format(found=found))]


@pytest.mark.parametrize(
    ("weights", "at", "previous"),
    [([50, 50, 100], 1, 50), ([60, 30, 100], 1, 60), ([10, 100, 100], 2, 100)],
    ids=["equal", "lower", "repeated-100"],
)
def test_weights_not_increasing(weights: list[int], at: int, previous: int) -> None:
    steps = [{"weight": w} for w in weights]
    issues = check_spec(spec((STEPS, steps)))
    text = msg.WEIGHTS_NOT_INCREASING.format(weight=weights[at], previous=previous)
    assert issues == [Issue((*STEPS, at, "weight"), text)]


def test_weights_not_ending_at_100() -> None:
    steps = [{"weight": 10}, {"weight": 50}, {"pause": "1m"}]
    issues = check_spec(spec((STEPS, steps)))
    assert issues == [
        Issue(
            (*STEPS, 1, "weight"),
            msg.WEIGHTS_NOT_ENDING_AT_100.format(weight=50),
            msg.WEIGHTS_NOT_ENDING_HINT,
        )
    ]


def test_an_aws_canary_too_short_for_cloudwatch() -> None:
    """The base canary pauses 30 s + 1 m: on aws it could never be judged."""
    aws = ((*PROD, "target"), "aws")
    issues = check_spec(spec(aws))
    assert issues == [
        Issue(STEPS, msg.AWS_CANARY_TOO_SHORT.format(analysed="90s"),
              msg.AWS_CANARY_TOO_SHORT_HINT, True)
    ]  # fmt: skip
    assert check_spec(spec(aws, ((*STEPS, 1, "pause"), "4m"))) == []
    assert check_spec(spec(aws, ((*ROLLOUT, "strategy"), "direct"), (STEPS, DELETE))) == []
    assert check_spec(spec(((*STEPS, 1, "pause"), "1s"))) == []  # kubernetes reads Prometheus


@pytest.mark.parametrize("steps", [DELETE, []], ids=["no-steps", "empty-steps"])
def test_canary_without_steps(steps: object) -> None:
    issues = check_spec(spec((STEPS, steps)))
    assert issues == [Issue(ROLLOUT, msg.CANARY_WITHOUT_STEPS)]


def test_direct_with_steps() -> None:
    issues = check_spec(spec(((*ROLLOUT, "strategy"), "direct")))
    assert issues == [Issue(STEPS, msg.DIRECT_WITH_STEPS, msg.DIRECT_WITH_STEPS_HINT, on_key=True)]


def test_direct_without_steps_and_no_strategy_are_fine() -> None:
    direct = spec((ROLLOUT, {"strategy": "direct"}))
    implicit = spec(((*ROLLOUT, "strategy"), DELETE))
    assert (check_spec(direct), check_spec(implicit)) == ([], [])


@pytest.mark.parametrize(
    "path",
    [
        ("service", "timeout"),
        ("gates", "serving", "load", "duration"),
        ("monitoring", "window"),
        (*ROLLOUT, "analysis", "interval"),
        (*STEPS, 1, "pause"),
        (*STEPS, 3, "analysis", "duration"),
    ],
    ids=lambda p: ".".join(map(str, p)),
)
@pytest.mark.parametrize("zero", ["0s", "0ms", "0.0h", "0m0s"])
def test_zero_duration(path: tuple[str | int, ...], zero: str) -> None:
    assert check_spec(spec((path, zero))) == [Issue(path, msg.ZERO_DURATION)]


# --- gates ---------------------------------------------------------------------------------------


def test_metric_gate_without_threshold() -> None:
    issues = check_spec(spec((("gates", "model", 0), {"metric": "roc_auc"})))
    text = msg.NO_THRESHOLD.format(fields="`min`, `max`, `max_regression`")
    assert issues == [Issue(("gates", "model", 0), text)]


def test_max_regression_alone_is_a_threshold() -> None:
    gate = {"metric": "accuracy", "max_regression": 0.01}
    assert check_spec(spec((("gates", "model", 0), gate))) == []


def test_min_above_max() -> None:
    gate = {"metric": "accuracy", "min": 0.9, "max": 0.8}
    issues = check_spec(spec((("gates", "model", 0), gate)))
    text = msg.MIN_ABOVE_MAX.format(min=0.9, max=0.8)
    assert issues == [Issue(("gates", "model", 0, "min"), text)]


def test_min_on_a_lower_is_better_metric() -> None:
    issues = check_spec(spec((("gates", "model", 1), {"metric": "log_loss", "min": 0.1})))
    text = msg.NOT_WITH_METRIC.format(field="min", metric="log_loss", instead="max")
    assert issues == [Issue(("gates", "model", 1, "min"), text, on_key=True)]


@pytest.mark.parametrize(
    ("metric", "field", "value", "low", "high"),
    [
        ("roc_auc", "min", 1.5, 0.0, 1.0),
        ("roc_auc", "max", -0.1, 0.0, 1.0),
        ("accuracy", "max", 1.01, 0.0, 1.0),
        ("rmse", "max", -0.5, 0.0, float("inf")),
        ("r2", "max", 2.0, float("-inf"), 1.0),
    ],
)
def test_threshold_out_of_range(
    metric: str, field: str, value: float, low: float, high: float
) -> None:
    issues = check_spec(spec((("gates", "model", 0), {"metric": metric, field: value})))
    text = msg.OUT_OF_RANGE.format(
        value=f"{value:g}", low=f"{low:g}", high=f"{high:g}", metric=metric
    )
    assert issues == [Issue(("gates", "model", 0, field), text)]


def test_r2_may_be_negative() -> None:
    assert check_spec(spec((("gates", "model", 0), {"metric": "r2", "min": -3.0}))) == []


@pytest.mark.parametrize(
    ("metric", "given", "wanted"),
    [
        ("demographic_parity_difference", "min", "max"),
        ("equalized_odds_difference", "min", "max"),
        ("demographic_parity_ratio", "max", "min"),
        ("equalized_odds_ratio", "max", "min"),
    ],
)
def test_fairness_threshold_of_the_wrong_kind(metric: str, given: str, wanted: str) -> None:
    here = ("gates", "fairness", 0)
    issues = check_spec(spec((here, {"metric": metric, "feature": "sex", given: 0.2})))
    assert issues == [
        Issue(here, msg.NEEDS_FIELD.format(metric=metric, field=wanted)),
        Issue(
            (*here, given),
            msg.NOT_WITH_METRIC.format(field=given, metric=metric, instead=wanted),
            on_key=True,
        ),
    ]


@pytest.mark.parametrize(
    ("sensitive", "known"),
    [(["sex"], "sex"), (["sex", "age_band"], "sex, age_band"), (DELETE, "none listed")],
    ids=["one", "two", "none"],
)
def test_unknown_sensitive_feature(sensitive: object, known: str) -> None:
    issues = check_spec(
        spec(
            (("gates", "fairness", 1, "feature"), "race"),
            (("data", "sensitive_features"), sensitive),
        )
    )
    # Without sensitive features, gate 0 (feature `sex`) names an unknown feature as well.
    unknown = [(0, "sex"), (1, "race")] if sensitive is DELETE else [(1, "race")]
    assert issues == [
        Issue(
            ("gates", "fairness", i, "feature"),
            msg.UNKNOWN_SENSITIVE_FEATURE.format(feature=feature, known=known),
            msg.UNKNOWN_SENSITIVE_FEATURE_HINT,
        )
        for i, feature in unknown
    ]


def test_gates_need_data() -> None:
    issues = check_spec(spec((("data",), DELETE)))
    assert issues == [
        Issue(("gates", gate), msg.GATES_NEED_DATA.format(gate=gate), on_key=True)
        for gate in ("model", "fairness", "drift")
    ]


def test_drift_without_reference_is_not_a_rule() -> None:
    """`data.reference` is optional for the drift gate and monitor: checks.py dropped the
    rule that required it (its message DRIFT_NEEDS_REFERENCE is gone too)."""
    assert not hasattr(msg, "DRIFT_NEEDS_REFERENCE")
    assert check_spec(spec((("data", "reference"), DELETE))) == []


def test_model_gates_need_label() -> None:
    issues = check_spec(spec((("data", "label"), DELETE)))
    assert issues == [Issue(("data",), msg.MODEL_GATES_NEED_LABEL, on_key=True)]


# --- files, through the `exists` window ----------------------------------------------------------


def test_missing_expectations_file() -> None:
    issues = check_spec(spec(), lambda rel: rel != EXPECTATIONS)
    assert issues == [
        Issue(
            ("data", "expectations"),
            msg.FILE_NOT_FOUND.format(path=EXPECTATIONS, root="the repository root"),
            msg.FILE_NOT_FOUND_HINT,
        )
    ]


def test_missing_data_file() -> None:
    asked: list[str] = []

    def exists(rel: str) -> bool:
        asked.append(rel)
        return not rel.startswith("data/")

    issues = check_spec(spec(), exists)
    assert issues == [
        Issue(
            ("data", "evaluation", "path"),
            msg.DATA_NOT_FOUND.format(path=EVALUATION),
            msg.DATA_NOT_FOUND_HINT.format(path=EVALUATION),
        )
    ]
    # The reference pins `rev:`, so it is not looked up in the workspace.
    assert asked == [EXPECTATIONS, EVALUATION, EVALUATION + ".dvc"]


def test_unpinned_reference_is_looked_up_too() -> None:
    reference = "data/credit/train.csv"
    issues = check_spec(spec((("data", "reference", "rev"), DELETE)), lambda _rel: False)
    assert issues == [
        Issue(
            ("data", "expectations"),
            msg.FILE_NOT_FOUND.format(path=EXPECTATIONS, root="the repository root"),
            msg.FILE_NOT_FOUND_HINT,
        ),
        *(
            Issue(
                ("data", name, "path"),
                msg.DATA_NOT_FOUND.format(path=path),
                msg.DATA_NOT_FOUND_HINT.format(path=path),
            )
            for name, path in [("evaluation", EVALUATION), ("reference", reference)]
        ),
    ]


def test_dvc_pointer_is_enough() -> None:
    present = {EXPECTATIONS, EVALUATION + ".dvc"}
    assert check_spec(spec(), present.__contains__) == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("data", "expectations"), "suites/../../credit.yaml"),
        (("data", "evaluation", "path"), "../outside/holdout.csv"),
        (("data", "reference", "path"), "data/../../train.csv"),
    ],
    ids=["expectations", "evaluation", "reference"],
)
def test_parent_path_leaves_the_repository(path: tuple[str, ...], value: str) -> None:
    asked: list[str] = []

    def exists(rel: str) -> bool:
        asked.append(rel)
        return True

    issues = check_spec(spec((path, value)), exists)
    assert issues == [Issue(path, msg.PARENT_PATH.format(path=value))]
    assert not [rel for rel in asked if ".." in rel]


def test_dots_inside_a_name_are_not_a_parent_path() -> None:
    value = "data/credit/holdout..csv"
    assert check_spec(spec((("data", "evaluation", "path"), value)), everything) == []


def test_no_file_checks_without_exists() -> None:
    odd = spec(
        (("data", "expectations"), "../suite.yaml"),
        (("data", "evaluation", "path"), "nowhere.csv"),
    )
    assert check_spec(odd) == []


# --- durations and quantities --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("500ms", 0.5),
        ("30s", 30.0),
        ("5m", 300.0),
        ("2h", 7200.0),
        ("1h30m", 5400.0),
        ("1.5s", 1.5),
        ("0s", 0.0),
        ("1h1m1s1ms", 3661.001),
        ("90s", 90.0),
    ],
)
def test_parse_duration(text: str, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "text",
    ["", "30", "s", "1d", "30 s", "1h 30m", "-1s", "1.s", ".5s", "30s\n", " 30s", "1e3s", "30S"],
)
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a duration: .* \(expected e\.g\. 500ms"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("500m", 0.5),
        ("2", 2.0),
        ("1.5", 1.5),
        ("1k", 1e3),
        ("3M", 3e6),
        ("1.5G", 1.5e9),
        ("4Ki", 4096.0),
        ("512Mi", 512 * 1024.0**2),
        ("1Gi", 1024.0**3),
    ],
)
def test_parse_quantity(text: str, value: float) -> None:
    assert parse_quantity(text) == pytest.approx(value)


@pytest.mark.parametrize("text", ["", "Mi", "1Ti", "-1", "1 Mi", "1e3", "1.5.2", "1mi", " 1"])
def test_parse_quantity_rejects(text: str) -> None:
    with pytest.raises(ValueError, match=r"^not a quantity: .* \(expected e\.g\. 500m"):
        parse_quantity(text)


def test_parse_quantity_rejects_a_trailing_newline() -> None:
    """As parse_duration does, and as the spec's QUANTITY pattern does."""
    with pytest.raises(ValueError, match=r"^not a quantity: '1Mi\\n'"):
        parse_quantity("1Mi\n")


# --- defaults ------------------------------------------------------------------------------------


def test_defaults_fill_an_unset_spec() -> None:
    resolved = with_defaults(spec(base=MINIMAL))
    service = resolved.service
    assert resolved.name == "minimal"
    assert service.api == DEFAULTS[(m.Service, "api")]
    assert service.workers == DEFAULTS[(m.Service, "workers")]
    assert service.max_batch_size == DEFAULTS[(m.Batching, "max_batch_size")]
    assert service.max_latency_ms == DEFAULTS[(m.Batching, "max_latency_ms")]
    assert service.timeout_s == parse_duration(str(DEFAULTS[(m.Service, "timeout")]))
    size = DEFAULTS[(m.Service, "max_request_size")]
    assert service.max_request_bytes == int(parse_quantity(str(size)))
    assert (service.cpu, service.memory) == (None, None)
    (env,) = resolved.environments
    assert (env.name, env.target, env.settings) == ("staging", "local", m.LocalSettings())
    assert env.replicas == DEFAULTS[(m.Environment, "replicas")]
    assert env.approvals == ()
    assert env.rollout.strategy == "direct"
    assert env.rollout.steps == ()
    analysis = env.rollout.analysis
    assert analysis.interval_s == parse_duration(str(DEFAULTS[(m.Analysis, "interval")]))
    assert analysis.failure_limit == DEFAULTS[(m.Analysis, "failure_limit")]
    assert analysis.min_requests == DEFAULTS[(m.Analysis, "min_requests")]


def test_defaults_match_literal_values() -> None:
    resolved = with_defaults(spec(base=MINIMAL))
    assert (resolved.service.timeout_s, resolved.service.max_request_bytes) == (30.0, 10 * 2**20)
    assert resolved.environments[0].rollout.analysis.interval_s == 10.0


def test_values_given_win_over_defaults() -> None:
    resolved = with_defaults(
        spec(
            (
                ("service",),
                {
                    "api": "score",
                    "workers": 4,
                    "timeout": "2m",
                    "max_request_size": "1Gi",
                    "batching": {"max_batch_size": 8},
                    "resources": {"cpu": "500m", "memory": "1Gi"},
                },
            ),
            ((*PROD, "replicas"), 3),
        )
    )
    service = resolved.service
    assert (service.api, service.workers, service.max_batch_size) == ("score", 4, 8)
    assert service.max_latency_ms == DEFAULTS[(m.Batching, "max_latency_ms")]
    assert (service.timeout_s, service.max_request_bytes) == (120.0, 2**30)
    assert (service.cpu, service.memory) == ("500m", "1Gi")
    assert resolved.environments[1].replicas == 3
    assert resolved.environments[1].settings == m.KubernetesSettings()
    assert resolved.environments[0].settings == m.LocalSettings(port=18080)


def test_rollout_durations_in_seconds() -> None:
    steps = [
        {"weight": 10},
        {"pause": "1m30s"},
        {"analysis": {"duration": "500ms"}},
        {"weight": 100},
    ]
    rollout = with_defaults(spec((STEPS, steps))).environments[1].rollout
    assert rollout == ResolvedRollout(
        strategy="canary",
        steps=(
            ResolvedStep(weight=10),
            ResolvedStep(pause_s=90.0),
            ResolvedStep(analysis_s=0.5),
            ResolvedStep(weight=100),
        ),
        analysis=rollout.analysis,
    )
    assert rollout.analysis.interval_s == 5.0


@pytest.mark.parametrize(
    ("rollout", "strategy"),
    [
        ({"steps": [{"weight": 100}]}, "canary"),
        ({"analysis": {"interval": "5s"}}, "direct"),
        ({}, "direct"),
        (DELETE, "direct"),
        ({"strategy": "direct"}, "direct"),
    ],
    ids=["steps", "analysis-only", "empty", "no-rollout", "explicit-direct"],
)
def test_strategy_default(rollout: object, strategy: str) -> None:
    resolved = with_defaults(spec((ROLLOUT, rollout)))
    assert resolved.environments[1].rollout.strategy == strategy


def test_defaults_name_real_fields() -> None:
    unknown = [(owner.__name__, name) for owner, name in DEFAULTS if name not in owner.model_fields]
    assert unknown == []


# --- descriptions --------------------------------------------------------------------------------

SPEC_OBJECTS = sorted(
    (
        obj
        for obj in vars(m).values()
        if isinstance(obj, type) and issubclass(obj, m.SpecObject) and obj is not m.SpecObject
    ),
    key=lambda obj: obj.__name__,
)


def _subclasses(cls: type[m.SpecObject]) -> set[type[m.SpecObject]]:
    direct = set(cls.__subclasses__())
    return direct.union(*(_subclasses(sub) for sub in direct))


def test_spec_objects_are_found() -> None:
    assert {c for c in _subclasses(m.SpecObject) if c.__module__ == m.__name__} == set(SPEC_OBJECTS)
    assert len(SPEC_OBJECTS) >= 25


@pytest.mark.parametrize("owner", SPEC_OBJECTS, ids=lambda obj: obj.__name__)
def test_every_field_has_a_description(owner: type[m.SpecObject]) -> None:
    undescribed = [
        name
        for name, info in owner.model_fields.items()
        if not (info.description and info.description.strip())
    ]
    assert owner.model_fields
    assert undescribed == []
