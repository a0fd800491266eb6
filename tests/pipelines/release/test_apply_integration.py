"""`shipyard apply` on the real engines (MLflow, DVC, Great Expectations, BentoML, Pulumi,
supervisord, nginx): a good release promoted through staging and production, a second apply
that changes nothing, a release waiting for approval, a faulty canary rolled back
automatically, a biased model blocked before staging, a held lock, and `shipyard rollback`.

One spec ("apply-trial", a short-rollout copy of the demo spec in a project of its own) goes
through a release's life in order: each test starts from the state the previous one left."""

from __future__ import annotations

import os
import re
import socket
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from pipelines.build.signing import bento_parts
from pipelines.core.workspace import Workspace
from pipelines.release.rollback import _wanted
from pipelines.state.locks import environment_lock
from stacks.target import Release, Slot
from tests.fakes.apply import (
    Project,
    Rollout,
    Stack,
    alias,
    apply,
    build,
    deployed,
    entries_since,
    kinds,
    last_seq,
    ledger_verified,
    register_copy,
    settled,
    shipyard,
    write_spec,
)

pytestmark = pytest.mark.integration
pytest_plugins = ["tests.fakes.apply"]

NAME = "apply-trial"
REVIEWER = "@risk-ml"
APPROVERS = ("@risk-ml", "@compliance")
# At 50% of 60 requests/s of synthetic traffic (the demo's rate) the canary sees ~30
# requests/s: the faulty model fails on ~2.6% of the replayed rows, which the binomial test
# tells from the allowed 1% after a few hundred requests, well within the pause; a good
# canary passes once the pause is over. Nothing is judged before 100 requests: on fewer, the
# output-shift check (KS statistic > 0.2 at p < 0.05) fails identical models now and then.
ROLLOUT = Rollout(weight=50, pause="20s", interval="3s", failure_limit=1, min_requests=100)
TRAFFIC = 60.0
GOOD, OTHER, FAULTY, BIASED = "good", "good-2-workers", "faulty", "biased"


@dataclass(frozen=True)
class Trial:
    ws: Workspace
    versions: dict[str, str]
    specs: dict[str, Path]  # GOOD is specs/apply-trial.yaml (what `shipyard status` lists)
    releases: dict[str, Release]  # built up front: GOOD, OTHER (same model), FAULTY
    staging: Stack
    production: Stack

    def relative(self, key: str) -> str:
        return str(self.specs[key].relative_to(self.ws.root))

    def model(self, variant: str) -> str:
        return f"models:/credit-risk/{self.versions[variant]}"


@pytest.fixture(scope="module")
def trial(apply_project: Project) -> Iterator[Trial]:
    ws, versions = apply_project.ws, apply_project.versions
    specs = {
        GOOD: write_spec(ws, f"specs/{NAME}.yaml", NAME, versions["good"], ROLLOUT),
        OTHER: write_spec(ws, f"variants/{OTHER}.yaml", NAME, versions["good"], ROLLOUT, workers=2),
        FAULTY: write_spec(ws, f"variants/{FAULTY}.yaml", NAME, versions["faulty"], ROLLOUT),
        BIASED: write_spec(ws, f"variants/{BIASED}.yaml", NAME, versions["biased"], ROLLOUT),
    }
    releases = {key: build(ws, specs[key]) for key in (GOOD, OTHER, FAULTY)}
    assert len({r.bento for r in releases.values()}) == 3
    with deployed(ws, specs[GOOD], ("staging", "production")) as (staging, production):
        yield Trial(ws, versions, specs, releases, staging, production)


def assert_serves(stack: Stack, release: Release) -> None:
    """Only the stable slot runs, with `release`, and answers through the endpoint."""
    assert stack.stable() == release
    assert settled(lambda: [] if stack.slots() == {Slot.STABLE} else ["canary"]) == []
    assert stack.serving(Slot.STABLE) == {release.bento}
    assert settled(lambda: sorted(stack.serving(Slot.CANARY))) == []
    assert stack.statuses(20) == Counter({200: 20})


