"""One BentoML service for any MLflow model in a Shipyard spec.

Settings come from `shipyard.json` beside this file (written by `shipyard build`): the model
tag in the Bento's model store, the API name, the input columns, adaptive batching, workers,
timeout and the largest accepted request. Requests are validated at the edge (unknown,
missing or mistyped fields, NaN where not allowed, too many rows, too large a body are 4xx).
Every prediction is appended to a JSONL log that drift monitoring reads.

The predict path is lean: one adaptive batch is one model call on a DataFrame built straight
from the validated rows' columns, the raw sklearn estimator (not the pyfunc wrapper) when there
is one, and native thread pools (OpenMP, BLAS) capped so the workers do not oversubscribe the
CPUs (`benchmarks/serving.py` measures it against `mlflow models serve`).

This file imports nothing from Shipyard: the Bento runs without it.
"""

import datetime as dt
import gc
import json
import os
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import bentoml
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, create_model

CONFIG: dict[str, Any] = json.loads((Path(__file__).parent / "shipyard.json").read_text())
TYPES: dict[str, Any] = {
    "double": float,
    "float": float,
    "long": int,
    "integer": int,
    "boolean": bool,
    "string": str,
    "datetime": dt.datetime,
}
LOG_DIR = os.environ.get("SHIPYARD_PREDICTION_LOG_DIR", "")
SLOT = os.environ.get("SHIPYARD_SLOT", "")


def _field(column: dict[str, Any]) -> tuple[Any, Any]:
    kind = TYPES[column["type"]]
    # NaN and infinity are refused unless the column is nullable; integers, booleans and
    # strings are strict (no "3" for 3); floats accept integers.
    if kind is float:
        checks = Field(allow_inf_nan=False)
    elif kind is int:  # beyond int64 a value cannot reach the model
        checks = Field(strict=True, ge=-(2**63), le=2**63 - 1)
    else:
        checks = Field(strict=True)
    if column.get("nullable"):
        return Optional[Annotated[kind, checks]], Field(default=None)  # noqa: UP045
    return Annotated[kind, checks], Field(...)


Row: type[BaseModel] = create_model(  # type: ignore[call-overload]
    "Row",
    __config__=ConfigDict(extra="forbid"),
    **{c["name"]: _field(c) for c in CONFIG["columns"]},
)
if TYPE_CHECKING:
    RowType = BaseModel
else:
    RowType = Row
COLUMNS = [c["name"] for c in CONFIG["columns"]]
MAX_ROWS = int(CONFIG["max_batch_size"])


def _threads() -> int:
    """Native threads per model call: OMP_NUM_THREADS when set, else 1. A batch is at most
    max_batch_size rows, too small to gain from threads, while idle OpenMP threads spin and
    take the CPU from the event loop and the other workers: uncapped, scikit-learn's
    HistGradientBoosting made one predict_proba call take 20-70 ms instead of ~4 ms on 2 cores
    with 2 workers, and a 1-worker server with 2 threads spent 2-9x the CPU per request."""
    threads = os.environ.get("OMP_NUM_THREADS", "")
    return max(1, int(threads)) if threads.isdigit() else 1


_CAPPED = threading.local()


def _cap_threads() -> None:
    """Cap the native thread pools, once per calling thread: OpenMP's limit is per thread,
    and BentoML calls the API from a pool of threads, not the one that loaded the model."""
    if getattr(_CAPPED, "done", False):
        return
    _CAPPED.done = True
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # no scikit-learn (which brings threadpoolctl): nothing to cap
        return
    threadpool_limits(_threads())


class PredictionLog:
    """Append-only JSONL, one file per worker process, flushed per batch."""

    def __init__(self, directory: str) -> None:
        self.path = Path(directory) / f"predictions-{os.getpid()}.jsonl" if directory else None
        self.lock = threading.Lock()
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, columns: dict[str, list[Any]], outputs: list[float]) -> None:
        """One line per row; `columns` maps each input column to the batch's values."""
        if self.path is None:
            return
        now = time.time()
        values = zip(*columns.values(), strict=True)
        rows = [dict(zip(columns, row, strict=True)) for row in values]
        lines = [
            json.dumps(
                {
                    "ts": now,
                    "slot": SLOT,
                    "model": CONFIG["model_version"],
                    "input": row,
                    "output": out,
                },
                default=str,
            )
            for row, out in zip(rows, outputs, strict=True)
        ]
        with self.lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write("\n".join(lines) + "\n")


