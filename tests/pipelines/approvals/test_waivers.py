"""Waivers of failed offline gates, decided on literal gate results, rules and approvals."""

from __future__ import annotations

from typing import Any

import pytest

from pipelines.approvals.rules import Approval, missing_approvals
from pipelines.approvals.waivers import (
    WaiverDecision,
    decide,
    failures,
    has_waiver_rules,
    review_waivers,
)
from validators.gates.result import GateResult
from validators.spec.model import Environment, ModelDeployment

NOW, OLD = "a" * 40, "b" * 40
FAIRNESS = GateResult("fairness", "sex: dpd", False, 0.21, 0.1, "<=")
ROC = GateResult("model", "roc_auc", True, 0.85, 0.8, ">=")
PROD_REGRESSION = GateResult("champion", "production: roc_auc", False, 0.06, 0.04, "<=")


def env(name: str, *rules: dict[str, Any]) -> Environment:
    return Environment.model_validate({"name": name, "target": "local", "approvals": list(rules)})


def waiver(
    who: str, gate: str = "fairness", reason: str = "known bias, fix in v4", **kw: Any
) -> Approval:
    return Approval(who, kw.pop("digest", NOW), "test", gate=gate, reason=reason, **kw)


ENVS = [
    env("staging"),
    env(
        "production",
        {"required": 1, "from": ["@risk-ml", "@compliance"]},
        {"required": 1, "from": ["@compliance"], "gate": "fairness"},
    ),
    env("production-eu"),
]


def judge(
    results: list[GateResult], approvals: list[Approval], author: str | None = "@author"
) -> WaiverDecision:
    return decide(results, ENVS, approvals, digest=NOW, author=author)


def test_a_waiver_from_a_listed_approver_opens_its_environment_and_those_before() -> None:
    decision = judge([ROC, FAIRNESS], [waiver("@Compliance")])

    assert decision.blocking("staging") == []
    assert decision.blocking("production") == []
    assert [w.reasons for w in decision.used("production")] == [
        ("@compliance: known bias, fix in v4",)
    ]
    # an environment after the rule's has no say of its own: closed
    assert [f.check for f in decision.blocking("production-eu")] == [
        "fairness: sex: dpd 0.21 > 0.1"
    ]


@pytest.mark.parametrize(
    ("given", "why"),
    [
        ([waiver("@risk-ml")], "@risk-ml: not one of @compliance"),
        ([waiver("@author")], "@author: the change's author"),
        ([waiver("@compliance", digest=OLD)], "@compliance: stale (given for spec bbbbbbb"),
        ([waiver("@compliance", reason=" ")], "@compliance: no reason given"),
        ([waiver("@compliance", gate="drift")], "got 0"),
        ([waiver("@compliance", env="staging")], "got 0"),
        ([Approval("@compliance", NOW, "test", reason="plain approval")], "got 0"),
    ],
)
def test_a_waiver_that_does_not_count(given: list[Approval], why: str) -> None:
    decision = judge([FAIRNESS], given, author="@author")

    assert decision.waivers == ()
    assert [f.check for f in decision.blocking("staging")] == ["fairness: sex: dpd 0.21 > 0.1"]
    assert why in decision.unmet[0]
    assert "waivable: production lets the fairness gate be waived by 1 of @compliance" in (
        decision.explain_block("staging")
    )


def test_a_gate_without_a_waiver_rule_cannot_be_waived() -> None:
    decision = judge([FAIRNESS, PROD_REGRESSION], [waiver("@compliance")])

    assert decision.blocking("staging") == []  # the regression is production's only
    blocked = decision.blocking("production")
    assert [f.family for f in blocked] == ["model"]
    assert "no waiver rule for the model gate in production, production-eu" in (
        decision.explain_block("production")
    )
    assert not has_waiver_rules(ENVS, [PROD_REGRESSION])
    assert has_waiver_rules(ENVS, [FAIRNESS])


def test_champion_checks_concern_their_environment_and_count_as_model_gates() -> None:
    found = failures([ROC, PROD_REGRESSION, FAIRNESS], ["staging", "production"])

    assert [(f.family, f.env) for f in found] == [("model", "production"), ("fairness", None)]


