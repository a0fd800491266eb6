"""`shipyard version`: the versions of Shipyard and of the real parts it drives."""

from __future__ import annotations

import argparse

HELP = "print the versions of Shipyard, the Pulumi engine and the host tools it drives"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    del parser


def run(args: argparse.Namespace) -> int:
    from pipelines.core.tools import report_tools

    lines, ok = report_tools()
    print("\n".join(lines))
    return 0 if ok else 2
