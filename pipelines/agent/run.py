"""Starting an agent from the command line: its options checked (a clear error for a bad
interval or listen address, a missing repository), its API served when asked, and the loop
run until a signal stops it — a canary in flight then puts all traffic back on stable first
(core/signals.py), as any apply does."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.core.output import Say
from pipelines.core.workspace import Workspace


@dataclass(frozen=True)
class AgentArgs:
    root: Path
    repo: str | None
    branch: str
    envs: tuple[str, ...]
    interval: str
    listen: str | None
    approvals: str
    traffic_rps: float = 0.0
    ticks: int = 0


def listen_address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    if not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise UsageError(
            f"--listen {text}: not HOST:PORT", hint="e.g. --listen 127.0.0.1:8686 (port 0: any)"
        )
    return host, int(port)


def interval_seconds(text: str) -> float:
    from validators.spec.durations import parse_duration

    try:
        seconds = parse_duration(text)
    except ValueError as exc:
        raise UsageError(f"--interval {text}: {exc}", hint="e.g. --interval 30s or 2m") from None
    if seconds < 1:
        raise UsageError(f"--interval {text}: at least 1s", hint="e.g. --interval 30s")
    return seconds


def run_agent(args: AgentArgs, say: Say = print) -> int:
    from pipelines.agent.loop import Agent, AgentOptions
    from pipelines.agent.notify import Notifier

    home = Workspace.at(args.root)
    repo = args.repo or str(home.root)
    if args.repo is None and not (home.root / ".git").exists():
        raise UsageError(
            f"{home.root} is not a Git repository, and no --repo was given",
            hint="run the agent in a project's checkout, or name one: --repo URL",
        )
    options = AgentOptions(
        repo=repo,
        branch=args.branch,
        envs=args.envs,
        interval=interval_seconds(args.interval),
        approvals=args.approvals,
        traffic_rps=args.traffic_rps,
        ticks=args.ticks,
    )
    import os

    agent = Agent(home, options, say, Notifier.from_environ(os.environ))
    server = None
    if args.listen:
        from pipelines.agent.api import serve

        host, port = listen_address(args.listen)
        try:
            server = serve(agent, host, port)
        except OSError as exc:
            raise UsageError(f"--listen {args.listen}: {exc.strerror or exc}") from None
        bound_host, bound_port = str(server.server_address[0]), int(server.server_address[1])
        say(f"agent API on http://{bound_host}:{bound_port} (/status, /metrics, /webhook)")
    envs = ", ".join(options.envs) or "every environment"
    say(f"agent: following {repo} {options.branch} every {options.interval:g}s for {envs}")
    try:
        agent.run()
    finally:
        agent.stopped.set()
        if server is not None:
            server.shutdown()
    return 0
