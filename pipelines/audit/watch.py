"""`shipyard status --watch`: the status table redrawn every interval until Ctrl-C — in place
on a terminal; elsewhere (a pipe, a CI log, a test) each frame after the one before, a blank
line between them. `frame` is pure; `watch` reads and draws."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TextIO

from pipelines.audit.status import StatusReport, collect, status_text
from pipelines.core.signals import Interrupted

CLEAR = "\x1b[H\x1b[2J"  # cursor home, clear the screen
DEFAULT_INTERVAL = 2.0


def frame(report: StatusReport, now: float, interval: float) -> list[str]:
    """One frame: a title saying when it was read, then the status table."""
    when = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(now))
    return [
        f"shipyard status, every {interval:g}s: {when} (Ctrl-C to stop)",
        *status_text(report, now),
    ]


def watch(root: Path, interval: float, count: int | None, out: TextIO) -> int:
    """Draw a frame every `interval` seconds, `count` times (None: until Ctrl-C or SIGTERM,
    then exit 0). With `count`, the exit code is the last frame's, as `shipyard status`'s."""
    redraw = out.isatty()
    shown, code = 0, 0
    try:
        while count is None or shown < count:
            if shown:
                time.sleep(interval)
            now = time.time()
            report = collect(root)
            code = report.exit_code
            lead = CLEAR if redraw else "\n" if shown else ""
            out.write(lead + "\n".join(frame(report, now, interval)) + "\n")
            out.flush()
            shown += 1
    except (Interrupted, KeyboardInterrupt):  # the way a live view is left: not a failure
        return 0
    return code
