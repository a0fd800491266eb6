"""nginx with weighted upstreams in front of the slots, run as a supervisord program."""

from __future__ import annotations

import time
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

from stacks.local import nginx
from stacks.local import supervisor as sv
from stacks.local.providers.bento_server import port_free

INPUTS = ("config_dir", "prefix", "nginx", "listen", "upstreams", "max_body")
PROGRAM = "nginx"


def _upstreams(props: dict[str, Any]) -> dict[str, dict[str, int]]:
    return {
        slot: {"port": int(u["port"]), "weight": int(u["weight"])}
        for slot, u in dict(props["upstreams"]).items()
    }


def _apply(props: dict[str, Any], running: bool) -> dict[str, Any]:
    listen, ups, body = int(props["listen"]), _upstreams(props), int(props["max_body"])
    nginx.write(props["prefix"], nginx.render(props["prefix"], listen, ups, body), props["nginx"])
    program = Path(props["config_dir"]) / "programs" / f"{PROGRAM}.conf"
    command = (
        f"{props['nginx']} -p {props['prefix']} -e {props['prefix']}/logs/error.log "
        f"-c {props['prefix']}/nginx.conf -g 'daemon off;'"
    )
    text = sv.program_config(PROGRAM, command, {}, props["prefix"], stopwait=30)
    retiring: list[int] = []
    if running and program.exists() and program.read_text() == text:
        retiring = nginx.reload(props["prefix"], props["nginx"])
    else:
        program.write_text(text, encoding="utf-8")
        sv.apply_programs(props["config_dir"])
    tag = nginx.digest(listen, ups, body)
    nginx.wait_for(listen, tag, retiring=retiring)
    return {
        **{k: props.get(k) for k in INPUTS},
        "upstreams": ups,
        "digest": tag,
        "endpoint": f"http://127.0.0.1:{listen}",
    }


class NginxSiteProvider(ResourceProvider):
    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        failures = []
        ups = dict(news.get("upstreams") or {})
        if not ups or not any(int(u.get("weight", 0)) > 0 for u in ups.values()):
            failures.append(CheckFailure("upstreams", "at least one slot needs a weight above 0"))
        if any(not 0 <= int(u.get("weight", -1)) <= 100 for u in ups.values()):
            failures.append(CheckFailure("upstreams", "weights must be within 0..100"))
        listen = int(news.get("listen", 0))
        ours = (Path(str(news.get("config_dir"))) / "programs" / f"{PROGRAM}.conf").exists()
        if listen != olds.get("listen") and not port_free(listen) and not ours:
            failures.append(CheckFailure("listen", f"port {listen} is already in use"))
        return CheckResult({**news, "listen": listen, "max_body": int(news["max_body"])}, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("prefix", "config_dir") if olds.get(k) != news.get(k)]
        changed = [k for k in INPUTS if olds.get(k) != news.get(k)]
        drifted = olds.get("digest") != nginx.digest(
            int(news["listen"]), _upstreams(news), int(news["max_body"])
        )
        return DiffResult(
            changes=bool(changed) or drifted, replaces=replaces, delete_before_replace=True
        )

    def create(self, props: dict[str, Any]) -> CreateResult:
        return CreateResult(id_=props["prefix"], outs=_apply(props, running=False))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        """The site as it is: a deleted or hand-edited config, or nginx not running, is drift."""
        on_disk = nginx.written(id_)
        if on_disk is None:
            return ReadResult(id_="", outs={})
        info = sv.process_info(props["config_dir"], PROGRAM) or {}
        live = nginx.serving(int(props["listen"])) if info.get("statename") == sv.RUNNING else None
        ups = {
            slot: {**u, "weight": int(on_disk["weights"].get(slot, u["weight"]))}
            for slot, u in _upstreams(props).items()
        }
        outs = {**props, "upstreams": ups, "digest": live or on_disk["digest"]}
        inputs = {**{k: props[k] for k in INPUTS if k in props}, "upstreams": ups}
        return ReadResult(id_=id_, outs=outs, inputs=inputs)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        running = sv.process_info(news["config_dir"], PROGRAM) is not None
        return UpdateResult(
            outs=_apply(news, running=running and olds.get("listen") == news["listen"])
        )

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        (Path(props["config_dir"]) / "programs" / f"{PROGRAM}.conf").unlink(missing_ok=True)
        if sv.is_up(props["config_dir"]):
            sv.apply_programs(props["config_dir"])
        deadline = time.monotonic() + 30
        while not port_free(int(props["listen"])) and time.monotonic() < deadline:
            time.sleep(0.1)
        (Path(id_) / "nginx.conf").unlink(missing_ok=True)


class NginxSite(Resource, module="shipyard", name="NginxSite"):
    """nginx on 127.0.0.1:LISTEN splitting traffic across slots by weight."""

    endpoint: pulumi.Output[str]
    digest: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        *,
        config_dir: pulumi.Input[str],
        prefix: str,
        nginx_bin: str,
        listen: int,
        upstreams: dict[str, dict[str, int]],
        max_body: int,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props = {
            "config_dir": config_dir,
            "prefix": prefix,
            "nginx": nginx_bin,
            "listen": listen,
            "upstreams": upstreams,
            "max_body": max_body,
            "digest": None,
            "endpoint": None,
        }
        super().__init__(NginxSiteProvider(), name, props, opts)
