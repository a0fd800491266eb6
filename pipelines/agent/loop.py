"""`shipyard agent`: pull the repository, apply what each new commit changed, heal drift,
run the monitors, and take operators' commands — every interval, as the one leader of its
environments.

One tick, in order:
1. leadership is held (an agent waits as a standby until it can take it: the lock is in the
   state store, so the leader's death frees it — at once on PostgreSQL; on SQLite as soon as
   its process is provably gone);
2. the branch is fetched; a canary a dead run left (the agent killed, another leader, a CI
   job) is resumed: the spec at the commit it was started from is applied again, and that
   apply takes the canary up after the last step it reached (release/environment.py) — or,
   when it cannot (another release, its canary gone or not answering), puts all traffic back
   on stable; then every environment of every spec at the head is observed and what drifted
   is healed (agent/reconcile.py, agent/heal.py);
3. each commit after the last one applied, oldest first, is checked out and the specs it
   changed are applied to the agent's environments (a spec whose apply rolled back or was
   blocked is marked failed at that commit and is not applied again until a new commit
   changes it or an operator says `retry`), then the retries operators asked for;
4. each spec's `monitoring` runs when its window has passed since the last run.
A canary started by the agent runs inside the tick (operators' promote/abort/pause reach it
through the state store, release/control.py).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pipelines.agent.metrics import AgentMetrics
from pipelines.agent.notify import Event, Notifier
from pipelines.agent.source import Source, share_dvc_cache, shared_environment
from pipelines.audit.ledger import LedgerKind, ledger_of
from pipelines.core.errors import USER_ERRORS
from pipelines.core.outcomes import Outcome
from pipelines.core.output import Say
from pipelines.core.specs import load_valid
from pipelines.core.workspace import Workspace
from pipelines.release.context import ApplyOptions, ReleaseContext
from pipelines.release.control import Command, current
from pipelines.release.outcome import ApplyResult, EnvOutcome
from pipelines.state.locks import LockTimeoutError, hold
from pipelines.state.store import Store, open_store
from validators.spec.model import ModelDeployment

AGENT = "agent"  # the `spec` under which the agent keeps its own values in the state store
APPLIED = "applied"  # ... the last commit it applied to an environment
FAILED = "failed"  # the value of (spec, env) that marks its apply failed at a commit


@dataclass(frozen=True)
class AgentOptions:
    repo: str  # a Git URL or path; the project's own checkout by default
    branch: str = "main"
    envs: tuple[str, ...] = ()  # the environments it owns; empty: every environment
    interval: float = 30.0
    approvals: str = "local"
    traffic_rps: float = 0.0  # synthetic traffic during canaries (demo, tests)
    ticks: int = 0  # stop after this many ticks as leader (0: run until stopped)


@dataclass
class Tick:
    """What one tick did, for the log, /status and /metrics."""

    head: str = ""
    applied: list[str] = field(default_factory=list)  # commits applied
    outcomes: dict[str, str] = field(default_factory=dict)  # "spec/env" -> outcome
    healed: list[str] = field(default_factory=list)  # "spec/env: heal — why"
    monitored: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    seconds: float = 0.0


class Agent:
    def __init__(
        self, home: Workspace, options: AgentOptions, say: Say, notifier: Notifier | None = None
    ) -> None:
        self.home, self.options, self.say = home, options, say
        self.notifier = notifier or Notifier(None)
        self.wake = threading.Event()  # set by the webhook: a push, tick now
        self.stopped = threading.Event()
        self.leader = False
        self.ticks: list[Tick] = []
        self.specs: list[tuple[ModelDeployment, Path]] = []  # at the head, as last read
        self.metrics = AgentMetrics()
        self._lock = threading.Lock()
        self._last_monitor: dict[tuple[str, str], float] = {}
        name = "-".join(options.envs) or "all"
        self.source = Source(options.repo, options.branch, home.state / "agent" / name)
        self._prepare()
        self.store: Store = open_store(os.environ["SHIPYARD_STATE_URL"])

    # --- running ---------------------------------------------------------------------------

    def _prepare(self) -> None:
        """Every apply of the checkout uses the agent project's state (agent/source.py)."""
        os.environ.update(shared_environment(self.home, dict(os.environ)))
        passphrase = os.environ.get("PULUMI_CONFIG_PASSPHRASE_FILE")
        if passphrase:
            from stacks.engine.automation import ensure_passphrase

            ensure_passphrase(Path(passphrase))

    def run(self) -> None:
        """Stand by until leader, then tick every interval (or at once on a webhook) until
        stopped or `options.ticks` ticks are done."""
        with self._leadership():
            self.leader = True
            self.metrics.leader.set(1)
            self._record(LedgerKind.AGENT, event="leader", envs=list(self.options.envs))
            try:
                done = 0
                while not self.stopped.is_set():
                    self.tick()
                    done += 1
                    if self.options.ticks and done >= self.options.ticks:
                        break
                    self.wake.wait(self.options.interval)
                    self.wake.clear()
            finally:
                self.leader = False
                self.metrics.leader.set(0)

    @contextlib.contextmanager
    def _leadership(self) -> Iterator[None]:
        names = [f"agent/{env}" for env in sorted(self.options.envs)] or ["agent/*"]
        with contextlib.ExitStack() as held:
            for name in names:
                told = False
                while True:
                    if self.stopped.is_set():
                        raise SystemExit(0)
                    try:
                        held.enter_context(
                            hold(self.store, name, AGENT, self.options.interval, _quiet)
                        )
                        break
                    except LockTimeoutError as waiting:
                        if not told:
                            self.say(f"standing by: {waiting.message}")
                            told = True
                self.say(f"leader of {name.removeprefix('agent/')}")
            yield

    def tick(self) -> Tick:
        started, tick = time.monotonic(), Tick()
        try:
            tick.head = self.source.sync()
            # applies run in the checkout, as a CI job's do (the files they name are its own)
            os.chdir(self.source.checkout)
            head_specs = self._head_specs(tick)
            self._resume_left(head_specs, tick)  # first: a dead run's canary is taken up
            self._heal(head_specs, tick)
            self._apply_new(tick)
            self._retries(head_specs, tick)
            self._monitor(head_specs, tick)
        except USER_ERRORS as exc:  # the repository or the store is unreachable: next tick
            tick.problems.append(str(exc))
            self.say(f"agent: {exc}")
        except Exception as exc:  # a bug: said loudly and kept, but the loop goes on
            tick.problems.append(f"internal error: {type(exc).__name__}: {exc}")
            self.say(
                f"agent: internal error in this tick ({type(exc).__name__}: {exc}); "
                f"the traceback is in {self._keep_traceback()}; this is a bug in Shipyard"
            )
        tick.seconds = time.monotonic() - started
        with self._lock:
            self.ticks = [*self.ticks[-19:], tick]
        self.metrics.ticked(tick.seconds, len(tick.problems))
        return tick

    # --- applying --------------------------------------------------------------------------

    def _env_names(self) -> tuple[str | None, ...]:
        return self.options.envs or (None,)

    def applied(self) -> str | None:
        """The last commit applied to this agent's environments (None before the first)."""
        found = self.store.value(AGENT, self._key(), APPLIED)
        return str(found["commit"]) if found else None

    def _key(self) -> str:
        return ",".join(self.options.envs) or "*"

    def _apply_new(self, tick: Tick) -> None:
        since = self.applied()
        commits = self.source.commits(since, tick.head)
        before = since if since is not None and self.source.has(since) else None
        for sha in commits:
            self._apply_commit(before, sha, tick)
            before = sha
            self.store.put_value(AGENT, self._key(), APPLIED, {"commit": sha, "ts": time.time()})
            tick.applied.append(sha)

    def _apply_commit(self, before: str | None, sha: str, tick: Tick) -> None:
        from pipelines.release.project import apply_paths

        self.source.move_to(sha)
        share_dvc_cache(self.source.checkout, self.home.root)
        root = self.source.checkout
        paths = [root / c.path for c in self.source.changed(before, sha) if c.after is not None]
        if not paths:
            return
        subject = self.source.subject(sha)
        self.say(f"agent: {sha[:12]} {subject}: {', '.join(p.name for p in paths)}")
        changed = [str(p.relative_to(root)) for p in paths]
        self._record(LedgerKind.AGENT, event="apply", commit=sha, subject=subject, specs=changed)
        try:
            specs = load_valid(paths, root)
        except USER_ERRORS as exc:
            tick.problems.append(f"{sha[:12]}: {exc}")
            self._record(LedgerKind.AGENT, event="invalid", commit=sha, problem=str(exc))
            return
        for env in self._env_names():
            mine = [
                (s, f) for s, f in specs if env is None or env in [e.name for e in s.environments]
            ]
            # a spec this commit already failed with (its resumed canary rolled back) is done
            chosen = [f for s, f in mine if not self._failed_at(s, env, sha)]
            if not chosen:
                continue
            for spec, file in mine:
                if file in chosen:
                    self._clear_failed(spec, env)
            options = self._apply_options(env, sha)
            try:
                result = apply_paths(chosen, root, options, self.say)
            except USER_ERRORS as exc:
                tick.problems.append(f"{sha[:12]}: {exc}")
                self._record(LedgerKind.AGENT, event="failed", commit=sha, problem=str(exc))
                continue
            self._judge_all(result, sha, tick)

    def _apply_options(self, env: str | None, sha: str) -> ApplyOptions:
        return ApplyOptions(
            only_env=env,
            head=sha,
            approvals=self.options.approvals,
            traffic_rps=self.options.traffic_rps,
            lock_timeout=max(self.options.interval, 60.0),
        )

    def _judge_all(self, result: ApplyResult, sha: str, tick: Tick) -> None:
        for outcome in result.specs:
            for env_outcome in outcome.envs:
                tick.outcomes[f"{outcome.spec}/{env_outcome.env}"] = str(env_outcome.outcome)
                self._judge(outcome.spec, env_outcome.env, env_outcome, sha)

    def _judge(self, spec: str, env: str, outcome: EnvOutcome, sha: str) -> None:
        """Mark a failed apply, so it is not retried in a loop; tell the team."""
        self.metrics.outcome(spec, env, str(outcome.outcome))
        if outcome.outcome.ok:
            return
        mark = {"commit": sha, "outcome": str(outcome.outcome), "detail": outcome.detail}
        self.store.put_value(spec, env, FAILED, mark)
        if outcome.outcome == Outcome.ROLLED_BACK:
            event, details = Event.ROLLBACK, {"reason": outcome.detail}
            details.update(model=outcome.version, restored=outcome.restored or "")
            details["proposal"] = self.publish_proposal(spec, env)
        elif self._waits_for_approval(spec, env):
            event, details = Event.APPROVAL_NEEDED, {"model": outcome.version}
            details["approvers"] = outcome.detail
        else:  # refused (signatures) or blocked by its gates: the ledger and the log say why
            return
        self._notify(event, {"spec": spec, "env": env, **details})

    def _approved_since(self, spec: ModelDeployment, file: Path, env: str) -> bool:
        """Whether (spec, env) was blocked waiting for approvals that the spec file at the
        head now has (given with `shipyard approve`, or reviews on GitHub)."""
        from pipelines.release.apply import approval_check

        name = spec.metadata.name
        failed = self.failed(name, env)
        if not failed or failed.get("outcome") != str(Outcome.BLOCKED):
            return False
        if not self._waits_for_approval(name, env):
            return False
        environment = next(e for e in spec.environments if e.name == env)
        try:
            check = approval_check(self._context(spec, file), [environment])
        except USER_ERRORS as exc:  # GitHub unreachable: asked again next interval
            self.say(f"agent: the approvals of {name}/{env} could not be read: {exc}")
            return False
        missing, _ = check.missing(environment)
        return not missing

    def _waits_for_approval(self, spec: str, env: str) -> bool:
        """Whether the environment's newest block is for approvals (apply records the spec
        digest they must bind to), not a refusal."""
        kinds = (LedgerKind.BLOCKED, LedgerKind.REFUSED)
        last = ledger_of(self.home).last(spec, env, kinds)
        return last is not None and last.kind == LedgerKind.BLOCKED and "digest" in last.details

    def publish_proposal(self, spec: str, env: str) -> str:
        """Push the revert branch apply proposed (in the agent's checkout) to the repository,
        so the team sees it and can merge it; what became of it, in one line."""
        entries = list(ledger_of(self.home).entries(spec, kinds=(LedgerKind.PROPOSAL,)))
        branch = next((e.details.get("branch") for e in reversed(entries) if e.env == env), None)
        if not branch:
            return "no revert branch (see the patch under .shipyard/proposals/)"
        try:
            self.source.push(str(branch))
        except USER_ERRORS as exc:
            self.say(f"agent: the revert branch {branch} was not pushed: {exc}")
            return f"branch {branch} in the agent's checkout (not pushed: {exc})"
        self.say(f"agent: pushed the revert branch {branch} to {self.options.repo}")
        pushed = f"branch {branch} pushed to {self.options.repo}"
        if not (os.environ.get("GITHUB_TOKEN") and os.environ.get("GITHUB_REPOSITORY")):
            return pushed
        from pipelines.approvals.sources import GitHub

        title = f"Revert {spec} in {env}: its release was rolled back"
        body = (
            f"`shipyard agent` rolled `{spec}` back in `{env}` and proposes this change, "
            f"which brings the spec back in line with what runs (see `shipyard explain "
            f"{spec} --env {env}`)."
        )
        try:
            url = GitHub.from_env().open_pull_request(str(branch), self.options.branch, title, body)
        except USER_ERRORS as exc:
            self.say(f"agent: no pull request for {branch}: {exc}")
            return f"{pushed} (no pull request: {exc})"
        self.say(f"agent: opened {url}")
        return f"{pushed}; pull request {url}"

    def _clear_failed(self, spec: ModelDeployment, env: str | None) -> None:
        for name in [env] if env else [e.name for e in spec.environments]:
            self.store.put_value(spec.metadata.name, name, FAILED, {})

    def _failed_at(self, spec: ModelDeployment, env: str | None, sha: str) -> bool:
        names = [env] if env else [e.name for e in spec.environments]
        for name in names:
            mark = self.failed(spec.metadata.name, name)
            if mark and mark.get("commit") == sha:
                self.say(f"agent: {spec.metadata.name}/{name} failed at {sha[:12]} already")
                return True
        return False

    def failed(self, spec: str, env: str) -> dict[str, Any] | None:
        return self.store.value(spec, env, FAILED) or None

    # --- the specs at the head -------------------------------------------------------------

    def _head_specs(self, tick: Tick) -> list[tuple[ModelDeployment, Path]]:
        """The valid specs at the head (the checkout is there once every commit is applied)."""
        from pipelines.core.specs import SPECS_DIR

        if self.source.at() != tick.head:
            self.source.move_to(tick.head)
        folder = self.source.checkout / SPECS_DIR
        try:
            found = load_valid([folder], self.source.checkout) if folder.is_dir() else []
        except USER_ERRORS as exc:
            tick.problems.append(str(exc))
            found = []
        with self._lock:
            self.specs = found
        return found

    def owned(self, spec: ModelDeployment) -> list[str]:
        names = [e.name for e in spec.environments]
        return [n for n in names if not self.options.envs or n in self.options.envs]

    def _context(self, spec: ModelDeployment, file: Path) -> ReleaseContext:
        ws = Workspace.at(self.source.checkout)
        return ReleaseContext(spec, file, ws, self._apply_options(None, ""), self.say)

    def _retries(self, specs: list[tuple[ModelDeployment, Path]], tick: Tick) -> None:
        """An operator's `retry` of (spec, env), or the approvals it waited for given since:
        apply that spec at the head again."""
        from pipelines.release.project import apply_paths

        for spec, file in specs:
            for env in self.owned(spec):
                name = spec.metadata.name
                if self._approved_since(spec, file, env):
                    self.say(f"agent: {name}/{env} has the approvals it waited for: applying it")
                    self.store.put_value(name, env, FAILED, {})
                    options = self._apply_options(env, tick.head)
                    try:
                        result = apply_paths([file], self.source.checkout, options, self.say)
                        self._judge_all(result, tick.head, tick)
                    except USER_ERRORS as exc:
                        tick.problems.append(f"{name}/{env}: {exc}")
                    continue
                asked = current(self.store, name, env)
                if asked is None or asked.command != Command.RETRY or asked.done is not None:
                    continue
                self.say(f"agent: retry of {name}/{env} asked by {asked.by}")
                self.store.put_value(name, env, FAILED, {})
                ledger_of(self.home).append(
                    LedgerKind.OPERATOR, name, env, command="retry", by=asked.by
                )
                try:
                    result = apply_paths(
                        [file], self.source.checkout, self._apply_options(env, tick.head), self.say
                    )
                    done = "; ".join(f"{e.env}: {e.outcome}" for s in result.specs for e in s.envs)
                    self._judge_all(result, tick.head, tick)
                except USER_ERRORS as exc:
                    done = f"failed: {exc}"
                record = {**asked.record(), "done": f"retried at {tick.head[:12]}: {done}"}
                self.store.put_value(name, env, "control", record)

    # --- healing and monitoring ------------------------------------------------------------

    def _resume_left(self, specs: list[tuple[ModelDeployment, Path]], tick: Tick) -> None:
        """A rollout record nobody drives, with the commit and spec file it started from:
        apply that spec at that commit again (it resumes the canary, or recovers it)."""
        from pipelines.release.project import apply_paths
        from pipelines.state.locks import live_holder

        for spec, _ in specs:
            name = spec.metadata.name
            for env in self.owned(spec):
                left = self.store.rollout(name, env)
                if not left or live_holder(self.store, f"{name}/{env}") is not None:
                    continue  # nothing left, or its run is alive and drives it
                sha, path = str(left.get("commit") or ""), str(left.get("spec_file") or "")
                if not (sha and path and self.source.has(sha)):
                    continue  # from elsewhere: the heal puts traffic back on stable
                self.say(
                    f"agent: the rollout of {name}/{env} from {sha[:12]} was left by "
                    f"{left.get('owner')}: taking it up again"
                )
                self.source.move_to(sha)
                share_dvc_cache(self.source.checkout, self.home.root)
                file = self.source.checkout / path
                try:
                    if file.is_file():
                        options = self._apply_options(env, sha)
                        result = apply_paths([file], self.source.checkout, options, self.say)
                        self._judge_all(result, sha, tick)
                except USER_ERRORS as exc:
                    tick.problems.append(f"resuming {name}/{env}: {exc}")
                finally:
                    self.source.move_to(tick.head)

    def _heal(self, specs: list[tuple[ModelDeployment, Path]], tick: Tick) -> None:
        from pipelines.agent.heal import look

        for spec, file in specs:
            ctx = self._context(spec, file)
            for env in self.owned(spec):
                healed = look(ctx, env)
                for finding in healed.findings:
                    tick.healed.append(
                        f"{spec.metadata.name}/{env}: {finding.heal} — {finding.why}"
                    )
                    self.metrics.healed(spec.metadata.name, env, finding.heal.value)
                tick.problems.extend(f"{spec.metadata.name}/{env}: {p}" for p in healed.problems)

    def _monitor(self, specs: list[tuple[ModelDeployment, Path]], tick: Tick) -> None:
        from pipelines.monitor.engine import monitor, window_seconds
        from pipelines.monitor.run import Options

        now = time.time()
        ws = Workspace.at(self.source.checkout)
        for spec, file in specs:
            if spec.monitoring is None:
                continue
            for env in self.owned(spec):
                key = (spec.metadata.name, env)
                if now - self._last_monitor.get(key, 0.0) < window_seconds(spec, None):
                    continue
                self._last_monitor[key] = now
                try:
                    result = monitor([file], ws, Options(env=env), self.say)
                except USER_ERRORS as exc:
                    tick.problems.append(f"monitor {key[0]}/{env}: {exc}")
                    continue
                tick.monitored.append(f"{key[0]}/{env}")
                for run in result.runs:
                    if run.breached:
                        what = ", ".join(r.gate for r in run.breached)
                        acted = "; ".join(f"{a.action}: {a.detail}" for a in run.actions)
                        breach = {"spec": key[0], "env": env, "breached": what, "action": acted}
                        self._notify(Event.BREACH, breach)

    # --- reporting -------------------------------------------------------------------------

    def _keep_traceback(self) -> Path:
        import traceback

        log = self.home.state / "logs" / "agent-error.txt"
        log.parent.mkdir(parents=True, exist_ok=True)
        with log.open("a", encoding="utf-8") as out:
            out.write(f"--- {time.strftime('%Y-%m-%dT%H:%M:%S')}\n{traceback.format_exc()}\n")
        return log

    def _record(self, kind: LedgerKind, **details: Any) -> None:
        ledger_of(self.home).append(kind, AGENT, self._key(), **details)

    def _notify(self, event: Event, details: dict[str, Any]) -> None:
        problem = self.notifier.send(event, details)
        if problem:
            self.say(f"agent: notification not sent: {problem}")

    def head_specs(self) -> list[tuple[ModelDeployment, Path]]:
        """The specs at the head, as the last tick read them."""
        with self._lock:
            return list(self.specs)

    def last(self) -> Tick | None:
        with self._lock:
            return self.ticks[-1] if self.ticks else None


def _quiet(_: str) -> None:
    return None
