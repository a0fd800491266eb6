"""`shipyard agent`: a pull-based GitOps controller for this host's environments."""

from __future__ import annotations

import argparse

HELP = "follow a Git branch: apply each new commit, heal drift, monitor (docs/agent.md)"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--repo",
        metavar="URL",
        help="the repository to follow: a Git URL or path (default: this project's own)",
    )
    parser.add_argument("--branch", default="main", help="the branch to follow (default: main)")
    parser.add_argument(
        "--env",
        action="append",
        default=[],
        metavar="NAME",
        help="an environment this agent runs (repeatable; default: every environment)",
    )
    parser.add_argument(
        "--interval",
        default="30s",
        metavar="DURATION",
        help="how often to fetch and reconcile, e.g. 30s, 2m (default: 30s)",
    )
    parser.add_argument(
        "--listen",
        metavar="HOST:PORT",
        help="serve the API (/status, /metrics, /webhook, commands) there, e.g. 127.0.0.1:8686",
    )
    parser.add_argument(
        "--approvals",
        choices=("local", "github"),
        default="local",
        help="where approvals come from (default: local records of `shipyard approve`)",
    )
    parser.add_argument(
        "--traffic-rps",
        type=float,
        default=0.0,
        metavar="RPS",
        help="send synthetic traffic during canaries (demos; default: none)",
    )
    parser.add_argument(
        "--ticks", type=int, default=0, metavar="N", help="stop after N ticks as leader"
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.agent.run import AgentArgs, run_agent

    return run_agent(
        AgentArgs(
            root=args.root,
            repo=args.repo,
            branch=args.branch,
            envs=tuple(args.env),
            interval=args.interval,
            listen=args.listen,
            approvals=args.approvals,
            traffic_rps=args.traffic_rps,
            ticks=args.ticks,
        )
    )
