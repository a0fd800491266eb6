"""The NginxSite provider's contract on literals and temp folders: weight checks, drift from
the config's digest, and a hand-edited config read back (no nginx is started)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from stacks.local import nginx
from stacks.local.providers.nginx_site import NginxSiteProvider

provider = NginxSiteProvider()
UPSTREAMS = {"stable": {"port": 18001, "weight": 90}, "canary": {"port": 18002, "weight": 10}}


def props(tmp_path: Path, **changes: Any) -> dict[str, Any]:
    return {
        "config_dir": str(tmp_path / "sv"),
        "prefix": str(tmp_path / "nginx"),
        "nginx": "/usr/sbin/nginx",
        "listen": 18000,
        "upstreams": UPSTREAMS,
        "max_body": 1024,
        **changes,
    }


@pytest.fixture
def taken() -> Iterator[int]:
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield int(held.getsockname()[1])


@pytest.mark.parametrize(
    ("upstreams", "reasons"),
    [
        ({}, ["at least one slot needs a weight above 0"]),
        ({"stable": {"port": 1, "weight": 0}}, ["at least one slot needs a weight above 0"]),
        ({"stable": {"port": 1, "weight": 150}}, ["weights must be within 0..100"]),
    ],
)
def test_check_refuses_weights_nginx_cannot_route(
    tmp_path: Path, upstreams: dict[str, Any], reasons: list[str]
) -> None:
    result = provider.check({"listen": 18000}, props(tmp_path, upstreams=upstreams))
    assert [(f.property, f.reason) for f in result.failures] == [("upstreams", r) for r in reasons]


def test_check_refuses_a_new_port_in_use_unless_the_site_is_ours(
    tmp_path: Path, taken: int
) -> None:
    result = provider.check({}, props(tmp_path, listen=str(taken), max_body="2048"))
    assert [(f.property, f.reason) for f in result.failures] == [
        ("listen", f"port {taken} is already in use")
    ]
    assert (result.inputs["listen"], result.inputs["max_body"]) == (taken, 2048)
    (tmp_path / "sv" / "programs").mkdir(parents=True)
    (tmp_path / "sv" / "programs" / "nginx.conf").write_text("[program:nginx]\n")
    assert provider.check({}, props(tmp_path, listen=taken)).failures == []


def test_diff_replaces_on_folders_and_sees_a_drifted_digest(tmp_path: Path) -> None:
    news = props(tmp_path)
    applied = {**news, "digest": nginx.digest(18000, UPSTREAMS, 1024)}
    assert provider.diff("p", applied, news).changes is False
    moved = provider.diff("p", applied, props(tmp_path, prefix="/elsewhere"))
    assert (moved.changes, moved.replaces) == (True, ["prefix"])
    weights = {"stable": {"port": 18001, "weight": 50}, "canary": {"port": 18002, "weight": 50}}
    shifted = provider.diff("p", applied, props(tmp_path, upstreams=weights))
    assert (shifted.changes, shifted.replaces) == (True, [])
    drifted = provider.diff("p", {**applied, "digest": "edited"}, news)
    assert (drifted.changes, drifted.replaces) == (True, [])


def test_read_without_a_config_is_gone(tmp_path: Path) -> None:
    read = provider.read(str(tmp_path / "nginx"), props(tmp_path))
    assert (read.id, read.outs) == ("", {})


def test_read_reports_a_hand_edited_weight_as_drift(tmp_path: Path) -> None:
    prefix = tmp_path / "nginx"
    conf = nginx.prepare(str(prefix))
    text = nginx.render(str(prefix), 18000, UPSTREAMS, 1024)
    conf.write_text(text.replace("weight=10 ", "weight=40 "), encoding="utf-8")
    read = provider.read(str(prefix), props(tmp_path))
    assert read.id == str(prefix)
    assert read.outs is not None
    assert read.inputs is not None
    assert read.inputs["upstreams"] == {
        "stable": {"port": 18001, "weight": 90},
        "canary": {"port": 18002, "weight": 40},
    }
    assert read.outs["digest"] == nginx.digest(18000, UPSTREAMS, 1024)  # nginx not running
    news = props(tmp_path)
    assert provider.diff(str(prefix), read.outs, news).changes is True


def test_delete_removes_the_config_and_its_program(tmp_path: Path) -> None:
    site = props(tmp_path)
    (tmp_path / "sv" / "programs").mkdir(parents=True)
    program = tmp_path / "sv" / "programs" / "nginx.conf"
    program.write_text("[program:nginx]\n")
    conf = nginx.prepare(site["prefix"])
    conf.write_text("# nginx.conf\n")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        site["listen"] = probe.getsockname()[1]
    provider.delete(site["prefix"], site)
    assert not program.exists()
    assert not conf.exists()
