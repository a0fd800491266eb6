"""Before provisioning, a release's Bento is checked against its signatures (a `verified` or
a `refused` entry); after a promotion the environment's MLflow alias names the release's
version. Real BentoML store, real model signing, real MLflow registry (the demo project)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from pipelines.audit.ledger import ledger_of
from pipelines.build.bento import build_bento
from pipelines.build.signing import bento_parts
from pipelines.core.outcomes import Outcome
from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult
from pipelines.release.alias import set_alias
from pipelines.release.context import ApplyOptions, ReleaseContext
from pipelines.release.verify import verify_artifact
from stacks.target import Release
from validators.sources.registry import Registry

pytestmark = pytest.mark.integration
NAME = "verify-check"


@pytest.fixture(scope="module")
def built(demo: tuple[Workspace, InitResult]) -> tuple[ReleaseContext, Release]:
    ws, _ = demo
    text = (ws.root / "specs" / "credit-risk.yaml").read_text(encoding="utf-8")
    spec_file = ws.root / "variants" / f"{NAME}.yaml"
    spec_file.parent.mkdir(exist_ok=True)
    spec_file.write_text(text.replace("name: credit-risk", f"name: {NAME}"), encoding="utf-8")
    spec = load_spec(spec_file, ws.root)
    result = build_bento(spec, spec_file, ws, say=lambda _: None)
    ctx = ReleaseContext(spec, spec_file, ws, ApplyOptions(), lambda _: None)
    return ctx, Release(result.tag, "models:/credit-risk/1")


def test_a_signed_release_is_verified(built: tuple[ReleaseContext, Release]) -> None:
    ctx, release = built
    assert verify_artifact(ctx, "staging", release) is None
    entry = ledger_of(ctx.ws).last(NAME, "staging")
    assert entry is not None
    assert entry.kind == "verified"
    assert entry.details["signature"]


def test_a_changed_bento_is_refused(built: tuple[ReleaseContext, Release], tmp_path: Path) -> None:
    ctx, release = built
    (_, bento_dir) = bento_parts(release.bento)[0]
    victim = bento_dir / "bento.yaml"
    shutil.copy(victim, tmp_path / "original")
    try:
        victim.write_text(victim.read_text(encoding="utf-8") + "\n# tampered\n", encoding="utf-8")
        refused = verify_artifact(ctx, "production", release)
    finally:
        shutil.copy(tmp_path / "original", victim)
    assert refused is not None
    assert refused.outcome == Outcome.BLOCKED
    assert "bento.yaml" in refused.detail
    entry = ledger_of(ctx.ws).last(NAME, "production")
    assert entry is not None
    assert entry.kind == "refused"
    assert verify_artifact(ctx, "production", release) is None  # restored: verified again


def test_the_alias_follows_the_promoted_version(demo: tuple[Workspace, InitResult]) -> None:
    ws, init = demo
    version = init.versions["good"]
    set_alias(ws, Release("unused:1", f"models:/credit-risk/{version}"), "verify-check-env")
    found = Registry(ws.mlflow_uri).alias("credit-risk", "verify-check-env")
    assert found is not None
    assert found.version == version
