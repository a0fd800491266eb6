"""`shipyard apply [SPEC...]`: take specs through their environments (gates, build,
provision, serving gates, approvals, canary) — promote or roll back automatically."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from pipelines.core.output import FORMATS, Say

if TYPE_CHECKING:
    from pipelines.release.outcome import ApplyResult

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
        "--approvals",
        choices=["local", "github"],
        default="local",
        help="where approvals come from: records of `shipyard approve` (local), or the "
        "reviews of the pull request that brought --head (github; needs GITHUB_TOKEN and "
        "GITHUB_REPOSITORY)",
    )
    parser.add_argument(
        "--base",
        metavar="REV",
        help="apply only the specs changed since this Git revision (CI: the previous commit)",
    )
    parser.add_argument(
        "--head",
        metavar="REV",
        help="with --base: the revision being applied, checked out (default: HEAD)",
    )
    parser.add_argument(
        "--env",
        metavar="NAME",
        help="apply to this environment only (CI runs one job per GitHub Environment)",
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
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), or one JSON document of how each spec and environment ended "
        "on stdout (the progress lines then go to stderr)",
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.core.output import document, progress
    from pipelines.release.outcome import apply_json

    with progress(args.format) as say:  # json: the progress lines go to stderr
        result = _apply(args, say)
    if args.format == "json":
        print(document(apply_json(result)))
    return result.exit_code


def _apply(args: argparse.Namespace, say: Say) -> ApplyResult:
    from pipelines.core.errors import UsageError
    from pipelines.release.context import ApplyOptions
    from pipelines.release.outcome import ApplyResult
    from pipelines.release.project import apply_paths, changed_paths

    options = ApplyOptions(
        tuple(args.approved_by),
        args.lock_timeout,
        args.traffic,
        approvals=args.approvals,
        head=args.head,
        only_env=args.env,
    )
    paths = args.paths
    if args.base is not None:
        if paths:
            raise UsageError("give either SPEC paths or --base, not both")
        paths = changed_paths(args.root.resolve(), args.base, args.head or "HEAD", say)
        _require_checked_out(args.root.resolve(), args.head)
        if not paths:
            say(f"no spec added or changed since {args.base}: nothing to apply")
            return ApplyResult([])
    elif args.head is not None and args.approvals != "github":
        raise UsageError("--head needs --base (or --approvals github)")
    return apply_paths(paths, args.root, options, say=say)


def _require_checked_out(root: Path, head: str | None) -> None:
    """Apply deploys the files in the working tree: they must be `head`'s."""
    from pipelines.core.errors import UsageError
    from pipelines.core.git import resolve

    if head is not None and resolve(root, head) != resolve(root, "HEAD"):
        raise UsageError(
            f"--head {head} is not the commit checked out; apply deploys the working tree",
            hint=f"git checkout {head} first (CI checks out the pushed commit)",
        )
