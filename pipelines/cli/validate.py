"""`shipyard validate [PATH...]`: check specs and report every problem at its line."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "check specs (default: specs/) and report every problem at file:line:column"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="PATH",
        help="spec files or folders (default: specs/)",
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")


def run(args: argparse.Namespace) -> int:
    from pipelines.core.specs import validate_paths
    from pipelines.report.findings import render_json, render_text

    result = validate_paths(args.paths, root=args.root)
    print(render_json(result.reports) if args.format == "json" else render_text(result.reports))
    return result.exit_code
