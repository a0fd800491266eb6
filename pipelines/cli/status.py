"""`shipyard status`: per spec and environment, what runs, its traffic and health, its rollout
in flight; `--watch` redraws it until Ctrl-C."""

from __future__ import annotations

import argparse
import sys

from pipelines.core.output import FORMATS

HELP = "show per spec and environment: version, weights, health, rollout, last run"
EPILOG = """\
exit codes:
  0  every deployed environment's stable slot is ready (environments never deployed do
     not count)
  1  an environment is down: its stable slot fails its readiness probe (named on the
     last line; in JSON, "healthy" is false and its "phase" is "Degraded")
  2  bad usage, or a project that cannot be read
--watch exits 0 when stopped with Ctrl-C; with --count N, as above for the last frame."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.epilog = EPILOG
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default), or one JSON document: {services: [...], healthy}",
    )
    parser.add_argument(
        "--watch",
        action="store_true",
        help="redraw every --interval until Ctrl-C (off a terminal: one frame after another)",
    )
    parser.add_argument(
        "--interval",
        type=_seconds,
        metavar="SECONDS",
        help="with --watch: seconds between frames (default: 2)",
    )
    parser.add_argument(
        "--count", type=_frames, metavar="N", help="with --watch: stop after N frames"
    )


def _seconds(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not above 0")
    return value


def _frames(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} is not 1 or more")
    return value


def run(args: argparse.Namespace) -> int:
    from pipelines.core.errors import UsageError

    if not args.watch:
        if args.interval is not None or args.count is not None:
            raise UsageError("--interval and --count go with --watch")
        from pipelines.audit.status import show_status

        text, code = show_status(args.root, args.format)
        print(text)
        return code
    if args.format != "text":
        raise UsageError(
            "--watch draws a live table; for documents, run `shipyard status --format json` "
            "once per poll"
        )
    from pipelines.audit.watch import DEFAULT_INTERVAL, watch

    return watch(args.root, args.interval or DEFAULT_INTERVAL, args.count, sys.stdout)
