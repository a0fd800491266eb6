"""`shipyard status` prints one line per spec and environment of the project, or one JSON
document; it exits 1 when a deployed environment is down, naming it last; `--watch` draws
frames until `--count` or Ctrl-C (the frames themselves are tests/pipelines/audit/
test_watch.py's, the report's tests/pipelines/audit/test_status.py's)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from pipelines.cli import build_parser, status
from tests.fakes import deployed
from tests.fakes.cli import parse, shipyard
from tests.fakes.memory_target import registered
from tests.fakes.projects import local_spec, project


def test_each_environment_of_each_spec_has_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"a.yaml": local_spec("alpha"), "b.yaml": local_spec("beta")})
    ran = shipyard(capsys, "-C", str(tmp_path), "status")
    assert ran.code == 0
    lines = ran.out.splitlines()
    assert lines[0].split() == ["spec", "env", "version", "weights", "health", "last", "run"]
    assert [line.split()[:2] for line in lines[1:]] == [
        ["alpha", "staging"],
        ["alpha", "production"],
        ["beta", "staging"],
        ["beta", "production"],
    ]
    assert all("not deployed" in line and line.endswith("never") for line in lines[1:])


def test_json_is_one_document_with_each_rollout_in_flight(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ws = project(tmp_path, {"credit.yaml": deployed.MEMORY_SPEC})
    with registered():
        deployed.canary_in_flight(ws, tmp_path / "specs" / "credit.yaml")
        ran = shipyard(capsys, "-C", str(tmp_path), "status", "--format", "json")
    assert (ran.code, ran.err) == (0, "")
    found = json.loads(ran.out)  # the whole of stdout is the document
    assert found["healthy"] is True
    staging, production = found["services"]
    assert (staging["env"], staging["phase"], staging["health"], staging["rollout"]) == (
        "staging",
        "Healthy",
        "ready",
        None,
    )
    assert staging["slots"] == {
        "stable": {"model": "models:/credit/3", "bento": "credit:aaa", "version": "3"}
    }
    assert (production["phase"], production["weights"]) == (
        "Progressing",
        {"stable": 90, "canary": 10},
    )
    rollout = production["rollout"]
    assert (rollout["step"], rollout["steps"], rollout["verdict"], rollout["owner"]) == (
        1,
        4,
        "Inconclusive",
        deployed.OWNER,
    )
    assert rollout["release"] == {"bento": "credit:bbb", "model": "models:/credit/4"}


def test_a_deployed_environment_that_is_down_exits_1_and_is_named_last(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with deployed.closed_port() as port:
        ws = project(
            tmp_path,
            {
                "credit.yaml": local_spec("credit"),
                "fraud.yaml": deployed.local_spec_down("fraud", port),
            },
        )
        deployed.deploy_local(ws, tmp_path / "specs" / "fraud.yaml", "production")
        ran = shipyard(capsys, "-C", str(tmp_path), "status")
        as_json = shipyard(capsys, "-C", str(tmp_path), "status", "--format", "json")
    assert ran.code == 1
    lines = ran.out.splitlines()
    assert lines[3].split()[:5] == ["fraud", "production", "stable=3", "stable:100%", "down"]
    assert lines[-1] == "down: fraud/production (the stable slot fails its readiness probe)"
    assert as_json.code == 1
    found = json.loads(as_json.out)
    assert found["healthy"] is False
    assert [(s["spec"], s["env"], s["phase"]) for s in found["services"]] == [
        ("credit", "staging", "NotDeployed"),
        ("credit", "production", "NotDeployed"),
        ("fraud", "production", "Degraded"),
    ]


def test_watch_off_a_terminal_prints_count_frames(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    argv = ("-C", str(tmp_path), "status", "--watch", "--interval", "0.01", "--count", "2")
    ran = shipyard(capsys, *argv)
    assert ran.code == 0
    frames = [block.splitlines() for block in ran.out.split("\n\n")]
    assert len(frames) == 2
    for lines in frames:
        assert lines[0].startswith("shipyard status, every 0.01s: ")
        assert [line.split()[:2] for line in lines[1:]] == [
            ["spec", "env"],
            ["credit", "staging"],
            ["credit", "production"],
        ]


def test_ctrl_c_stops_a_watch_with_0_and_no_traceback(tmp_path: Path) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    argv = [sys.executable, "-m", "pipelines", "-C", str(tmp_path), "status", "--watch"]
    with subprocess.Popen(
        [*argv, "--interval", "0.2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    ) as watching:
        assert watching.stdout is not None
        first = watching.stdout.readline()  # the first frame is out: the watch runs
        watching.send_signal(signal.SIGINT)
        out, err = watching.communicate(timeout=60)
    assert first.startswith("shipyard status, every 0.2s: ")
    assert (watching.returncode, err) == (0, "")
    assert "Traceback" not in out


def test_usage_mistakes_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    root = ("-C", str(tmp_path), "status")
    json_watch = shipyard(capsys, *root, "--watch", "--format", "json")
    assert (json_watch.code, json_watch.err.splitlines()[0]) == (
        2,
        "error: --watch draws a live table; for documents, run `shipyard status --format "
        "json` once per poll",
    )
    alone = shipyard(capsys, *root, "--count", "3")
    assert (alone.code, alone.err) == (2, "error: --interval and --count go with --watch\n")


def test_arguments_and_the_exit_codes_in_the_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert vars(parse(status)) == {
        "format": "text",
        "watch": False,
        "interval": None,
        "count": None,
    }
    args = parse(status, "--watch", "--interval", "0.5", "--count", "3")
    assert (args.watch, args.interval, args.count) == (True, 0.5, 3)
    for wrong in (["--interval", "0"], ["--count", "0"], ["--format", "yaml"]):
        with pytest.raises(SystemExit, match=r"^2$"):
            parse(status, *wrong)
    with pytest.raises(SystemExit, match=r"^0$"):
        build_parser().parse_args(["status", "--help"])
    shown = capsys.readouterr().out
    assert "exit codes:\n  0  every deployed environment's stable slot is ready" in shown
    assert "  1  an environment is down" in shown
    assert "--watch exits 0 when stopped with Ctrl-C" in shown