def test_good_release_is_promoted_through_staging_and_production(trial: Trial) -> None:
    ws, good = trial.ws, trial.releases[GOOD]
    seq = last_seq(ws)

    outcome, code, said = apply(ws, trial.specs[GOOD], approved_by=(REVIEWER,))

    assert (outcome.outcome, code) == ("promoted", 0), said
    assert [(e.env, e.outcome, e.version) for e in outcome.envs] == [
        ("staging", "promoted", good.model),
        ("production", "promoted", good.model),
    ]
    assert_serves(trial.staging, good)
    assert_serves(trial.production, good)
    assert alias(ws, "staging") == alias(ws, "production") == trial.versions["good"]
    status = shipyard(ws, "status", timeout=120)
    assert status.returncode == 0, status.stderr
    for env in ("staging", "production"):
        line = rf"^{NAME}\s+{env}\s+stable={trial.versions['good']}\s+stable:100%\s+ready\s"
        assert re.search(line, status.stdout, re.MULTILINE), status.stdout
    entries = entries_since(ws, NAME, seq)
    assert kinds(entries, None) == Counter({"gates": 1, "build": 1})
    assert kinds(entries, "staging") == Counter(
        {"verified": 1, "deploy": 1, "serving": 1, "promoted": 1}
    )
    assert kinds(entries, "production") == Counter(
        {"approval": 1, "verified": 1, "deploy": 1, "serving": 1, "promoted": 1}
    )
    # each environment checked the Bento against the signature the build made
    signed = next(e for e in entries if e.kind == "build").details["signature"]
    verified = [e.details for e in entries if e.kind == "verified"]
    assert signed["signature"], signed
    assert [v["signature"] for v in verified] == [signed["signature"]] * 2, verified
    approval = next(e for e in entries if e.kind == "approval")
    assert approval.details["approved_by"] == [REVIEWER]
    assert all(e.details["passed"] for e in entries if e.kind == "serving")
    verify = ledger_verified(ws)
    assert verify.returncode == 0, verify.stdout
    assert "chain intact" in verify.stdout


def test_applying_the_same_release_again_changes_nothing(trial: Trial) -> None:
    ws, good = trial.ws, trial.releases[GOOD]
    seq = last_seq(ws)

    outcome, code, said = apply(ws, trial.specs[GOOD], approved_by=(REVIEWER,))

    assert (outcome.outcome, code) == ("unchanged", 0), said
    assert [(e.env, e.outcome) for e in outcome.envs] == [
        ("staging", "unchanged"),
        ("production", "unchanged"),
    ]
    entries = entries_since(ws, NAME, seq)
    assert kinds(entries) == Counter({"gates": 1, "build": 1}), [e.kind for e in entries]
    assert next(e for e in entries if e.kind == "build").details["reused"] is True
    assert_serves(trial.staging, good)
    assert_serves(trial.production, good)


def test_release_without_approval_waits_before_production(trial: Trial) -> None:
    ws, good, other = trial.ws, trial.releases[GOOD], trial.releases[OTHER]
    seq = last_seq(ws)

    outcome, code, said = apply(ws, trial.specs[OTHER])

    assert (outcome.outcome, code) == ("blocked", 1), said
    staging, production = outcome.envs
    assert staging.outcome == "promoted"
    assert production.outcome == "blocked"
    assert all(who in production.detail for who in APPROVERS), production.detail
    assert any("waiting for approval" in line for line in said), said
    assert_serves(trial.staging, other)
    assert_serves(trial.production, good)
    entries = entries_since(ws, NAME, seq)
    assert kinds(entries, "production") == Counter({"blocked": 1})
    blocked = next(e for e in entries if e.kind == "blocked")
    assert all(who in blocked.details["reason"] for who in APPROVERS), blocked.details


def test_faulty_canary_is_rolled_back_automatically(trial: Trial) -> None:
    ws, good, faulty = trial.ws, trial.releases[GOOD], trial.releases[FAULTY]
    seq = last_seq(ws)

    result = shipyard(
        ws,
        "apply",
        trial.relative(FAULTY),
        "--approved-by",
        REVIEWER,
        "--traffic",
        f"{TRAFFIC:g}",
    )

    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    summary = [line for line in result.stdout.splitlines() if line.startswith(f"{NAME}: ")][-1]
    assert summary.startswith(f"{NAME}: rolled back — "), output
    assert "error rate" in summary, output
    assert f"retry: shipyard apply {trial.relative(FAULTY)}" in result.stdout, output
    entries = entries_since(ws, NAME, seq)
    assert kinds(entries, "staging")["promoted"] == 1, output
    rollback = [e for e in entries if e.kind == "rollback"]
    assert [(e.env, e.details["model"]) for e in rollback] == [("production", faulty.model)]
    assert "error rate" in rollback[0].details["reason"]
    assert rollback[0].details["switch_s"] < 0.5, rollback[0].details
    assert kinds(entries, "production")["promoted"] == 0
    # closing the loop: a proposal that puts the spec back on what production runs
    proposal = [e for e in entries if e.kind == "proposal"]
    assert [e.env for e in proposal] == ["production"], output
    patch = ws.root / proposal[0].details["patch"]
    assert f"models:/credit-risk/{trial.versions['good']}" in patch.read_text(), output
    assert "proposed a revert" in result.stdout, output
    assert_serves(trial.production, good)
    assert_serves(trial.staging, faulty)
    assert alias(ws, "production") == trial.versions["good"]
    assert alias(ws, "staging") == trial.versions["faulty"]


