"""Canary analysis of a Kubernetes slot reads its counters from Prometheus: the address the
kubernetes target gives a slot, asked over the documented HTTP API (`/api/v1/query`) of a
local fake server, gives the same cumulative sample a server's own /metrics would."""

from __future__ import annotations

import json
import threading
import urllib.parse
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest

from pipelines.release.verdict import Measurement, Phase, Policy, assess
from stacks.kubernetes.config import KubernetesTargetConfig, slot_metrics_url
from stacks.kubernetes.prometheus import PrometheusSource
from stacks.reach.errors import ReachError

CANARY_POD = 'pod=~"credit-risk-production-canary-.+"'


def vector(*series: tuple[dict[str, str], float]) -> dict[str, Any]:
    """A successful instant-query answer, as Prometheus documents it."""
    result = [{"metric": labels, "value": [1700000000.0, str(value)]} for labels, value in series]
    return {"status": "success", "data": {"resultType": "vector", "result": result}}


class FakePrometheus(BaseHTTPRequestHandler):
    answers: ClassVar[dict[str, dict[str, Any]]] = {}  # substring of the query -> answer
    asked: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query).get("query", [""])[0]
        type(self).asked.append(query)
        body: dict[str, Any] = {"status": "error", "errorType": "bad_data", "error": "unknown"}
        status = 400
        if url.path == "/api/v1/query":
            for key, answer in self.answers.items():
                if key in query:
                    body, status = answer, 200
                    break
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def prometheus() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakePrometheus)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    FakePrometheus.asked = []
    FakePrometheus.answers = {
        'http_response_code=~"5.."': vector(({}, 3.0)),
        "sum by (le)": vector(
            ({"le": "0.05"}, 150.0), ({"le": "0.1"}, 190.0), ({"le": "+Inf"}, 200.0)
        ),
        "_count{": vector(({}, 200.0)),
    }
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def config(prometheus_url: str) -> KubernetesTargetConfig:
    return KubernetesTargetConfig(
        spec="credit-risk",
        environment="production",
        image="registry.example.com/credit-risk",
        state_dir=Path("/nonexistent"),
        prometheus_url=prometheus_url,
    )


def test_a_slot_is_read_from_prometheus_over_its_pods(prometheus: str) -> None:
    url = slot_metrics_url(config(prometheus), "canary")
    assert url.startswith(f"prometheus+{prometheus}/?match=")

    sample = PrometheusSource(url).counters("/predict")

    assert (sample.requests, sample.errors) == (200.0, 3.0)
    assert sample.buckets == ((0.05, 150.0), (0.1, 190.0), (float("inf"), 200.0))
    assert len(FakePrometheus.asked) == 3
    for query in FakePrometheus.asked:
        assert CANARY_POD in query
        assert 'namespace="credit-risk"' in query
        assert 'endpoint="/predict"' in query


def test_prometheus_counters_judge_a_canary_as_slot_metrics_do(prometheus: str) -> None:
    """3 errors in 200 requests: within chance of a 1% limit, well above a 0.1% one."""
    sample = PrometheusSource(slot_metrics_url(config(prometheus), "canary")).counters("/predict")
    verdict = assess(Policy(min_requests=50, error_rate_max=0.01), Measurement(sample, sample))
    assert verdict.phase == Phase.SUCCESSFUL, verdict.reasons  # 1.5% of 200: not significant
    harsh = assess(Policy(min_requests=50, error_rate_max=0.001), Measurement(sample, sample))
    assert harsh.phase == Phase.FAILED
    assert "canary error rate 1.50%" in harsh.reasons[0]


def test_a_canary_with_no_series_yet_counts_zero(prometheus: str) -> None:
    FakePrometheus.answers = {"sum": vector()}
    sample = PrometheusSource(slot_metrics_url(config(prometheus), "canary")).counters("/predict")
    assert (sample.requests, sample.errors, sample.buckets) == (0.0, 0.0, ())


def test_a_refused_query_is_a_measurement_error(prometheus: str) -> None:
    FakePrometheus.answers = {}
    with pytest.raises(ReachError, match=r"refused .*: unknown"):
        PrometheusSource(slot_metrics_url(config(prometheus), "stable")).counters("/predict")


def test_an_unreachable_prometheus_says_which_setting_to_fix() -> None:
    url = slot_metrics_url(config("http://127.0.0.1:9"), "stable")
    with pytest.raises(
        ReachError, match=r"cannot query Prometheus at http://127\.0\.0\.1:9"
    ) as err:
        PrometheusSource(url, timeout=2).counters("/predict")
    assert "kubernetes.prometheus_url" in err.value.hint
