"""The Bento's service module on a literal `shipyard.json`: request rows validated at the edge,
the body limit and SageMaker's routes as ASGI middleware, the prediction log's lines.

service.py runs only inside a built Bento: it reads `shipyard.json` beside itself when it is
imported. So it is loaded here from a copy of pipelines/build/service.py placed beside a
config written by the test, as `bentoml build` places it; the model it names is looked up
only when a server starts, which no test here does (tests/pipelines/build/
test_bento_integration.py and tests/integration/test_serving.py serve real Bentos)."""

from __future__ import annotations

import asyncio
import datetime as dt
import importlib.util
import json
import shutil
from collections.abc import Coroutine
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
from pydantic import ValidationError

import pipelines.build.bento as bento

CONFIG = {
    "service_name": "credit",
    "model_version": "models:/credit/3",
    "model_tag": "credit:abc123",
    "api": "predict",
    "columns": [
        {"name": "age", "type": "long"},
        {"name": "income", "type": "double", "nullable": True},
        {"name": "home", "type": "string"},
        {"name": "seen", "type": "datetime"},
    ],
    "max_batch_size": 2,
    "max_latency_ms": 100,
    "workers": 1,
    "timeout_s": 5,
    "max_request_bytes": 64,
}
ROW = {"age": 41, "income": 52_000.5, "home": "own", "seen": dt.datetime(2024, 5, 1, 12)}
# Loading the service decorates it with BentoML, which warns of its own dependencies' changes.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """service.py as the Bento holds it, in slot `canary` logging to tmp_path/log."""
    folder = tmp_path / "bento"
    folder.mkdir()
    shutil.copy(bento.SERVICE, folder / "service.py")
    (folder / "shipyard.json").write_text(json.dumps(CONFIG), encoding="utf-8")
    monkeypatch.setenv("SHIPYARD_SLOT", "canary")
    monkeypatch.setenv("SHIPYARD_PREDICTION_LOG_DIR", str(tmp_path / "log"))
    spec = importlib.util.spec_from_file_location("bento_service", folder / "service.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_rows_take_exactly_the_configured_columns(service: ModuleType) -> None:
    row = service.Row(**ROW)
    assert (row.age, row.income, row.home) == (41, 52_000.5, "own")
    assert row.seen == dt.datetime(2024, 5, 1, 12, 0)
    wire = json.dumps({**ROW, "seen": "2024-05-01T12:00:00"})  # as a request carries it
    assert service.Row.model_validate_json(wire) == row
    assert service.Row(**{**ROW, "income": None}).income is None  # nullable
    assert service.COLUMNS == ["age", "income", "home", "seen"]
    assert service.MAX_ROWS == 2


@pytest.mark.parametrize(
    ("change", "error"),
    [
        ({"colour": "red"}, "Extra inputs are not permitted"),
        ({"age": "41"}, "Input should be a valid integer"),
        ({"age": 2**63}, "less than or equal to 9223372036854775807"),
        ({"income": float("nan")}, "Input should be a finite number"),
        ({"home": 3}, "Input should be a valid string"),
    ],
)
def test_a_row_that_cannot_reach_the_model_is_refused(
    service: ModuleType, change: dict[str, Any], error: str
) -> None:
    with pytest.raises(ValidationError, match=error):
        service.Row(**{**ROW, **change})
    missing = {k: v for k, v in ROW.items() if k != "home"}
    with pytest.raises(ValidationError, match="home\n  Field required"):
        service.Row(**missing)


def test_native_threads_default_to_one(
    service: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    assert service._threads() == 1
    monkeypatch.setenv("OMP_NUM_THREADS", "4")
    assert service._threads() == 4
    monkeypatch.setenv("OMP_NUM_THREADS", "auto")
    assert service._threads() == 1


def test_the_prediction_log_has_one_line_per_row(service: ModuleType, tmp_path: Path) -> None:
    log = service.PredictionLog(str(tmp_path / "log"))
    log.write({"age": [41, 30], "home": ["own", "rent"]}, [0.25, 0.75])
    (path,) = (tmp_path / "log").glob("predictions-*.jsonl")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [(x["input"], x["output"]) for x in lines] == [
        ({"age": 41, "home": "own"}, 0.25),
        ({"age": 30, "home": "rent"}, 0.75),
    ]
    assert {(x["slot"], x["model"]) for x in lines} == {("canary", "models:/credit/3")}
    assert lines[0]["ts"] == lines[1]["ts"]
    service.PredictionLog("").write({"age": [1]}, [0.5])  # no folder: nothing is written


def run(call: Coroutine[Any, Any, None]) -> None:
    """Await `call` on a loop of its own: unlike `asyncio.run`, this leaves the thread's
    event loop setting alone (Pulumi's mocks, in other tests, ask for it)."""
    loop = asyncio.new_event_loop()
    try:
        loop.run_until_complete(call)
    finally:
        loop.close()


class App:
    """The ASGI app behind the middleware: records the request it was given."""

    def __init__(self) -> None:
        self.scopes: list[dict[str, Any]] = []
        self.bodies: list[bytes] = []

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        self.scopes.append(scope)
        if scope["type"] == "http":
            body, more = b"", True
            while more:
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
            self.bodies.append(body)
        await send({"type": "http.response.start", "status": 200, "headers": []})


def call(middleware: Any, scope: dict[str, Any], chunks: list[bytes]) -> list[dict[str, Any]]:
    messages = [
        {"type": "http.request", "body": c, "more_body": i < len(chunks) - 1}
        for i, c in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0)

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    run(middleware(scope, receive, send))
    return sent


def http(path: str = "/predict", method: str = "POST", length: int | None = None) -> dict[str, Any]:
    headers = [] if length is None else [(b"content-length", str(length).encode())]
    return {
        "type": "http",
        "method": method,
        "path": path,
        "raw_path": path.encode(),
        "headers": headers,
    }


def test_a_body_over_the_limit_is_refused_with_413(service: ModuleType) -> None:
    app = App()
    limited = service.BodyLimit(app, limit=64)
    sent = call(limited, http(length=65), [b"x" * 65])
    assert sent[0] == {
        "type": "http.response.start",
        "status": 413,
        "headers": [(b"content-type", b"application/json")],
    }
    assert json.loads(sent[1]["body"]) == {"error": "request body is 65 bytes; at most 64"}
    assert app.scopes == []


def test_a_chunked_body_is_counted_as_it_arrives(service: ModuleType) -> None:
    app = App()
    limited = service.BodyLimit(app, limit=64)
    sent = call(limited, http(), [b"x" * 40, b"y" * 40])
    assert sent[0]["status"] == 413
    assert json.loads(sent[1]["body"]) == {"error": "request body is 80 bytes; at most 64"}
    assert app.scopes == []
    fits = call(limited, http(), [b"x" * 30, b"y" * 30])
    assert fits[0]["status"] == 200
    assert app.bodies == [b"x" * 30 + b"y" * 30], "the app reads the whole body, replayed"


def test_other_traffic_passes_the_body_limit(service: ModuleType) -> None:
    app = App()
    limited = service.BodyLimit(app, limit=64)
    assert call(limited, http(length=10), [b"x" * 10])[0]["status"] == 200
    run(limited({"type": "lifespan"}, None, _ignore))
    assert [s["type"] for s in app.scopes] == ["http", "lifespan"]


async def _ignore(message: dict[str, Any]) -> None:
    del message


def test_sagemakers_routes_reach_bentomls_own(service: ModuleType) -> None:
    app = App()
    contract = service.SageMakerContract(app, api="predict")
    call(contract, http("/ping", "GET"), [b""])
    call(contract, http("/invocations"), [b"{}"])
    call(contract, http("/invocations", "GET"), [b""])
    call(contract, http("/predict"), [b"{}"])
    assert [(s["method"], s["path"], s["raw_path"]) for s in app.scopes] == [
        ("GET", "/readyz", b"/readyz"),
        ("POST", "/predict", b"/predict"),
        ("GET", "/invocations", b"/invocations"),
        ("POST", "/predict", b"/predict"),
    ]