def test_biased_release_is_blocked_before_staging(trial: Trial) -> None:
    ws = trial.ws
    seq = last_seq(ws)

    outcome, code, said = apply(ws, trial.specs[BIASED], approved_by=(REVIEWER,))

    assert (outcome.outcome, code) == ("blocked", 1), said
    assert outcome.envs == []
    assert "fairness" in outcome.detail
    entries = entries_since(ws, NAME, seq)
    assert kinds(entries) == Counter({"gates": 1, "blocked": 1})
    blocked = next(e for e in entries if e.kind == "blocked")
    assert blocked.env is None
    assert blocked.details["model"] == trial.model("biased")
    assert "fairness" in blocked.details["reason"]
    assert_serves(trial.staging, trial.releases[FAULTY])
    assert_serves(trial.production, trial.releases[GOOD])


def test_apply_gives_up_while_another_holds_the_environment(trial: Trial) -> None:
    ws = trial.ws
    seq = last_seq(ws)

    with environment_lock(ws, NAME, "staging", 10, say=lambda _: None):
        result = shipyard(
            ws, "apply", trial.relative(GOOD), "--approved-by", REVIEWER, "--lock-timeout", "2"
        )

    assert result.returncode != 0, result.stdout
    assert (
        f"another run holds {NAME}/staging (apply on {socket.gethostname()}, pid {os.getpid()},"
        in result.stderr
    )
    assert "gave up after 2s" in result.stderr
    changes = {"deploy", "serving", "promoted", "approval", "rollback", "blocked"}
    assert not changes & set(kinds(entries_since(ws, NAME, seq))), result.stdout
    assert_serves(trial.staging, trial.releases[FAULTY])
    assert_serves(trial.production, trial.releases[GOOD])


def test_rollback_to_a_version_restores_it(trial: Trial) -> None:
    ws, good = trial.ws, trial.releases[GOOD]
    again = register_copy(ws, trial.versions["good"])
    spec_file = write_spec(ws, "variants/good-again.yaml", NAME, again, ROLLOUT)
    outcome, code, said = apply(ws, spec_file, approved_by=(REVIEWER,), traffic_rps=TRAFFIC)
    assert (outcome.outcome, code) == ("promoted", 0), said
    promoted = trial.production.stable()
    assert promoted is not None
    assert promoted.model == f"models:/credit-risk/{again}"
    assert alias(ws, "production") == again

    # The release brought back is checked against its signatures first: a changed model file
    # is refused and nothing moves.
    args = ("rollback", trial.relative(GOOD), "--env", "production", "--to", trial.versions["good"])
    wanted = _wanted(ws, NAME, "production", trial.versions["good"], promoted.bento)
    assert wanted is not None
    model_dir = bento_parts(wanted.bento)[1][1]
    victim = next(p for p in sorted(model_dir.rglob("*")) if p.is_file() and p.suffix != ".sig")
    original = victim.read_bytes()
    victim.write_bytes(original + b"\n# tampered")
    try:
        refused = shipyard(ws, *args)
    finally:
        victim.write_bytes(original)
    assert refused.returncode == 1, refused.stdout + refused.stderr
    assert f"refused to roll back {NAME}/production to {good.model}" in refused.stderr
    assert "does not match its signature" in refused.stderr
    assert trial.production.stable() == promoted
    assert [e.kind for e in entries_since(ws, NAME, last_seq(ws) - 1)] == ["refused"]
    seq = last_seq(ws)

    result = shipyard(ws, *args)

    assert result.returncode == 0, result.stdout + result.stderr
    assert f"now serving {good.model}" in result.stdout
    restored = trial.production.stable()
    assert restored is not None
    assert restored.model == good.model
    assert restored.bento in {good.bento, trial.releases[OTHER].bento}
    assert_serves(trial.production, restored)
    assert alias(ws, "production") == trial.versions["good"]
    entries = entries_since(ws, NAME, seq)
    assert [(e.kind, e.env) for e in entries] == [
        ("verified", "production"),
        ("rollback", "production"),
    ]
    assert entries[0].details["bento"] == restored.bento  # its signatures checked first
    assert entries[1].details["requested"] is True
    assert entries[1].details["model"] == good.model
    assert entries[1].details["previous"] == promoted.model
    verify = ledger_verified(ws)
    assert verify.returncode == 0, verify.stdout
