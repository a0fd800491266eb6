"""`shipyard promote|abort|pause|resume|retry SPEC --env ENV`: an operator's command to an
environment's rollout, as `kubectl argo rollouts promote|abort|pause|retry` give one."""

from __future__ import annotations

import argparse
import getpass
from pathlib import Path

HELP = "an operator's command to a rollout: promote, abort, pause, resume or retry"
HELPS = {
    "promote": "skip the remaining steps of a canary: promote it now",
    "abort": "roll a canary back now: all traffic on stable",
    "pause": "hold a canary at its step (analysis goes on)",
    "resume": "let a paused canary go on",
    "retry": "apply a spec again after a failed apply",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", type=Path, help="the spec file")
    parser.add_argument("--env", required=True, metavar="ENV")
    parser.add_argument(
        "--by", default=None, help="who gives the command, for the ledger (default: your login)"
    )
    parser.add_argument(
        "--wait",
        type=float,
        default=30.0,
        metavar="SECONDS",
        help="how long to wait for the rollout's run to answer (default: 30)",
    )
    parser.epilog = (
        "Through the agent's API when SHIPYARD_AGENT_URL is set (with SHIPYARD_AGENT_TOKEN); "
        "else through the state store, to whichever run drives the rollout, or directly "
        "when none does."
    )


def run(args: argparse.Namespace) -> int:
    from pipelines.core.workspace import Workspace
    from pipelines.release.control import Command
    from pipelines.release.operate import operate

    command = Command(args.verb)
    by = args.by or _login()
    ws = Workspace.at(args.root)
    from pipelines.agent.client import agent_url, ask_agent

    url = agent_url()
    if url is not None:
        answer = ask_agent(url, ws, args.spec, args.env, command, by)
        print(answer)
        return 0
    done = operate(ws, args.spec, args.env, command, by, print, args.wait)
    print(f"{done.answer} (through {done.through})")
    return 0


def _login() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "an operator"
