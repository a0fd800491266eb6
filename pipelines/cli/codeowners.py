"""`shipyard codeowners [--check]`: keep .github/CODEOWNERS in step with the specs."""

from __future__ import annotations

import argparse

HELP = (
    "write .github/CODEOWNERS from the specs' owners and approvers (--check: only verify, "
    "exit 1 when stale)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--check",
        action="store_true",
        help="change nothing; exit 1 and show the differing lines when the file is stale",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.approvals.codeowners import sync_codeowners

    print(sync_codeowners(args.root, check=args.check))
    return 0
