"""`shipyard explain SPEC --env ENV`: what runs in an environment and every earlier release —
commit, spec digest, model run and training data, data revision, Bento, gates, approvers."""

from __future__ import annotations

import argparse
from pathlib import Path

from pipelines.core.output import FORMATS

HELP = "explain what runs in an environment and every past release, from the ledger"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, metavar="SPEC", help="the spec file")
    parser.add_argument("--env", required=True, metavar="NAME", help="the environment")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), or one JSON document: {spec, env, running, releases: [...]}",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.audit.history import explain_spec
    from pipelines.core.workspace import Workspace

    print(explain_spec(Workspace.at(args.root), args.spec, args.env, args.format))
    return 0