class BodyLimit:
    """ASGI middleware: a body larger than the spec's max_request_size gets 413."""

    def __init__(self, app: Any, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def _refuse(self, send: Any, size: int) -> None:
        body = json.dumps({"error": f"request body is {size} bytes; at most {self.limit}"})
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body.encode()})

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers") or []).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await self._refuse(send, int(length))
            return
        # A chunked body has no length up front: read it whole, counting, before the app sees it.
        messages: list[Any] = []
        size, more = 0, True
        while more:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                break
            size += len(message.get("body", b""))
            more = bool(message.get("more_body"))
            if size > self.limit:
                await self._refuse(send, size)
                return

        async def replay() -> Any:
            return messages.pop(0) if messages else await receive()

        await self.app(scope, replay, send)


class SageMakerContract:
    """ASGI middleware: SageMaker's container contract on BentoML's own routes, so the image
    `bentoml containerize` makes runs as a SageMaker model as it is: `GET /ping` is
    `/readyz`, `POST /invocations` is the API (same body, same answer, same metrics). The
    port, 8080 there, comes from BENTOML_PORT, which the aws target sets."""

    def __init__(self, app: Any, api: str) -> None:
        self.app = app
        self.routes = {("GET", "/ping"): "/readyz", ("POST", "/invocations"): "/" + api}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            to = self.routes.get((scope.get("method"), scope.get("path")))
            if to is not None:
                scope = {**scope, "path": to, "raw_path": to.encode()}
        await self.app(scope, receive, send)


def _load(path: str) -> Any:
    """The fastest predictor the MLflow model offers: the raw sklearn estimator when the
    model has that flavour (skipping the pyfunc wrapper), else the pyfunc model."""
    import mlflow.pyfunc
    from mlflow.models import Model

    flavors = Model.load(os.path.join(path, "MLmodel")).flavors
    if "sklearn" in flavors:
        import mlflow.sklearn

        model = mlflow.sklearn.load_model(path)
        method = flavors["python_function"].get("predict_fn", "predict")
        return getattr(model, method)
    return mlflow.pyfunc.load_model(path).predict


@bentoml.service(
    name=CONFIG["service_name"],
    workers=int(CONFIG["workers"]),
    traffic={"timeout": float(CONFIG["timeout_s"])},
)
class ModelService:
    bento_model = bentoml.models.BentoModel(CONFIG["model_tag"])

    def __init__(self) -> None:
        import pandas as pd

        self.pd = pd
        self.predict_fn = _load(self.bento_model.path_of("mlflow_model"))
        self.log = PredictionLog(LOG_DIR)
        # The model, pandas, scikit-learn and BentoML live as long as the worker: freeze them
        # out of the garbage collector's sight, so a full collection scans only what requests
        # allocate. Unfrozen, each one scanned ~300k objects and stalled the worker ~0.5 s
        # under load (the benchmark's p95 went from ~450 ms to ~100 ms on a busy 2-core host).
        gc.collect()
        gc.freeze()

    @bentoml.api(
        route="/" + CONFIG["api"],
        name=CONFIG["api"],
        batchable=True,
        max_batch_size=MAX_ROWS,
        max_latency_ms=int(CONFIG["max_latency_ms"]),
    )
    def predict(
        self, rows: Annotated[list[RowType], Field(min_length=1, max_length=MAX_ROWS)]
    ) -> list[float]:
        _cap_threads()
        # column lists straight from the validated rows (no model_dump -> dicts -> records);
        # the same frame, dtypes included, as DataFrame.from_records of the dumped rows
        columns = {name: [getattr(row, name) for row in rows] for name in COLUMNS}
        frame = self.pd.DataFrame(columns, columns=COLUMNS)
        output = np.asarray(self.predict_fn(frame), dtype=np.float64)
        values: list[float] = (output[:, -1] if output.ndim == 2 else output).tolist()
        self.log.write(columns, values)
        return values


SERVICE: Any = ModelService  # a bentoml.Service once decorated
# BentoML derives a list output's media type from its JSON schema on every response (a new
# pydantic TypeAdapter each time, ~15% of a worker's event-loop CPU); it is always JSON here.
SERVICE.apis[CONFIG["api"]].output_spec.media_type = "application/json"
SERVICE.add_asgi_middleware(BodyLimit, limit=int(CONFIG["max_request_bytes"]))
SERVICE.add_asgi_middleware(SageMakerContract, api=CONFIG["api"])
