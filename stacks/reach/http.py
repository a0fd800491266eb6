"""Slots reached over plain HTTP (the `local` and `kubernetes` targets): JSON requests, the
readiness probe, a fixed-rate load with `hey` (whose own capacity is measured too), and the
server's own /metrics counters."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from stacks.reach.client import LoadReport
from stacks.reach.errors import ReachError
from stacks.reach.metrics import CounterSource, SlotSample

HEY_HINT = "install the load client: apt-get install hey (make setup does)"


@dataclass(frozen=True)
class HttpClient:
    """A BentoML service at `address` (http://HOST:PORT): `POST /API`, `GET /readyz`."""

    address: str
    timeout: float = 10.0

    def post(self, api: str, body: dict[str, Any]) -> tuple[int, Any]:
        return post_json(f"{self.address}/{api}", body, self.timeout)

    def ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.address}/readyz", timeout=2.0) as response:
                return bool(response.status == 200)
        except OSError:
            return False

    def load(self, api: str, body: dict[str, Any], rps: float, duration_s: float) -> LoadReport:
        return hey(f"{self.address}/{api}", body, rps, duration_s)

    def capacity(self) -> LoadReport | None:
        return hey(f"{self.address}/livez", None, 0, 2, connections=8)


def post_json(url: str, body: dict[str, Any], timeout: float = 10.0) -> tuple[int, Any]:
    """POST JSON: the status (0: no answer at all) and the JSON answer (else its text)."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"content-type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return int(response.status), json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return int(exc.code), exc.read().decode(errors="replace")[:300]
    except OSError as exc:
        return 0, str(exc)


def hey_command(
    url: str,
    body_file: Path | None,
    rps: float,
    duration_s: float,
    connections: int = 8,
    keepalive: bool = True,
) -> list[str]:
    """The `hey` command line of a fixed-rate load: `connections` workers, each at
    rps/connections requests per second (rps 0: as fast as possible). A body file makes it a
    JSON POST, else a GET; without keep-alive every request opens its own connection."""
    binary = shutil.which("hey")
    if binary is None:
        raise ReachError("the load client `hey` is not installed", hint=HEY_HINT)
    argv = [binary, "-z", f"{duration_s}s", "-c", str(connections), "-t", "10"]
    if rps > 0:
        argv += ["-q", f"{max(rps / connections, 0.1):.3f}"]
    if body_file is not None:
        argv += ["-m", "POST", "-T", "application/json", "-D", str(body_file)]
    if not keepalive:
        argv.append("-disable-keepalive")
    return [*argv, url]


def hey(
    url: str, body: dict[str, Any] | None, rps: float, duration_s: float, connections: int = 8
) -> LoadReport:
    """Run a fixed-rate load (see `hey_command`) and parse what it measured."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(body, handle)
    try:
        argv = hey_command(
            url, Path(handle.name) if body is not None else None, rps, duration_s, connections
        )
        out = subprocess.run(argv, capture_output=True, text=True, timeout=duration_s + 60)
    finally:
        Path(handle.name).unlink(missing_ok=True)
    return parse_hey(out.stdout)


def parse_hey(text: str) -> LoadReport:
    def seconds(pattern: str) -> float:
        found = re.search(pattern, text)
        return float(found.group(1)) if found else float("nan")

    statuses = {m[0]: int(m[1]) for m in re.findall(r"\[(\d{3})\]\s+(\d+) responses", text)}
    section = text.split("Error distribution:", 1)
    errors = (
        sum(int(n) for n in re.findall(r"^\s*\[(\d+)\]", section[1], re.MULTILINE))
        if len(section) == 2
        else 0
    )
    return LoadReport(
        requests=sum(statuses.values()) + errors,
        rps=seconds(r"Requests/sec:\s+([\d.]+)"),
        p50_ms=1000 * seconds(r"50% in ([\d.]+) secs"),
        p95_ms=1000 * seconds(r"95% in ([\d.]+) secs"),
        p99_ms=1000 * seconds(r"99% in ([\d.]+) secs"),
        statuses=statuses,
        errors=errors,
    )


# --- the server's own /metrics ----------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
METRIC = "bentoml_service_request_duration_seconds"


def parse_metrics(text: str, endpoint: str) -> SlotSample:
    """BentoML's `bentoml_service_request_duration_seconds` histogram for `endpoint`."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if not match or not match["name"].startswith(METRIC):
            continue
        labels = dict(_LABEL.findall(match["labels"]))
        if labels.get("endpoint") != endpoint:
            continue
        value = float(match["value"])
        if match["name"].endswith("_count"):
            requests += value
            if labels.get("http_response_code", "").startswith("5"):
                errors += value
        elif match["name"].endswith("_bucket"):
            le = float(labels["le"])
            buckets[le] = buckets.get(le, 0.0) + value
    return SlotSample(requests, errors, tuple(sorted(buckets.items())))


class MetricsEndpoint(CounterSource):
    """A server's own Prometheus text endpoint (`http://HOST:PORT/metrics`)."""

    def __init__(self, url: str, timeout: float = 5.0) -> None:
        self.url, self.timeout = url, timeout

    @property
    def address(self) -> str:
        return self.url

    def counters(self, endpoint: str) -> SlotSample:
        try:
            with urllib.request.urlopen(self.url, timeout=self.timeout) as response:
                return parse_metrics(response.read().decode(), endpoint)
        except OSError as exc:
            raise ReachError(f"cannot read metrics at {self.url}: {exc}") from None
