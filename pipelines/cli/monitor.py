"""`shipyard monitor [SPEC...] [--env ENV] [--window 1h]`: check live traffic (drift, output
shift, latency, errors, accuracy on feedback labels) and act on a breach as the spec says."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "check live traffic for drift and SLO breaches; alert, propose a retrain or roll back"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "paths",
        nargs="*",
        type=Path,
        metavar="SPEC",
        help="spec files or folders (default: specs/)",
    )
    parser.add_argument("--env", default="production", metavar="ENV", help="default: production")
    parser.add_argument(
        "--window", metavar="DURATION", help="traffic to read, e.g. 1h (default: monitoring.window)"
    )
    parser.add_argument("--format", choices=["text", "json"], default="text")
    parser.add_argument("--html", type=Path, metavar="FILE", help="also write an HTML report")
    parser.add_argument(
        "--feedback",
        type=Path,
        metavar="FILE",
        help="labels for live accuracy: a CSV/Parquet/JSONL of the input columns and the label",
    )
    parser.add_argument(
        "--no-action", action="store_true", help="report breaches but take no action"
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.core.workspace import Workspace
    from pipelines.monitor.engine import monitor
    from pipelines.monitor.report import render_json, render_text
    from pipelines.monitor.run import Options

    options = Options(
        env=args.env, window=args.window, feedback=args.feedback, act=not args.no_action
    )
    say = print if args.format == "text" else (lambda _: None)
    result = monitor(args.paths, Workspace.at(args.root), options, say)
    if args.html is not None:
        from pipelines.monitor.html import render_html

        args.html.parent.mkdir(parents=True, exist_ok=True)
        args.html.write_text(render_html(result), encoding="utf-8")
    print(render_json(result) if args.format == "json" else render_text(result))
    return result.exit_code
