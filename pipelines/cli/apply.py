"""`shipyard apply [SPEC...]`: take specs through their environments (gates, build,
provision, serving gates, approvals, canary) — promote or roll back automatically."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "deploy specs through their environments with gates, canary and automatic rollback"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="SPEC",
        help="spec files or folders (default: specs/)",
    )
    parser.add_argument(
        "--approved-by",
        action="append",
        default=[],
        metavar="@WHO",
        help="a reviewer who approved the change (repeat; CI passes the PR's)",
    )
    parser.add_argument(
        "--lock-timeout",
        type=float,
        default=900,
        metavar="SECONDS",
        help="how long to wait for another apply on the same environment",
    )
    parser.add_argument(
        "--traffic",
        type=float,
        default=0,
        metavar="RPS",
        help="replay evaluation rows at this rate during canaries "
        "(synthetic traffic for demos and tests)",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.apply import ApplyOptions
    from pipelines.runs import apply_paths

    options = ApplyOptions(tuple(args.approved_by), args.lock_timeout, args.traffic)
    return apply_paths(args.paths, args.root, options, say=print).exit_code
