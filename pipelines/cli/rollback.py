"""`shipyard rollback SPEC --env ENV [--to VERSION]`: restore the last good (or a named) version."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.core.output import FORMATS

HELP = "restore the last good release of an environment (or --to a model version)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the spec file")
    parser.add_argument("--env", required=True, metavar="ENV")
    parser.add_argument("--to", metavar="VERSION", help="the model version to restore, e.g. 3")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), or one JSON document of what now serves on stdout (the "
        "progress lines then go to stderr)",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.core.output import document, progress
    from pipelines.core.workspace import Workspace
    from pipelines.release.rollback import rollback, rollback_json

    with progress(args.format) as say:  # json: the progress lines go to stderr
        result = rollback(args.spec, args.env, args.to, Workspace.at(args.root), say=say)
    print(document(rollback_json(result)) if args.format == "json" else result.message)
    return 0
