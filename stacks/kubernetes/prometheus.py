"""A slot's counters read from Prometheus instead of the server's own /metrics: the same
cumulative numbers (requests, 5xx answers, the latency histogram of one endpoint), summed over
the slot's pods, so canary analysis judges a Kubernetes slot as it judges a local one.

A slot names its source as `prometheus+http://HOST:PORT/?match=SELECTOR` (or `+https`), where
SELECTOR is the PromQL label matchers of the slot's series, e.g.
`namespace="credit-risk",pod=~"credit-risk-production-canary-.+"`. Three instant queries go to
the documented HTTP API (`GET /api/v1/query`); a series that does not exist yet (a canary with
no traffic) counts 0. A pod that restarts resets its counters: the sum then drops, and
`SlotSample.since` takes the new sum as the count since (as it does for a restarted server).
"""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

from stacks.reach.errors import ReachError
from stacks.reach.metrics import CounterSource, SlotSample

SCHEME_PREFIX = "prometheus+"
METRIC = "bentoml_service_request_duration_seconds"


class PrometheusError(ReachError):
    """Prometheus could not be asked, or did not answer as its HTTP API documents."""


def queries(selector: str, endpoint: str) -> dict[str, str]:
    """PromQL for the cumulative requests, 5xx answers and latency buckets of `endpoint`."""
    series = f'{selector},endpoint="{endpoint}"'
    return {
        "requests": f"sum({METRIC}_count{{{series}}})",
        "errors": f'sum({METRIC}_count{{{series},http_response_code=~"5.."}})',
        "buckets": f"sum by (le) ({METRIC}_bucket{{{series}}})",
    }


class PrometheusSource(CounterSource):
    """One slot's series in a Prometheus server, summed over the slot's pods."""

    def __init__(self, metrics_url: str, timeout: float = 5.0) -> None:
        self.url, self.timeout = metrics_url, timeout

    @property
    def address(self) -> str:
        return self.url

    def counters(self, endpoint: str) -> SlotSample:
        return read_sample(self.url, endpoint, self.timeout)


def read_sample(metrics_url: str, endpoint: str, timeout: float = 5.0) -> SlotSample:
    """The cumulative counters of `endpoint` on the slot `metrics_url` names."""
    parsed = urllib.parse.urlsplit(metrics_url.removeprefix(SCHEME_PREFIX))
    selector = urllib.parse.parse_qs(parsed.query).get("match", [""])[0]
    if not selector:
        raise PrometheusError(
            f"{metrics_url}: no ?match= selector of the slot's series",
            hint="the target builds this address; report it as a bug",
        )
    base = urllib.parse.urlunsplit((parsed.scheme, parsed.netloc, parsed.path.rstrip("/"), "", ""))
    asked = {
        name: _query(base, promql, timeout) for name, promql in queries(selector, endpoint).items()
    }
    buckets = sorted((float(labels.get("le", "nan")), value) for labels, value in asked["buckets"])
    return SlotSample(_total(asked["requests"]), _total(asked["errors"]), tuple(buckets))


def _total(result: list[tuple[dict[str, str], float]]) -> float:
    return sum(value for _, value in result)


def _query(base: str, promql: str, timeout: float) -> list[tuple[dict[str, str], float]]:
    url = f"{base}/api/v1/query?{urllib.parse.urlencode({'query': promql})}"
    try:
        try:
            with urllib.request.urlopen(url, timeout=timeout) as response:
                body: Any = json.loads(response.read().decode())
        except urllib.error.HTTPError as refused:  # 400/422/503 carry the API's error object
            body = json.loads(refused.read().decode() or "{}")
    except (OSError, ValueError) as exc:
        raise PrometheusError(
            f"cannot query Prometheus at {base}: {exc}",
            hint="set environments[].kubernetes.prometheus_url to an address this runner reaches",
        ) from None
    data = body.get("data") if isinstance(body, dict) else None
    if body.get("status") != "success" or not isinstance(data, dict):
        error = body.get("error", "no data") if isinstance(body, dict) else "not an object"
        raise PrometheusError(f"Prometheus at {base} refused {promql!r}: {error}")
    if data.get("resultType") != "vector":
        raise PrometheusError(
            f"Prometheus at {base} answered {data.get('resultType')!r}, not a vector"
        )
    return [(dict(item["metric"]), float(item["value"][1])) for item in data.get("result", [])]
