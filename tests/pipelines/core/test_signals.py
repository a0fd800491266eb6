"""SIGTERM and SIGINT become `Interrupted` inside `interruptible()` (exit codes 143 and 130),
further signals wait for the clean-up, handlers are restored after, and the CLI exits with
the shell's code for the signal."""

from __future__ import annotations

import argparse
import os
import signal
import time
from types import SimpleNamespace

import pytest

from pipelines import cli
from pipelines.core.signals import Interrupted, interruptible


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_raises_interrupted_with_the_shells_exit_code(signum: int, code: int) -> None:
    def signalled() -> None:
        with interruptible():
            os.kill(os.getpid(), signum)
            time.sleep(5)

    with pytest.raises(Interrupted, match=f"interrupted by {signal.Signals(signum).name}") as stop:
        signalled()
    assert (stop.value.exit_code, stop.value.name) == (code, signal.Signals(signum).name)


def test_a_second_signal_does_not_cut_the_clean_up_short() -> None:
    cleaned = []

    def cleaning_up() -> None:
        with interruptible():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)
            except Interrupted:
                os.kill(os.getpid(), signal.SIGINT)  # impatient operator: ignored for now
                time.sleep(0.05)
                cleaned.append("stable restored")
                raise

    with pytest.raises(Interrupted, match="by SIGTERM"):
        cleaning_up()
    assert cleaned == ["stable restored"]


def test_the_previous_handlers_come_back() -> None:
    before = signal.getsignal(signal.SIGTERM)
    with interruptible():
        assert signal.getsignal(signal.SIGTERM) is not before
    assert signal.getsignal(signal.SIGTERM) is before


def test_the_cli_exits_143_on_sigterm(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def run(_args: argparse.Namespace) -> int:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(5)
        return 0

    verb = SimpleNamespace(HELP="waits", add_arguments=lambda _p: None, run=run)
    monkeypatch.setitem(cli.VERBS, "wait", verb)
    assert cli.main(["wait"]) == 143
    assert capsys.readouterr().err == "interrupted by SIGTERM\n"
