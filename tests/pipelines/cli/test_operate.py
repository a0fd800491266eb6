"""`shipyard promote|abort|pause|resume|retry SPEC --env ENV`: each verb parses into its
command; with nothing in flight the command is refused (exit 2) with what to do instead; a
dead run's canary is aborted directly; through an agent's URL without its token, a usage
error."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.cli import build_parser, operate
from tests.fakes.cli import shipyard
from tests.fakes.deployed import MEMORY_SPEC, deploy
from tests.fakes.memory_target import registered
from tests.fakes.projects import local_spec, project


def test_each_verb_is_its_command() -> None:
    for verb in operate.HELPS:
        args = build_parser().parse_args(
            [verb, "specs/credit.yaml", "--env", "production", "--by", "alice"]
        )
        assert (args.verb, args.env, args.by, args.wait) == (verb, "production", "alice", 30.0)


def test_nothing_in_flight_is_refused_with_a_hint(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    spec = str(tmp_path / "specs" / "credit.yaml")
    ran = shipyard(capsys, "-C", str(tmp_path), "promote", spec, "--env", "staging")
    assert ran.code == 2
    assert ran.err.splitlines() == [
        "error: no rollout of credit in staging is in flight: nothing to promote",
        f"  hint: see what runs: shipyard status; start one: shipyard apply {spec} --env staging",
    ]


def test_a_dead_runs_canary_is_aborted_directly(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = project(tmp_path, {"credit.yaml": MEMORY_SPEC})
    spec = tmp_path / "specs" / "credit.yaml"
    with registered():
        deploy(ws, spec, "production", canary=True)
        ran = shipyard(capsys, "-C", str(tmp_path), "abort", str(spec), "--env", "production")
    assert ran.code == 0, ran.err
    assert ran.out.splitlines()[-1] == (
        "credit/production: canary removed; all traffic on the stable release (through directly)"
    )


def test_through_an_agent_the_token_is_needed(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    monkeypatch.setenv("SHIPYARD_AGENT_URL", "http://127.0.0.1:9")
    monkeypatch.delenv("SHIPYARD_AGENT_TOKEN", raising=False)
    spec = str(tmp_path / "specs" / "credit.yaml")
    ran = shipyard(capsys, "-C", str(tmp_path), "abort", spec, "--env", "staging")
    assert ran.code == 2
    assert ran.err.splitlines()[0] == (
        "error: SHIPYARD_AGENT_URL is set but SHIPYARD_AGENT_TOKEN is not"
    )
