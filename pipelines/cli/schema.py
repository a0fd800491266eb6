"""`shipyard schema`: print the ModelDeployment JSON Schema (for editors and other tools)."""

from __future__ import annotations

import argparse

HELP = "print the JSON Schema of the ModelDeployment spec"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    from validators.spec.schema import committed

    print(committed(), end="")
    return 0
