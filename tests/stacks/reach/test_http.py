"""Slots reached over HTTP: JSON requests, readiness, hey's output, and /metrics text — against
a real HTTP server on 127.0.0.1 where a request is made."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

from stacks.reach.errors import ReachError
from stacks.reach.http import (
    HttpClient,
    MetricsEndpoint,
    hey_command,
    parse_hey,
    parse_metrics,
)

M = "bentoml_service_request_duration_seconds"
OK, FAILED = (
    'endpoint="/predict",http_response_code="200"',
    'endpoint="/predict",http_response_code="500"',
)
METRICS = "\n".join(
    [
        f"# TYPE {M} histogram",
        f'{M}_bucket{{{OK},le="0.1"}} 8.0',
        f'{M}_bucket{{{OK},le="+Inf"}} 10.0',
        f"{M}_count{{{OK}}} 10.0",
        f'{M}_bucket{{{FAILED},le="0.1"}} 1.0',
        f'{M}_bucket{{{FAILED},le="+Inf"}} 2.0',
        f"{M}_count{{{FAILED}}} 2.0",
        f'{M}_count{{endpoint="/readyz",http_response_code="200"}} 99.0',
    ]
)

HEY = """
Summary:
  Total:	2.0012 secs
  Requests/sec:	49.9700

Latency distribution:
  10% in 0.0100 secs
  50% in 0.0200 secs
  95% in 0.0450 secs
  99% in 0.0800 secs

Status code distribution:
  [200]	95 responses
  [503]	3 responses

Error distribution:
  [2]	Post "http://127.0.0.1:1/predict": dial tcp: connection refused
"""


class Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if self.path == "/predict":
            self._send(200, json.dumps([0.5] * len(body["rows"])).encode())
        else:
            self._send(500, b"model exploded")

    def do_GET(self) -> None:
        if self.path == "/readyz":
            self._send(200, b"ok")
        elif self.path == "/metrics":
            self._send(200, METRICS.encode())
        else:
            self._send(503, b"starting")

    def _send(self, status: int, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *_: Any) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_requests_go_to_the_api_and_answers_are_json(server: str) -> None:
    client = HttpClient(server)
    assert client.post("predict", {"rows": [{"a": 1}, {"a": 2}]}) == (200, [0.5, 0.5])
    assert client.post("explode", {"rows": []}) == (500, "model exploded")
    assert client.ready()


def test_no_server_is_status_zero_and_not_ready() -> None:
    client = HttpClient("http://127.0.0.1:9", timeout=2)
    status, answer = client.post("predict", {"rows": []})
    assert status == 0
    assert "refused" in str(answer).lower()
    assert not client.ready()


def test_the_metrics_endpoint_counts_one_api_endpoint(server: str) -> None:
    sample = MetricsEndpoint(f"{server}/metrics").counters("/predict")
    assert (sample.requests, sample.errors) == (12.0, 2.0)
    assert sample.buckets == ((0.1, 9.0), (float("inf"), 12.0))
    assert parse_metrics(METRICS, "/readyz").requests == 99.0


def test_unreadable_metrics_are_a_reach_error() -> None:
    with pytest.raises(ReachError, match=r"cannot read metrics at http://127\.0\.0\.1:9"):
        MetricsEndpoint("http://127.0.0.1:9/metrics", timeout=2).counters("/predict")


def test_heys_report_is_read_in_full() -> None:
    report = parse_hey(HEY)
    assert report.requests == 100
    assert report.rps == pytest.approx(49.97)
    assert (report.p50_ms, report.p95_ms, report.p99_ms) == pytest.approx((20.0, 45.0, 80.0))
    assert report.statuses == {"200": 95, "503": 3}
    assert report.errors == 2
    assert report.error_rate == pytest.approx(0.05)


def test_the_hey_command_spreads_the_rate_over_its_workers(tmp_path: Any) -> None:
    argv = hey_command("http://x/predict", tmp_path / "body.json", 100, 5, connections=8)
    assert argv[-1] == "http://x/predict"
    assert argv[argv.index("-q") + 1] == "12.500"
    assert argv[argv.index("-z") + 1] == "5s"
    assert "-disable-keepalive" not in argv
    assert "-disable-keepalive" in hey_command("http://x/", None, 0, 1, keepalive=False)
    assert "-q" not in hey_command("http://x/", None, 0, 1)
