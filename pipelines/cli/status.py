"""`shipyard status`: per spec and environment, what runs, its traffic and health."""

from __future__ import annotations

import argparse

HELP = "show per spec and environment: version, weights, health, last run"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    from pipelines.audit.status import status_lines

    print("\n".join(status_lines(args.root)))
    return 0
