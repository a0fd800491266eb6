"""`shipyard status --watch`: a frame is a title and the status table; off a terminal the
frames follow one another with a blank line between, on one each is drawn over the last;
`count` frames end with the last frame's exit code, and Ctrl-C (SIGINT, raised as
`Interrupted` inside the CLI's handler) ends the watch with 0."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
from pathlib import Path

from pipelines.audit.status import status_text
from pipelines.audit.watch import CLEAR, frame, watch
from pipelines.core.signals import interruptible
from tests.fakes import deployed
from tests.fakes.memory_target import registered
from tests.fakes.projects import local_spec, project
from tests.pipelines.audit.test_status import NOW, REPORT

TITLE = "shipyard status, every 2s: 2023-11-14 22:13:20 UTC (Ctrl-C to stop)"


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def frames(text: str) -> list[list[str]]:
    return [block.splitlines() for block in text.split("\n\n")]


def test_a_frame_is_a_title_saying_when_then_the_table() -> None:
    assert frame(REPORT, NOW, 2.0) == [TITLE, *status_text(REPORT, NOW)]


def test_off_a_terminal_frames_follow_each_other_and_the_last_decides_the_exit(
    tmp_path: Path,
) -> None:
    ws = project(tmp_path, {"credit.yaml": deployed.MEMORY_SPEC})
    out = io.StringIO()
    with registered():
        deployed.canary_in_flight(ws, tmp_path / "specs" / "credit.yaml")
        code = watch(tmp_path, 0.01, 3, out)
    assert code == 0
    shown = frames(out.getvalue())
    assert len(shown) == 3
    for lines in shown:
        assert lines[0].startswith("shipyard status, every 0.01s: ")
        assert [line.split()[:2] for line in lines[2:]] == [
            ["credit", "staging"],
            ["credit", "production"],
            ["rollout", "of"],
        ]
        assert lines[-1] == (
            "  rollout of 4: step 1/4, canary:10% stable:90%, last verdict Inconclusive, "
            f"progressing, by {deployed.OWNER}"
        )
    assert CLEAR not in out.getvalue()


def test_a_watch_of_an_environment_down_ends_1_after_its_count(tmp_path: Path) -> None:
    out = io.StringIO()
    with deployed.closed_port() as port:
        ws = project(tmp_path, {"fraud.yaml": deployed.local_spec_down("fraud", port)})
        deployed.deploy_local(ws, tmp_path / "specs" / "fraud.yaml", "production")
        assert watch(tmp_path, 0.01, 1, out) == 1
    (lines,) = frames(out.getvalue())
    assert lines[-1] == "down: fraud/production (the stable slot fails its readiness probe)"


def test_on_a_terminal_each_frame_is_drawn_over_the_last(tmp_path: Path) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    out = Terminal()
    assert watch(tmp_path, 0.01, 2, out) == 0
    drawn = out.getvalue().split(CLEAR)
    assert drawn[0] == ""
    assert len(drawn) == 3
    assert all(d.splitlines()[1].split()[:2] == ["spec", "env"] for d in drawn[1:])


def test_ctrl_c_ends_the_watch_with_0(tmp_path: Path) -> None:
    project(tmp_path, {"credit.yaml": local_spec("credit")})
    out = io.StringIO()

    def press_ctrl_c() -> None:  # once the first frame is out
        deadline = time.monotonic() + 30
        while not out.getvalue() and time.monotonic() < deadline:
            time.sleep(0.01)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_ctrl_c)
    with interruptible():
        presser.start()
        code = watch(tmp_path, 0.05, None, out)
    presser.join()
    assert code == 0
    assert out.getvalue().startswith("shipyard status, every 0.05s: ")
