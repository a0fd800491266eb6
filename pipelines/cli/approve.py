"""`shipyard approve SPEC --env ENV --as @WHO`: record an approval of this exact spec file
(its Git blob digest), for applies run without GitHub (`--approvals local`)."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "approve a spec, as it is now, for an environment (local approval records)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, metavar="SPEC", help="the spec file approved")
    parser.add_argument("--env", required=True, metavar="NAME", help="the environment")
    parser.add_argument(
        "--as", dest="who", required=True, metavar="@WHO", help="who approves (a handle)"
    )
    parser.add_argument("--reason", default="", help="why (shown in the ledger)")


def run(args: argparse.Namespace) -> int:
    from pipelines.approval_sources import approve_locally
    from pipelines.workspace import Workspace

    print(approve_locally(Workspace.at(args.root), args.spec, args.env, args.who, args.reason))
    return 0
