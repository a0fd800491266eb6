"""The `shipyard` command run in-process (as `pipelines.cli.main`), its output captured, and
one verb's parser on its own."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from types import ModuleType

import pytest

from pipelines.cli import main


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str


def shipyard(capsys: pytest.CaptureFixture[str], *argv: str) -> Ran:
    """`shipyard ARGV...`: its exit code and what it printed."""
    capsys.readouterr()
    code = main(list(argv))
    captured = capsys.readouterr()
    return Ran(code, captured.out, captured.err)


def parse(verb: ModuleType, *argv: str) -> argparse.Namespace:
    """ARGV as the verb's own arguments (what `shipyard VERB ARGV...` passes to its `run`)."""
    parser = argparse.ArgumentParser(prog=f"shipyard {verb.__name__.rsplit('.', 1)[-1]}")
    verb.add_arguments(parser)
    return parser.parse_args(list(argv))
