"""The pure change planner on literal specs: what changes, per environment, with rollout
steps, rollback targets and approvals."""

from __future__ import annotations

import pytest

from pipelines.core.specs import load_text
from pipelines.plan.planner import FieldChange, SpecSide, build_plan, diff_fields
from validators.spec.durations import format_duration

SPEC = """
apiVersion: shipyard/v1
kind: ModelDeployment
metadata: {{name: {name}, owners: ["@team"]}}
model: {{uri: "models:/{name}/{version}"}}
service: {{workers: {workers}}}
environments:
  - name: staging
    target: local
  - name: production
    target: local
    approvals:
      - {{required: 1, from: ["@risk-ml", "@compliance"]}}
    rollout:
      steps: [{{weight: 10}}, {{pause: 30s}}, {{weight: 100}}]
"""


def side(name: str = "fraud", version: int = 3, workers: int = 1) -> SpecSide:
    report = load_text(SPEC.format(name=name, version=version, workers=workers), f"{name}.yaml")
    assert report.spec is not None, report.findings
    return SpecSide(f"specs/{name}.yaml", report.spec)


RUNNING = {("fraud", "staging"): "models:/fraud/3", ("fraud", "production"): "models:/fraud/3"}


def test_a_new_model_version_updates_every_environment_with_its_canary() -> None:
    plan = build_plan({"fraud": side()}, {"fraud": side(version=4)}, RUNNING)

    (spec,) = plan.specs
    assert spec.change == "changed"
    assert spec.changes == (FieldChange("model.uri", "models:/fraud/3", "models:/fraud/4"),)
    staging, production = spec.envs
    assert (staging.action, staging.strategy, staging.steps) == ("update", "direct", ("100%",))
    assert staging.approvals == ()
    assert (production.action, production.strategy) == ("update", "canary")
    assert production.steps == ("10%", "pause 30s", "100%")
    assert production.rollback_to == "models:/fraud/3"
    assert production.approvals == ("1 of @risk-ml, @compliance",)
    assert spec.approvers == ("@risk-ml", "@compliance")


def test_a_first_release_deploys_directly_with_nothing_to_roll_back_to() -> None:
    plan = build_plan({}, {"fraud": side()}, {})

    (spec,) = plan.specs
    assert spec.change == "added"
    assert [(e.action, e.strategy, e.rollback_to) for e in spec.envs] == [
        ("deploy", "direct", None),
        ("deploy", "direct", None),
    ]


def test_a_removed_spec_removes_its_environments() -> None:
    plan = build_plan({"fraud": side()}, {}, RUNNING)

    (spec,) = plan.specs
    assert spec.change == "removed"
    assert [(e.name, e.action, e.model) for e in spec.envs] == [
        ("staging", "remove", None),
        ("production", "remove", None),
    ]


def test_an_identical_spec_changes_nothing() -> None:
    plan = build_plan({"fraud": side()}, {"fraud": side()}, RUNNING)

    assert plan.specs[0].change == "unchanged"
    assert [e.action for e in plan.specs[0].envs] == ["none", "none"]
    assert plan.changed == ()
    assert plan.specs[0].approvers == ()


def test_a_service_change_redeploys_the_same_model() -> None:
    plan = build_plan({"fraud": side()}, {"fraud": side(workers=2)}, RUNNING)

    (spec,) = plan.specs
    assert spec.changes == (FieldChange("service.workers", 1, 2),)
    assert [e.action for e in spec.envs] == ["update", "update"]


def test_what_runs_now_decides_the_rollback_target_not_the_old_spec() -> None:
    running = {**RUNNING, ("fraud", "production"): "models:/fraud/2"}
    plan = build_plan({"fraud": side()}, {"fraud": side(version=4)}, running)

    assert plan.specs[0].envs[1].rollback_to == "models:/fraud/2"


def test_named_lists_are_compared_item_by_item() -> None:
    before = {"environments": [{"name": "staging", "replicas": 1}, {"name": "prod"}]}
    after = {"environments": [{"name": "staging", "replicas": 2}, {"name": "prod"}]}

    assert diff_fields(before, after) == [FieldChange("environments[staging].replicas", 1, 2)]


def test_added_and_removed_keys_show_as_not_set() -> None:
    assert diff_fields({"a": 1}, {"b": 2}) == [
        FieldChange("a", 1, "(not set)"),
        FieldChange("b", "(not set)", 2),
    ]


@pytest.mark.parametrize(
    ("seconds", "text"), [(30, "30s"), (90, "1m30s"), (3600, "1h"), (0.5, "500ms")]
)
def test_durations_format_back_to_their_shortest_spelling(seconds: float, text: str) -> None:
    assert format_duration(seconds) == text
