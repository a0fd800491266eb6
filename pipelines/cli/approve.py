"""`shipyard approve SPEC --env ENV --as @WHO [--waive GATE --reason WHY]`: record an approval
(or a waiver of a failed offline gate) of this exact spec file (its Git blob digest), for applies
run without GitHub (`--approvals local`)."""

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
    parser.add_argument(
        "--waive",
        metavar="GATE",
        help="waive this failed offline gate (data, model, fairness, drift) instead of "
        "approving the deployment; needs a waiver rule in the environment and --reason",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.approvals.sources import approve_locally
    from pipelines.core.workspace import Workspace

    print(
        approve_locally(
            Workspace.at(args.root), args.spec, args.env, args.who, args.reason, args.waive
        )
    )
    return 0
