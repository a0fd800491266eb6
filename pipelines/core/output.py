"""How the engine talks to the person running it: one line at a time, through a callable the
CLI (or a test) passes in, so no stage prints on its own. A verb asked for a document
(`--format json`) says its progress on stderr instead, and prints the document alone on
stdout."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, redirect_stdout
from typing import Any

Say = Callable[[str], None]

FORMATS = ("text", "json")  # what `--format` of status, apply, rollback and explain takes


@contextmanager
def progress(fmt: str) -> Iterator[Say]:
    """The `say` of a verb run in the format `fmt`: for text, print; for a document, stderr —
    and within the block stdout is stderr too, so nothing a library prints can garble the
    document the verb prints after it."""
    if fmt == "text":
        yield print
        return
    with redirect_stdout(sys.stderr):
        yield print


def document(value: Any) -> str:
    """A JSON document as the verbs print it: indented, keys in the order built."""
    return json.dumps(value, indent=2, default=str)
