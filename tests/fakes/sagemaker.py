"""A local stand-in for SageMaker's runtime and control plane, on 127.0.0.1, speaking the wire
shapes the AWS SDK's service models define: `POST /endpoints/{name}/invocations` (rest-json:
the body as is, the variant in `X-Amzn-SageMaker-Target-Variant`, a container's error as a 424
ModelError) and `DescribeEndpoint` (json protocol). The SDK is pointed at it with the standard
`AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME` / `AWS_ENDPOINT_URL_SAGEMAKER` variables, so requests are
built, signed and parsed by the real SDK."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

# (variant or None, request body) -> (container status, container answer bytes)
Container = Callable[[str | None, bytes], tuple[int, bytes]]


@dataclass
class FakeSageMaker:
    url: str
    container: Container
    endpoint: dict[str, Any]  # DescribeEndpoint's answer
    invocations: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _handler(fake_of: Callable[[], FakeSageMaker]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            fake = fake_of()
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            target = self.headers.get("X-Amz-Target", "")
            if target == "SageMaker.DescribeEndpoint":
                self._send(200, json.dumps(fake.endpoint).encode(), "application/x-amz-json-1.1")
                return
            parts = self.path.strip("/").split("/")
            if len(parts) != 3 or parts[0] != "endpoints" or parts[2] != "invocations":
                self._send(404, b'{"message": "unknown path"}', "application/json")
                return
            variant = self.headers.get("X-Amzn-SageMaker-Target-Variant")
            with fake.lock:
                fake.invocations.append(
                    {
                        "endpoint": parts[1],
                        "variant": variant,
                        "authorization": self.headers.get("Authorization", ""),
                        "content_type": self.headers.get("Content-Type"),
                        "body": body,
                    }
                )
            status, answer = fake.container(variant, body)
            if 200 <= status < 300:
                self._send(200, answer, "application/json", variant)
                return
            error = {
                "Message": "Received server error from primary with message ...",
                "OriginalStatusCode": status,
                "OriginalMessage": answer.decode(errors="replace"),
            }
            self._send(424, json.dumps(error).encode(), "application/json", error="ModelError")

        def _send(
            self,
            status: int,
            body: bytes,
            content_type: str,
            variant: str | None = None,
            error: str | None = None,
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            if variant:
                self.send_header("X-Amzn-Invoked-Production-Variant", variant)
            if error:
                self.send_header("x-amzn-ErrorType", error)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: Any) -> None:
            pass

    return Handler


def in_service(*variants: tuple[str, int]) -> dict[str, Any]:
    """DescribeEndpoint's answer for an InService endpoint with these (variant, instances)."""
    return {
        "EndpointName": "credit-risk-production",
        "EndpointArn": "arn:aws:sagemaker:eu-west-1:123456789012:endpoint/credit-risk-production",
        "EndpointConfigName": "endpoint-config-1",
        "EndpointStatus": "InService",
        "CreationTime": 1_790_000_000,
        "LastModifiedTime": 1_790_000_000,
        "ProductionVariants": [
            {"VariantName": name, "CurrentInstanceCount": count, "CurrentWeight": 1.0}
            for name, count in variants
        ],
    }


@contextmanager
def fake_sagemaker(
    monkeypatch: pytest.MonkeyPatch, container: Container, endpoint: dict[str, Any]
) -> Iterator[FakeSageMaker]:
    """Serve the fake and point the SDK (with test credentials) at it."""
    from stacks.aws import sagemaker

    holder: list[FakeSageMaker] = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(lambda: holder[0]))
    url = f"http://127.0.0.1:{server.server_address[1]}"
    holder.append(FakeSageMaker(url, container, endpoint))
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test-secret")  # signs requests to the fake only
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME", url)
    monkeypatch.setenv("AWS_ENDPOINT_URL_SAGEMAKER", url)
    sagemaker.client.cache_clear()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield holder[0]
    finally:
        server.shutdown()
        server.server_close()
        sagemaker.client.cache_clear()
