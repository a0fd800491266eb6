"""The supervisord daemon of one (spec, environment): config dir, socket, and the process."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    Resource,
    ResourceProvider,
    UpdateResult,
)

from stacks.local import supervisor as sv

# The daemon outlives the run that starts it (a CI job): it keeps none of that run's variables
# but these. On a self-hosted GitHub runner this also leaves out RUNNER_TRACKING_ID, by which
# the runner kills a job's processes when the job ends.
DAEMON_ENV = (
    *("PATH", "HOME", "LANG", "LC_ALL", "TZ", "TMPDIR", "USER", "LOGNAME"),
    # telemetry stays off in the servers too (pipelines/core/tool_env.py sets these)
    *("DO_NOT_TRACK", "BENTOML_DO_NOT_TRACK", "MLFLOW_DISABLE_TELEMETRY"),
)


def daemon_env(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment of the supervisord daemon (its servers inherit it): no secret, state
    URL or checkout path of the run that happened to start it."""
    return {k: v for k, v in environ.items() if k in DAEMON_ENV}


def _ensure(props: dict[str, Any]) -> dict[str, Any]:
    config_dir = Path(props["config_dir"])
    (config_dir / "programs").mkdir(parents=True, exist_ok=True)
    (config_dir / "logs").mkdir(exist_ok=True)
    conf = config_dir / "supervisord.conf"
    conf.write_text(sv.daemon_config(str(config_dir)), encoding="utf-8")
    if not sv.is_up(str(config_dir)):
        subprocess.run(
            [props["supervisord"], "-c", str(conf)],
            check=True,
            capture_output=True,
            cwd=config_dir,
            env=daemon_env(os.environ),
        )
        deadline = time.monotonic() + 30
        while not sv.is_up(str(config_dir)):
            if time.monotonic() > deadline:
                raise RuntimeError(f"supervisord did not start; see {config_dir}/supervisord.log")
            time.sleep(0.1)
    return {**props, "pid": sv.pid_of(str(config_dir)), "socket": sv.socket_path(str(config_dir))}


class SupervisordProvider(ResourceProvider):
    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        if not Path(str(news.get("config_dir", ""))).is_absolute():
            failures.append(CheckFailure("config_dir", "must be an absolute path"))
        if not Path(str(news.get("supervisord", ""))).is_file():
            failures.append(CheckFailure("supervisord", "must be the supervisord executable"))
        return CheckResult(news, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = ["config_dir"] if olds.get("config_dir") != news.get("config_dir") else []
        running = olds.get("pid") is not None
        changed = (
            bool(replaces) or not running or olds.get("supervisord") != news.get("supervisord")
        )
        return DiffResult(changes=changed, replaces=replaces, delete_before_replace=True)

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["config_dir"], outs=_ensure(props))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        if not Path(id_).is_dir():
            return ReadResult(id_="", outs={})
        outs = {**props, "pid": sv.pid_of(id_) if sv.is_up(id_) else None}
        return ReadResult(
            id_=id_,
            outs=outs,
            inputs={k: props[k] for k in ("config_dir", "supervisord") if k in props},
        )

    def update(self, _id: str, _olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        return UpdateResult(outs=_ensure(news))

    def delete(self, id_: str, _props: dict[str, Any]) -> None:
        sv.shutdown(id_)


class Supervisord(Resource, module="shipyard", name="Supervisord"):
    """A supervisord with its own config dir; programs are files in `<config_dir>/programs`."""

    config_dir: pulumi.Output[str]
    pid: pulumi.Output[int]

    def __init__(
        self,
        name: str,
        config_dir: str,
        supervisord: str,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {"config_dir": config_dir, "supervisord": supervisord, "pid": None, "socket": None}
        super().__init__(SupervisordProvider(), name, props, opts)
