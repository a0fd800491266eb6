"""Through apply, on the demo project's real gates and BentoML store: a failed fairness gate
blocks until a listed approver waives it, the waiver is recorded; the Bento and its model are
signed at build, and a changed model file is refused before anything is provisioned."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.approvals.sources import approve_locally
from pipelines.audit.ledger import ledger_of
from pipelines.build.signing import SIGNATURE_FILE, SignatureError, bento_parts, verify_bento
from pipelines.core.errors import UsageError
from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult
from pipelines.release.apply import apply_spec
from pipelines.release.context import ApplyOptions
from pipelines.release.outcome import SpecOutcome

pytestmark = pytest.mark.integration
Demo = tuple[Workspace, InitResult]
NAME = "waived-risk"  # a spec of its own: its Bento and model are this test's alone
RULES = """    approvals:
      - {required: 1, from: ["@risk-ml"]}
      - {required: 1, from: ["@compliance"], gate: fairness}
"""


@pytest.fixture(scope="module")
def spec_file(demo: Demo) -> Path:
    ws, init = demo
    text = (ws.root / "specs" / "credit-risk.yaml").read_text(encoding="utf-8")
    text = text.replace("name: credit-risk", f"name: {NAME}", 1)
    text = text.replace("models:/credit-risk/1", f"models:/credit-risk/{init.versions['biased']}")
    before = '    approvals:\n      - {required: 1, from: ["@risk-ml", "@compliance"]}\n'
    assert before in text
    path = ws.root / "variants" / f"{NAME}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(text.replace(before, RULES), encoding="utf-8")
    return path


def apply(ws: Workspace, spec_file: Path, said: list[str], **options: object) -> SpecOutcome:
    spec = load_spec(spec_file, ws.root)
    return apply_spec(spec, spec_file, ws, ApplyOptions(**options), said.append)  # type: ignore[arg-type]


def kinds(ws: Workspace) -> list[str]:
    return [e.kind for e in ledger_of(ws).entries() if e.spec == NAME]


def test_a_failed_gate_is_waived_by_a_listed_approver_and_the_bento_is_signed(
    demo: Demo, spec_file: Path
) -> None:
    ws, _ = demo
    said: list[str] = []
    blocked = apply(ws, spec_file, said)
    assert blocked.outcome == "blocked"
    assert "fairness:" in blocked.detail
    assert "waivable: production lets the fairness gate be waived by 1 of @compliance" in (
        blocked.detail
    )
    assert kinds(ws)[-1] == "blocked"

    with pytest.raises(UsageError, match="a waiver needs a reason"):
        approve_locally(ws, spec_file, "production", "@compliance", "", gate="fairness")
    approve_locally(ws, spec_file, "production", "@risk-ml", "not mine to waive", gate="fairness")
    still = apply(ws, spec_file, said, only_env="production")
    assert still.outcome == "blocked"
    assert "@risk-ml: not one of @compliance" in still.detail

    approve_locally(ws, spec_file, "production", "@compliance", "holdout gap", gate="fairness")
    said.clear()
    waived = apply(ws, spec_file, said, only_env="production")

    # past the gates and the build, production now waits for its deployment approval
    assert waived.outcome == "blocked"
    assert "waiting for approval" in "\n".join(said)
    assert any("fairness gate is WAIVED by @compliance: holdout gap" in line for line in said)
    entries = [e for e in ledger_of(ws).entries() if e.spec == NAME]
    (waiver,) = [e for e in entries if e.kind == "waiver"]
    assert waiver.env == "production"
    assert waiver.details["waived_by"] == ["@compliance"]
    assert waiver.details["reasons"] == ["@compliance: holdout gap"]
    build = [e for e in entries if e.kind == "build"][-1]
    signature = build.details["signature"]
    assert len(signature["signature"]) == 64
    assert len(signature["models"]) == 1
    for _, folder in bento_parts(build.details["bento"]):
        assert (folder / SIGNATURE_FILE).is_file()
    assert (
        verify_bento(build.details["bento"], ws.bentoml_home)["signature"]
        == (signature["signature"])
    )


def test_a_changed_model_file_is_refused_before_provisioning(
    demo: Demo, spec_file: Path, tmp_path: Path
) -> None:
    ws, _ = demo
    said: list[str] = []
    tag = [e for e in ledger_of(ws).entries() if e.spec == NAME and e.kind == "build"][-1]
    bento = str(tag.details["bento"])
    (_, model_dir) = bento_parts(bento)[1]
    victim = next(p for p in sorted(model_dir.rglob("*")) if p.is_file() and p.suffix != ".sig")
    shutil.copy(victim, tmp_path / "original")
    with victim.open("ab") as out:
        out.write(b"\n# tampered")
    try:
        with pytest.raises(SignatureError, match="does not match its signature — changed: "):
            verify_bento(bento, ws.bentoml_home)
        refused = apply(ws, spec_file, said, only_env="production", approved_by=("@risk-ml",))
    finally:
        shutil.copy(tmp_path / "original", victim)

    assert refused.outcome == "blocked"
    relative = victim.relative_to(model_dir).as_posix()
    assert f"does not match its signature — changed: {relative}" in refused.detail
    assert kinds(ws)[-1] == "refused"
    assert not any("deploying" in line or "canary of" in line for line in said)
