"""How the engine talks to the person running it: one line at a time, through a callable the
CLI (or a test) passes in, so no stage prints on its own."""

from __future__ import annotations

from collections.abc import Callable

Say = Callable[[str], None]
