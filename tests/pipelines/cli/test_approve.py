"""`shipyard approve`: an approval (or a waiver) of the spec file as it is now, recorded
locally and in the ledger; a waiver needs a rule for that gate and a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.approvals.rules import spec_digest
from pipelines.approvals.sources import local_approvals
from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.cli import approve
from tests.fakes.cli import parse, shipyard
from tests.fakes.projects import local_spec, project

WAIVABLE = local_spec("credit").replace(
    "  - {name: production, target: local}\n",
    "  - name: production\n    target: local\n"
    '    approvals: [{required: 1, from: ["@compliance"], gate: fairness}]\n',
)


def test_an_approval_is_recorded_for_the_files_digest(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = project(tmp_path, {"credit.yaml": local_spec("credit")})
    digest = spec_digest((tmp_path / "specs" / "credit.yaml").read_bytes())
    root = ["-C", str(tmp_path)]
    ran = shipyard(
        capsys, *root, "approve", "specs/credit.yaml", "--env", "staging", "--as", "Risk"
    )
    assert ran.code == 0
    assert ran.out == (
        f"@risk approved credit for staging at spec digest {digest[:12]}; any later edit of "
        "the file makes this approval stale\n"
    )
    (record,) = local_approvals(ws, "credit")
    assert (record.who, record.digest, record.env) == ("@risk", digest, "staging")
    (entry,) = ledger_of(ws).entries()
    assert (entry.kind, entry.spec, entry.env) == (LedgerKind.APPROVAL_GIVEN, "credit", "staging")
    assert entry.details["gate"] is None


def test_a_waiver_names_its_gate_and_needs_a_rule_and_a_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = project(tmp_path, {"credit.yaml": WAIVABLE})
    base = ["-C", str(tmp_path), "approve", "specs/credit.yaml", "--as", "@compliance"]
    no_rule = shipyard(capsys, *base, "--env", "staging", "--waive", "fairness", "--reason", "ok")
    assert (no_rule.code, no_rule.err.splitlines()[0]) == (
        2,
        "error: --waive fairness: environment staging has no waiver rule for the fairness gate",
    )
    no_reason = shipyard(capsys, *base, "--env", "production", "--waive", "fairness")
    assert no_reason.err.splitlines()[0] == "error: --waive fairness: a waiver needs a reason"
    waived = shipyard(
        capsys, *base, "--env", "production", "--waive", "fairness", "--reason", "audited"
    )
    assert waived.code == 0
    assert waived.out.startswith("@compliance waived the fairness gate of credit for production")
    (entry,) = ledger_of(ws).entries()
    assert (entry.details["gate"], entry.details["reason"]) == ("fairness", "audited")


def test_an_unknown_environment_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    ran = shipyard(
        capsys, "-C", str(tmp_path), "approve", "specs/credit.yaml", "--env", "qa", "--as", "@x"
    )
    assert (ran.code, ran.err) == (
        2,
        "error: credit has no environment 'qa'; it has: staging, production\n",
    )


def test_arguments() -> None:
    args = parse(approve, "specs/a.yaml", "--env", "production", "--as", "@risk")
    assert (args.spec, args.env, args.who, args.reason, args.waive) == (
        Path("specs/a.yaml"),
        "production",
        "@risk",
        "",
        None,
    )
    with pytest.raises(SystemExit, match=r"^2$"):
        parse(approve, "specs/a.yaml", "--env", "production")  # --as is required
