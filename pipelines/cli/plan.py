"""`shipyard plan [SPEC...]`: run the specs' offline gates and report them.
`shipyard plan --base REV [--head REV]`: the plan of a change (a pull request)."""

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
        "--base",
        metavar="REV",
        help="plan the change from this Git revision (the pull request's base): only the "
        "specs it touches are evaluated",
    )
    parser.add_argument(
        "--head",
        metavar="REV",
        help="with --base: the revision to plan (default: the working tree)",
    )
    parser.add_argument(
        "--no-preview",
        action="store_true",
        help="with --base: skip the `pulumi preview` of each changing environment",
    )
    parser.add_argument(
        "--approvals",
        choices=["local", "github"],
        default="local",
        help="with --base: where waivers of failed gates come from: records of `shipyard "
        "approve --waive` (local), or `/waive GATE: reason` lines in the approving reviews of "
        "the pull request holding --head (github; needs GITHUB_TOKEN, GITHUB_REPOSITORY)",
    )
    parser.add_argument(
        "--no-cache",
        action="store_true",
        help="recompute every gate instead of reusing cached results",
    )


def run(args: argparse.Namespace) -> int:
    if args.base is not None or args.head is not None:
        return _run_change(args)
    from pipelines.core.workspace import Workspace
    from pipelines.plan.offline import plan_specs
    from pipelines.report.plan import write_plan

    result = plan_specs(args.paths, Workspace.at(args.root), use_cache=not args.no_cache)
    print(write_plan(result.runs, args.format, args.html))
    return result.exit_code


def _run_change(args: argparse.Namespace) -> int:
    from pipelines.core.errors import UsageError
    from pipelines.core.workspace import Workspace
    from pipelines.plan.change import plan_change
    from pipelines.report.changes import write_change_plan

    if args.base is None:
        raise UsageError("--head needs --base (the revision the change starts from)")
    if args.paths:
        raise UsageError("give either SPEC paths or --base, not both")
    result = plan_change(
        Workspace.at(args.root),
        args.base,
        args.head,
        preview=not args.no_preview,
        use_cache=not args.no_cache,
        approvals=args.approvals,
    )
    print(write_change_plan(result, args.format, args.html))
    return result.exit_code