def test_a_gate_that_could_not_run_fails_and_is_waivable_like_a_failure() -> None:
    errored = GateResult("drift", "drift", False, None, 0.2, error="data.reference: not set")
    envs = [env("production", {"required": 1, "from": ["@ml"], "gate": "drift"})]
    decision = decide([errored], envs, [waiver("@ml", "drift")], digest=NOW, author=None)

    assert decision.blocking("production") == []
    assert decision.used("production")[0].family == "drift"


def test_a_waiver_is_not_an_approval_of_the_deployment() -> None:
    missing, _ = missing_approvals(
        ENVS[1].approvals or [], [waiver("@compliance")], env="production", digest=NOW, author=None
    )
    assert missing.endswith("got 0")


def test_the_waiver_lines_of_a_review() -> None:
    body = "LGTM\n/waive fairness: gap is a known sampling artefact\n/waive drift - new market"
    assert review_waivers(body) == [
        ("fairness", "gap is a known sampling artefact"),
        ("drift", "new market"),
    ]
    assert review_waivers("") == []


def credit_spec() -> ModelDeployment:
    return ModelDeployment.model_validate(
        {
            "apiVersion": "shipyard/v1",
            "kind": "ModelDeployment",
            "metadata": {"name": "credit", "owners": ["@risk-ml"]},
            "model": {"uri": "models:/credit/3"},
            "environments": [e.model_dump(by_alias=True, exclude_none=True) for e in ENVS],
        }
    )


def test_the_plan_shows_each_failed_gate_waived_or_how_to_waive_it() -> None:
    from pipelines.gates.run import GateRun
    from pipelines.plan.change import ChangePlan
    from pipelines.plan.planner import SpecSide, build_plan
    from pipelines.report.changes import change_json, change_markdown, change_text

    spec = credit_spec()
    after = {"credit": SpecSide("specs/credit.yaml", spec)}
    plan = build_plan({}, after, {}, unchanged=0)
    results = [ROC, FAIRNESS, PROD_REGRESSION]
    run = GateRun("credit", "models:/credit/3", {}, results)
    decision = decide(results, ENVS, [waiver("@compliance")], digest=NOW, author=None)
    result = ChangePlan("main", "feature", plan, {"credit": run}, waivers={"credit": decision})

    markdown = change_markdown(result, None)
    assert "**Waivers** of `credit` (failed offline gates):" in markdown
    assert (
        "- ✅ fairness: sex: dpd 0.21 > 0.1 — WAIVED for staging, production by "
        "@compliance: known bias, fix in v4"
    ) in markdown
    assert "- ❌ champion: production: roc_auc 0.06 > 0.04 — no waiver rule for the model gate" in (
        markdown
    )
    assert "  ✅ fairness: sex: dpd 0.21 > 0.1 — WAIVED" in change_text(result)
    assert change_json(result)["waivers"]["credit"]["waivers"][0]["by"] == ("@compliance",)


@pytest.mark.parametrize(
    ("given", "code", "line"),
    [
        ([waiver("@compliance")], 0, "✅ Shipyard plan: `credit` — failed gates waived for credit"),
        ([], 1, "❌ Shipyard plan: `credit` — gates fail for credit"),
    ],
    ids=["waived", "not-waived"],
)
def test_a_plan_whose_failed_gates_are_all_waived_passes(
    given: list[Approval], code: int, line: str
) -> None:
    """The plan check gates the merge: with every failed gate waived for some environment,
    the release can go in (apply decides how far, per environment)."""
    from pipelines.gates.run import GateRun
    from pipelines.plan.change import ChangePlan
    from pipelines.plan.planner import SpecSide, build_plan
    from pipelines.report.changes import verdict

    spec = credit_spec()
    plan = build_plan({}, {"credit": SpecSide("specs/credit.yaml", spec)}, {}, unchanged=0)
    run = GateRun("credit", "models:/credit/3", {}, [ROC, FAIRNESS])
    decision = decide([ROC, FAIRNESS], ENVS, given, digest=NOW, author=None)
    result = ChangePlan("main", "feature", plan, {"credit": run}, waivers={"credit": decision})
    assert result.exit_code == code
    assert verdict(result).startswith(f"### {line}")
