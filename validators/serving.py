"""Serving gates on a running service: smoke requests, a fixed-rate load test with `hey`
(whose own capacity is measured too), and per-slot samples scraped from BentoML's /metrics."""

from __future__ import annotations

import json
import math
import re
import shutil
import subprocess
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from validators.errors import ValidatorError
from validators.gate import GateResult, compare, stopwatch

HEY_HINT = "install the load client: apt-get install hey (make setup does)"


class ServingError(ValidatorError):
    """The service or the load client could not be measured at all."""


def api_url(endpoint: str, api: str) -> str:
    """Where requests to `api` go: `endpoint/api`; a SageMaker endpoint has one invocation
    path (the Bento answers /invocations with its API), so its address stays as it is."""
    return endpoint if endpoint.startswith("sagemaker://") else f"{endpoint}/{api}"


def post(url: str, body: dict[str, Any], timeout: float = 10.0) -> tuple[int, Any]:
    """POST JSON: the status (0: no answer at all) and the JSON answer (else its text)."""
    if url.startswith("sagemaker://"):
        from validators.sagemaker import invoke

        return invoke(url, body)
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


def ready(url: str, timeout: float = 2.0) -> bool:
    """Whether `url/readyz` answers 200 (a SageMaker variant: InService with an instance)."""
    if url.startswith("sagemaker://"):
        from validators.sagemaker import ready as variant_ready

        return variant_ready(url)
    try:
        with urllib.request.urlopen(f"{url}/readyz", timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False


def smoke(endpoint: str, api: str, rows: list[dict[str, Any]]) -> GateResult:
    """Each row sent alone: a 2xx answer holding one finite number per row, never a 5xx."""
    bad: list[dict[str, Any]] = []
    with stopwatch() as t:
        for index, row in enumerate(rows):
            status, body = post(api_url(endpoint, api), {"rows": [row]})
            ok = 200 <= status < 300 and isinstance(body, list) and len(body) == 1
            ok = ok and isinstance(body[0], int | float) and math.isfinite(body[0])
            if not ok:
                bad.append({"row": index, "status": status, "answer": str(body)[:200]})
    share = (len(rows) - len(bad)) / max(len(rows), 1)
    return GateResult(
        gate="serving",
        name="smoke",
        passed=not bad,
        measured=share,
        threshold=1.0,
        comparison=">=",
        evidence={"requests": len(rows), "failures": bad[:10]},
        duration_s=t[0],
        note=f"{len(rows) - len(bad)}/{len(rows)} answered with a prediction",
    )


@dataclass(frozen=True)
class LoadReport:
    """What `hey` measured."""

    requests: int
    rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    statuses: dict[str, int]
    errors: int

    @property
    def error_rate(self) -> float:
        failed = self.errors + sum(n for s, n in self.statuses.items() if not s.startswith("2"))
        total = self.errors + sum(self.statuses.values())
        return failed / total if total else 1.0


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
        raise ServingError("the load client `hey` is not installed", hint=HEY_HINT)
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


def load_results(
    report: LoadReport,
    capacity: LoadReport | None,
    rps: float,
    p95_max_ms: float | None,
    error_rate_max: float | None,
) -> list[GateResult]:
    """The load test as gate results: p95 latency and error rate against the spec."""
    evidence = {
        "requests": report.requests,
        "achieved_rps": report.rps,
        "target_rps": rps,
        "p50_ms": report.p50_ms,
        "p95_ms": report.p95_ms,
        "p99_ms": report.p99_ms,
        "statuses": report.statuses,
        "client_errors": report.errors,
        "client_capacity_rps": capacity.rps if capacity else None,
    }
    note = f"{report.requests} requests at {report.rps:.0f}/s (target {rps:g}/s)"
    if capacity:
        note += f"; the client alone reaches {capacity.rps:.0f}/s"
    results = []
    for name, measured, limit in (
        ("latency p95 ms", report.p95_ms, p95_max_ms),
        ("error rate", report.error_rate, error_rate_max),
    ):
        if limit is None:
            continue
        results.append(
            GateResult(
                gate="serving",
                name=name,
                passed=compare(measured, "<=", limit),
                measured=measured,
                threshold=limit,
                comparison="<=",
                evidence=evidence,
                note=note,
            )
        )
    return results


# --- per-slot samples from /metrics ------------------------------------------------------------

_SAMPLE = re.compile(r"^(?P<name>[a-zA-Z_:][\w:]*)\{(?P<labels>[^}]*)\}\s+(?P<value>\S+)$")
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class SlotSample:
    """Counts of one slot's API endpoint: requests, 5xx answers, and latency as a histogram
    (cumulative counters) or as a p95 the source computed over the same requests (CloudWatch
    keeps no histogram)."""

    requests: float = 0.0
    errors: float = 0.0
    buckets: tuple[tuple[float, float], ...] = field(default_factory=tuple)  # (le, cumulative)
    p95_ms: float | None = None

    def since(self, earlier: SlotSample) -> SlotSample:
        """The counts between `earlier` and this sample (a restart resets to this sample)."""
        if self.requests < earlier.requests:
            return self
        before = dict(earlier.buckets)
        return SlotSample(
            self.requests - earlier.requests,
            self.errors - earlier.errors,
            tuple((le, n - before.get(le, 0.0)) for le, n in self.buckets),
        )


def parse_metrics(text: str, endpoint: str) -> SlotSample:
    """BentoML's `bentoml_service_request_duration_seconds` histogram for `endpoint`."""
    requests = errors = 0.0
    buckets: dict[float, float] = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line.strip())
        if not match or not match["name"].startswith("bentoml_service_request_duration_seconds"):
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


def scrape(metrics_url: str, endpoint: str, timeout: float = 5.0) -> SlotSample:
    """The cumulative counters of `endpoint`: from the server's /metrics, or from Prometheus
    when the slot names it (`prometheus+http://…`, see validators/prometheus.py)."""
    if metrics_url.startswith("cloudwatch://"):
        raise ServingError(
            f"{metrics_url} keeps statistics per period, not counters since a server started",
            hint="read it as a window (open_slot_metrics, validators/cloudwatch.py)",
        )
    if metrics_url.startswith("prometheus+"):
        from validators.prometheus import read_sample

        return read_sample(metrics_url, endpoint, timeout)
    try:
        with urllib.request.urlopen(metrics_url, timeout=timeout) as response:
            return parse_metrics(response.read().decode(), endpoint)
    except OSError as exc:
        raise ServingError(f"cannot read metrics at {metrics_url}: {exc}") from None


class SlotMetrics(Protocol):
    def read(self) -> SlotSample:
        """What the slot served since the reader was opened."""
        ...


class _CounterDelta:
    """Cumulative counters read against a baseline taken when the reader opens."""

    def __init__(self, metrics_url: str, endpoint: str, timeout: float) -> None:
        self.metrics_url, self.endpoint, self.timeout = metrics_url, endpoint, timeout
        self.baseline = scrape(metrics_url, endpoint, timeout)

    def read(self) -> SlotSample:
        return scrape(self.metrics_url, self.endpoint, self.timeout).since(self.baseline)


def open_slot_metrics(metrics_url: str, endpoint: str, timeout: float = 5.0) -> SlotMetrics:
    """What the slot `metrics_url` names serves from now on: counters (/metrics, Prometheus)
    against a baseline read now, or CloudWatch windows that start now (the endpoint is the
    variant's single invocation path there)."""
    if metrics_url.startswith("cloudwatch://"):
        from validators.cloudwatch import CloudWatchWindow

        return CloudWatchWindow(metrics_url, timeout)
    return _CounterDelta(metrics_url, endpoint, timeout)
