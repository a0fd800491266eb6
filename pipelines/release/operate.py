"""`shipyard promote|abort|pause|resume|retry SPEC --env ENV`: an operator's command to an
environment. When a live run drives its rollout (the agent, or a CI job), the command goes to
that run through the state store (release/control.py) and this waits for its answer. When
none does, it acts directly: `abort` takes out a canary a dead run left, `retry` applies the
spec again — unless an agent leads the environment, which then retries it at its next tick.
`promote`, `pause` and `resume` need a rollout in flight."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from pipelines.core.errors import UsageError
from pipelines.core.output import Say
from pipelines.core.workspace import Workspace
from pipelines.release.control import Command, request, wait_done
from pipelines.state.locks import live_holder
from validators.spec.model import ModelDeployment


@dataclass(frozen=True)
class Operated:
    answer: str  # what was done, in one line
    through: str  # "the run driving it (HOLDER)", "the agent", or "directly"


def operate(
    ws: Workspace,
    spec_file: Path,
    env: str,
    command: Command,
    by: str,
    say: Say,
    wait: float = 30.0,
) -> Operated:
    from pipelines.core.specs import load_spec
    from pipelines.core.targets import environment
    from pipelines.state.store import open_store

    spec = load_spec(spec_file, ws.root)
    environment(spec, env)  # a clear error when the spec has no such environment
    name = spec.metadata.name
    store = open_store(ws.state_url)
    driver = live_holder(store, f"{name}/{env}")
    if store.rollout(name, env) is not None and driver is not None:
        given = request(store, name, env, command, by)
        answer = wait_done(store, name, env, given, wait)
        through = f"the run driving it ({driver.describe()})"
        if answer is None:
            answer = f"{command} requested; {driver.what} has not answered within {wait:g}s"
        return Operated(answer, through)
    if command == Command.ABORT:
        from pipelines.release.rollback import rollback

        if store.rollout(name, env) is None and not _has_canary(ws, spec, env):
            raise UsageError(
                f"no rollout of {name} in {env} to abort",
                hint=f"to go back to an earlier release: shipyard rollback {spec_file} --env {env}",
            )
        return Operated(rollback(spec_file, env, None, ws, say).message, "directly")
    if command == Command.RETRY:
        return _retry(ws, spec_file, name, env, by, say)
    raise UsageError(
        f"no rollout of {name} in {env} is in flight: nothing to {command}",
        hint=f"see what runs: shipyard status; start one: shipyard apply {spec_file} --env {env}",
    )


def _has_canary(ws: Workspace, spec: ModelDeployment, env: str) -> bool:
    from pipelines.core.targets import target_for
    from stacks.target import Slot

    return Slot.CANARY in target_for(spec, env, ws).state().slots


def _retry(ws: Workspace, spec_file: Path, name: str, env: str, by: str, say: Say) -> Operated:
    from pipelines.state.store import open_store

    store = open_store(ws.state_url)
    agent = live_holder(store, f"agent/{env}") or live_holder(store, "agent/*")
    if agent is not None:
        request(store, name, env, Command.RETRY, by)
        return Operated(
            f"retry of {name}/{env} requested; the agent applies it at its next tick",
            f"the agent ({agent.describe()})",
        )
    from pipelines.release.context import ApplyOptions
    from pipelines.release.project import apply_paths

    result = apply_paths([spec_file], ws.root, ApplyOptions(only_env=env), say)
    ended = "; ".join(f"{e.env}: {e.outcome}" for s in result.specs for e in s.envs)
    return Operated(f"{name}/{env} applied again: {ended or 'nothing to do'}", "directly")
