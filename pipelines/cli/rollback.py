"""`shipyard rollback SPEC --env ENV [--to VERSION]`: restore the last good (or a named) version."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "restore the last good release of an environment (or --to a model version)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the spec file")
    parser.add_argument("--env", required=True, metavar="ENV")
    parser.add_argument("--to", metavar="VERSION", help="the model version to restore, e.g. 3")


def run(args: argparse.Namespace) -> int:
    from pipelines.core.workspace import Workspace
    from pipelines.release.rollback import rollback

    print(rollback(args.spec, args.env, args.to, Workspace.at(args.root), say=print))
    return 0
