"""`shipyard plan [SPEC...]`: run the specs' offline gates and report them."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "validate specs and run their offline gates (data, model, champion, fairness, drift)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="SPEC",
        help="spec files or folders (default: specs/)",
    )
    parser.add_argument("--format", choices=["text", "markdown", "json"], default="text")
    parser.add_argument(
        "--html",
        type=Path,
        metavar="FILE",
        help="also write a self-contained HTML report with plots",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute every gate instead of reusing cached results",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.plan import plan_specs
    from pipelines.report.plan import write_plan
    from pipelines.workspace import Workspace

    result = plan_specs(args.paths, Workspace.at(args.root), use_cache=not args.no_cache)
    print(write_plan(result.runs, args.format, args.html))
    return result.exit_code
