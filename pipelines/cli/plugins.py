"""`shipyard plugins [SPEC...]`: install the provider plugins the specs' cloud targets need."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "install the Pulumi provider plugins the specs' kubernetes/aws environments need"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "specs", nargs="*", type=Path, metavar="SPEC", help="spec files (default: specs/)"
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.build.plugins import install
    from pipelines.core.workspace import Workspace

    install(args.specs, Workspace.at(args.root), print)
    return 0
