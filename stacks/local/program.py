"""The local target's Pulumi program: supervisord, one BentoML server per slot, nginx."""

from __future__ import annotations

import sys
from pathlib import Path

from stacks.desired import Desired
from stacks.local.config import LocalTargetConfig
from stacks.local.host import find_nginx, find_supervisord


def program(config: LocalTargetConfig, desired: Desired) -> None:
    import pulumi

    from stacks.local.providers.bento_server import BentoServer
    from stacks.local.providers.nginx_site import NginxSite
    from stacks.local.providers.supervisord import Supervisord

    base = config.base_dir
    supervisord = find_supervisord()
    nginx = find_nginx()
    if supervisord.path is None or nginx.path is None:
        raise RuntimeError("supervisord and nginx are needed: run `make setup`")
    config_dir = str(base / "supervisor")
    daemon = Supervisord("supervisord", config_dir, str(supervisord.path))
    bentoml = str(Path(sys.executable).parent / "bentoml")
    servers = []
    for slot, release in sorted(desired.slots.items()):
        env = {
            "BENTOML_HOME": str(config.slot_home(slot)),
            "BENTOML_DO_NOT_TRACK": "true",
            "SHIPYARD_SLOT": slot,
            "SHIPYARD_PREDICTION_LOG_DIR": str(config.prediction_log_dir / slot),
        }
        servers.append(
            BentoServer(
                f"bento-{slot}",
                config_dir=config_dir,
                bentoml=bentoml,
                bento=release["bento"],
                store=str(config.bentoml_home),
                port=config.slot_port(slot),
                env=env,
                ready_timeout=config.ready_timeout,
                opts=pulumi.ResourceOptions(depends_on=[daemon]),
            )
        )
    if servers:
        upstreams = {
            slot: {"port": config.slot_port(slot), "weight": int(desired.weights.get(slot, 0))}
            for slot in desired.slots
        }
        site = NginxSite(
            "nginx",
            config_dir=config_dir,
            prefix=str(base / "nginx"),
            nginx_bin=str(nginx.path),
            listen=config.listen_port,
            upstreams=upstreams,
            max_body=config.max_body,
            opts=pulumi.ResourceOptions(depends_on=[daemon, *servers]),
        )
        pulumi.export("endpoint", site.endpoint)
    pulumi.export("slots", {slot: r["bento"] for slot, r in desired.slots.items()})
