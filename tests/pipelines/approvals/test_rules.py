"""Approvals counted per rule on literals: bound to the spec digest, not the author's own,
only from the listed approvers (or members of a listed team)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from pipelines.approvals.rules import Approval, evaluate, missing_approvals, spec_digest
from validators.spec.model import Approval as Rule

RULE = Rule.model_validate({"required": 1, "from": ["@risk-ml", "@Compliance"]})
WAIVER = Rule.model_validate({"required": 1, "from": ["@fairness-board"], "gate": "fairness"})
NOW, OLD = "a" * 40, "b" * 40


def given(who: str, digest: str = NOW, env: str | None = None) -> Approval:
    return Approval(who, digest, "test", env=env)


def test_an_approval_of_the_current_spec_from_a_listed_approver_counts() -> None:
    verdict = evaluate(RULE, [given("@compliance")], env="production", digest=NOW, author=None)
    assert verdict.met
    assert verdict.counted == ("@compliance",)


def test_an_approval_of_an_earlier_version_is_stale() -> None:
    verdict = evaluate(RULE, [given("@risk-ml", OLD)], env="production", digest=NOW, author=None)
    assert not verdict.met
    assert verdict.ignored == ("@risk-ml: stale (given for spec bbbbbbb, the spec is now aaaaaaa)",)


def test_the_authors_own_approval_does_not_count() -> None:
    verdict = evaluate(RULE, [given("@risk-ml")], env="production", digest=NOW, author="Risk-ML")
    assert not verdict.met
    assert verdict.ignored == ("@risk-ml: the change's author",)


def test_an_approver_outside_the_list_does_not_count() -> None:
    verdict = evaluate(RULE, [given("@intern")], env="production", digest=NOW, author=None)
    assert verdict.ignored == ("@intern: not one of @risk-ml, @Compliance",)


def test_a_member_of_a_listed_team_counts() -> None:
    rule = Rule.model_validate({"required": 1, "from": ["@acme/risk"]})

    def member_of(team: str, who: str) -> bool:
        return (team, who) == ("@acme/risk", "@dana")

    verdict = evaluate(
        rule, [given("@dana")], env="production", digest=NOW, author=None, member_of=member_of
    )
    assert verdict.counted == ("@dana",)


def test_an_approval_for_another_environment_does_not_count_here() -> None:
    verdict = evaluate(
        RULE, [given("@risk-ml", env="staging")], env="production", digest=NOW, author=None
    )
    assert not verdict.met
    assert verdict.ignored == ()


def test_two_rules_both_required_and_waivers_are_not_required_to_deploy() -> None:
    second = Rule.model_validate({"required": 2, "from": ["@a", "@b", "@c"]})
    missing, verdicts = missing_approvals(
        [RULE, second, WAIVER],
        [given("@risk-ml"), given("@a")],
        env="production",
        digest=NOW,
        author=None,
    )
    assert len(verdicts) == 2
    assert missing == (
        "production needs 2 approval(s) from @a, @b, @c of this exact spec; got 1 "
        "(not counted: @risk-ml: not one of @a, @b, @c)"
    )


def test_the_digest_is_gits_blob_id(tmp_path: Path) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text("metadata: {name: x}\n", encoding="utf-8")
    git = subprocess.run(
        ["git", "hash-object", str(spec)], capture_output=True, text=True, check=True
    )
    assert spec_digest(spec.read_bytes()) == git.stdout.strip()
