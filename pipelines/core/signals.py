"""SIGTERM and SIGINT as an exception, so a run can put traffic back on stable before it
exits: a CI job cancelled on timeout or by a newer push gets SIGTERM, an operator presses
Ctrl-C. `Interrupted` derives from BaseException (as KeyboardInterrupt does) so no
`except Exception` swallows it; after the first signal, further ones are ignored until the
clean-up is done, so a second Ctrl-C cannot cut it short. The CLI exits 128 + the signal's
number (143 for SIGTERM, 130 for SIGINT), as a shell would report it."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HANDLED = (signal.SIGTERM, signal.SIGINT)


class Interrupted(BaseException):
    def __init__(self, signum: int) -> None:
        super().__init__(f"interrupted by {signal.Signals(signum).name}")
        self.signum = signum

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class _State:
    raised = False


def _raise(signum: int, _frame: FrameType | None) -> None:
    if _State.raised:  # cleaning up after the first one: finish that
        return
    _State.raised = True
    raise Interrupted(signum)


@contextmanager
def interruptible() -> Iterator[None]:
    """Within the block (main thread only), SIGTERM and SIGINT raise `Interrupted`."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {s: signal.signal(s, _raise) for s in HANDLED}
    _State.raised = False
    try:
        yield
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        _State.raised = False
