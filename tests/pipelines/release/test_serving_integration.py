"""The demo Bento served by real BentoML: predictions match MLflow, the prediction log, health
and metrics, edge validation (4xx, never 5xx) and schemathesis against the OpenAPI schema."""

from __future__ import annotations

import json
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import hypothesis
import numpy as np
import pytest
import schemathesis
from hypothesis import strategies as st
from schemathesis import Case, GenerationMode

from pipelines.build.bento import BuildResult, bentoml_env, build_bento
from pipelines.core.specs import load_spec
from pipelines.core.workspace import Workspace
from pipelines.demo.init import InitResult
from tests.fakes.bento_server import Server, process_tree, processes_serving, serving
from validators.spec import model as m

pytestmark = pytest.mark.integration
Demo = tuple[Workspace, InitResult]
Row = dict[str, Any]
AnyCase = Case[Any]
MODEL = "models:/credit-risk/1"
HOLDOUT_ROWS = 150
SCHEMATHESIS_EXAMPLES = 300


@dataclass(frozen=True)
class Served:
    server: Server
    bento: BuildResult
    config: dict[str, Any]
    predictions: Path  # SHIPYARD_PREDICTION_LOG_DIR

    @property
    def api(self) -> str:
        return f"{self.server.url}/{self.config['api']}"

    @property
    def columns(self) -> list[str]:
        return [c["name"] for c in self.config["columns"]]


@pytest.fixture(scope="module")
def served(demo: Demo, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    ws, _ = demo
    spec_file = ws.root / "specs" / "credit-risk.yaml"
    bento = build_bento(load_spec(spec_file, ws.root), spec_file, ws, say=lambda _: None)
    config = json.loads((bento.path / "src" / "shipyard.json").read_text(encoding="utf-8"))
    run = tmp_path_factory.mktemp("serving")
    env = {
        **bentoml_env(ws),
        "SHIPYARD_PREDICTION_LOG_DIR": str(run / "predictions"),
        "SHIPYARD_SLOT": "stable",
    }
    with serving(bento.tag, env, run / "server.log") as server:
        assert len(process_tree(server.pgid)) > int(config["workers"])  # the server and its workers
        yield Served(server, bento, config, run / "predictions")
    assert not processes_serving(bento.tag), "bentoml serve left processes behind"


@pytest.fixture(scope="module")
def client(served: Served) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=served.server.url, timeout=30) as http:
        yield http


@pytest.fixture(scope="module")
def holdout(demo: Demo, served: Served) -> list[Row]:
    import pandas as pd

    ws, _ = demo
    frame = pd.read_csv(ws.root / "data/credit/holdout.csv", nrows=HOLDOUT_ROWS)
    return [
        {k: v.item() if isinstance(v, np.generic) else v for k, v in record.items()}
        for record in frame[served.columns].to_dict(orient="records")
    ]


def predict(client: httpx.Client, served: Served, rows: list[Row]) -> list[float]:
    response = client.post(f"/{served.config['api']}", json={"rows": rows})
    assert response.status_code == 200, response.text
    values: list[float] = response.json()
    return values


def predict_all(client: httpx.Client, served: Served, rows: list[Row]) -> list[float]:
    size = int(served.config["max_batch_size"])
    return [
        v for i in range(0, len(rows), size) for v in predict(client, served, rows[i : i + size])
    ]


def test_predictions_match_mlflow_pyfunc(
    demo: Demo, served: Served, client: httpx.Client, holdout: list[Row]
) -> None:
    import mlflow
    import pandas as pd

    ws, _ = demo
    served_values = predict_all(client, served, holdout)
    mlflow.set_tracking_uri(ws.mlflow_uri)
    mlflow.set_registry_uri(ws.mlflow_uri)
    model = mlflow.pyfunc.load_model(MODEL)
    output = np.asarray(model.predict(pd.DataFrame(holdout, columns=served.columns)))
    expected = output[:, -1] if output.ndim == 2 else output
    assert len(served_values) == len(holdout)
    assert all(0.0 <= v <= 1.0 for v in served_values)
    np.testing.assert_allclose(served_values, expected, rtol=0, atol=1e-9)
    assert len(set(served_values)) > 1


def test_health_endpoints_answer(client: httpx.Client) -> None:
    assert client.get("/readyz").status_code == 200
    assert client.get("/livez").status_code == 200


def test_the_sagemaker_container_contract_is_answered(
    served: Served, client: httpx.Client, holdout: list[Row]
) -> None:
    """SageMaker sends GET /ping and POST /invocations: the same readiness and the same
    predictions as BentoML's own routes, so the containerized Bento runs there as it is."""
    assert client.get("/ping").status_code == 200
    rows = holdout[:5]
    answer = client.post("/invocations", json={"rows": rows})
    assert answer.status_code == 200, answer.text
    assert answer.json() == predict(client, served, rows)
    refused = client.post("/invocations", json={"rows": [{"nonsense": 1}]})
    assert 400 <= refused.status_code < 500, refused.text  # validated at the edge, as /predict
    assert client.get("/invocations").status_code in (404, 405)  # only POST is rewritten


def test_the_serving_gates_run_through_sagemaker_invocations(
    demo: Demo, served: Served, holdout: list[Row], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An `aws` slot's serving gates: signed InvokeEndpoint calls (the real AWS SDK) to a local
    stand-in for SageMaker's runtime that hands each body to the served Bento's
    /invocations, as SageMaker hands it to the container."""
    from pipelines.release.serving import serving_gates
    from stacks.aws.sagemaker import SageMakerClient
    from tests.fakes.sagemaker import fake_sagemaker, in_service

    ws, _ = demo
    spec = load_spec(ws.root / "specs" / "credit-risk.yaml", ws.root)
    assert spec.gates is not None
    assert spec.gates.serving is not None
    # the plumbing is under test, not the latency: the stand-in adds a hop
    load = m.LoadProfile(rps=20, duration="3s")
    serving = spec.gates.serving.model_copy(update={"load": load, "latency_p95_ms": 1000})
    spec = spec.model_copy(update={"gates": spec.gates.model_copy(update={"serving": serving})})

    bento = httpx.Client(base_url=served.server.url, timeout=30)

    def container(_variant: str | None, body: bytes) -> tuple[int, bytes]:
        answer = bento.post("/invocations", content=body)
        return answer.status_code, answer.content

    url = "sagemaker://eu-west-1/credit-risk-production?variant=stable"
    with bento, fake_sagemaker(monkeypatch, container, in_service(("stable", 1))) as fake:
        results = serving_gates(spec, SageMakerClient(url), holdout[:50])
    by_name = {r.name: r for r in results}
    assert all(r.passed for r in results), [r.summary() for r in results]
    assert set(by_name) == {"smoke", "latency p95 ms", "error rate"}
    assert by_name["latency p95 ms"].evidence["requests"] == 60  # 20 rps for 3 s
    assert by_name["latency p95 ms"].evidence["client_capacity_rps"] is None
    assert len(fake.invocations) == 20 + 60  # the smoke rows, then the load
    assert {i["variant"] for i in fake.invocations} == {"stable"}


def test_metrics_count_requests_and_latency(
    served: Served, client: httpx.Client, holdout: list[Row]
) -> None:
    predict(client, served, holdout[:3])
    response = client.get("/metrics")
    assert response.status_code == 200
    endpoint = f'endpoint="/{served.config["api"]}"'
    lines = [line for line in response.text.splitlines() if endpoint in line]
    requests = [line for line in lines if line.startswith("bentoml_service_request_total{")]
    assert any('http_response_code="200"' in line for line in requests), lines
    assert sum(float(line.rsplit(" ", 1)[1]) for line in requests) >= 1
    histogram = "bentoml_service_request_duration_seconds_bucket{"
    assert any(line.startswith(histogram) for line in lines), lines


def read_log(directory: Path) -> list[dict[str, Any]]:
    return [
        json.loads(line)
        for path in sorted(directory.glob("predictions-*.jsonl"))
        for line in path.read_text(encoding="utf-8").splitlines()
    ]


def test_prediction_log_has_one_line_per_row(
    served: Served, client: httpx.Client, holdout: list[Row]
) -> None:
    marker = f"log-{uuid.uuid4().hex[:8]}"  # an unseen region: the model encodes it as unknown
    rows = [{**row, "region": marker} for row in holdout[:5]]
    values = predict(client, served, rows[:2]) + predict(client, served, rows[2:])
    entries = [e for e in read_log(served.predictions) if e["input"]["region"] == marker]
    assert len(entries) == len(rows)
    by_row = sorted(entries, key=lambda e: rows.index(e["input"]))
    assert [e["input"] for e in by_row] == rows
    assert [e["output"] for e in by_row] == values
    for entry in entries:
        assert entry["slot"] == "stable"
        assert entry["model"] == MODEL
        assert isinstance(entry["ts"], float)
        assert set(entry) == {"ts", "slot", "model", "input", "output"}


Body = Callable[[Row, dict[str, Any]], bytes]


def rows_json(rows: list[Any]) -> bytes:
    return json.dumps({"rows": rows}).encode()


def with_field(**changes: Any) -> Body:
    return lambda row, _: rows_json([{**row, **changes}])


def without(field: str) -> Body:
    return lambda row, _: rows_json([{k: v for k, v in row.items() if k != field}])


MALFORMED: list[tuple[str, Body, str]] = [
    ("wrong-type", with_field(age="forty"), "age"),
    ("float-for-integer", with_field(age=44.5), "age"),
    ("bool-for-integer", with_field(age=True), "age"),
    ("number-for-string", with_field(region=3), "region"),
    ("integer-beyond-float-range", with_field(age=10**400), "age"),
    ("missing-feature", without("income"), "income"),
    ("extra-feature", with_field(favourite_colour="blue"), "favourite_colour"),
    ("nan", with_field(debt_ratio=float("nan")), "debt_ratio"),
    ("infinity", with_field(debt_ratio=float("inf")), "debt_ratio"),
    ("minus-infinity", with_field(savings=float("-inf")), "savings"),
    ("null-not-nullable", with_field(income=None), "income"),
    ("empty-rows", lambda row, _: rows_json([]), "rows"),
    ("too-many-rows", lambda row, c: rows_json([row] * (c["max_batch_size"] + 1)), "rows"),
    ("rows-not-a-list", lambda row, _: json.dumps({"rows": row}).encode(), "rows"),
    ("row-not-an-object", lambda row, _: rows_json([[*row.values()]]), "rows"),
    ("no-rows-key", lambda row, _: json.dumps({"data": [row]}).encode(), "rows"),
    ("top-level-list", lambda row, _: json.dumps([row]).encode(), "object"),
    ("not-json", lambda row, _: b"age=44&income=1", "JSON"),
    ("truncated-json", lambda row, _: rows_json([row])[:-5], "JSON"),
]


@pytest.mark.parametrize(("body", "names"), [pytest.param(b, n, id=i) for i, b, n in MALFORMED])
def test_malformed_requests_are_4xx_naming_the_field(
    served: Served, client: httpx.Client, holdout: list[Row], body: Body, names: str
) -> None:
    response = client.post(
        f"/{served.config['api']}",
        content=body(holdout[0], served.config),
        headers={"content-type": "application/json"},
    )
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert names in response.text
    assert response.json()["error"]


def oversized(served: Served, row: Row) -> bytes:
    limit = int(served.config["max_request_bytes"])
    return rows_json([{**row, "region": "x" * (limit + 1)}])


def test_a_body_over_max_request_size_is_413(
    served: Served, client: httpx.Client, holdout: list[Row]
) -> None:
    body = oversized(served, holdout[0])
    response = client.post(
        f"/{served.config['api']}", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text[:300]
    assert f"at most {served.config['max_request_bytes']}" in response.json()["error"]


def test_a_chunked_body_over_max_request_size_is_413(
    served: Served, client: httpx.Client, holdout: list[Row]
) -> None:
    body = oversized(served, holdout[0])
    step = 1 << 20
    chunks = (body[i : i + step] for i in range(0, len(body), step))  # no content-length
    response = client.post(
        f"/{served.config['api']}", content=chunks, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413, response.text[:300]


def test_schemathesis_finds_no_server_errors(served: Served) -> None:
    url = served.server.url
    schema = schemathesis.openapi.from_url(f"{url}/docs.json", timeout=10)
    api = f"/{served.config['api']}"
    endpoints = [(api, "POST"), ("/readyz", "GET"), ("/livez", "GET"), ("/metrics", "GET")]
    assert {path for path, _ in endpoints} <= set(schema.raw_schema["paths"])
    statuses: Counter[tuple[str, int]] = Counter()
    server_errors: list[str] = []

    def call(case: AnyCase) -> None:
        response = case.call(base_url=url, timeout=30)
        statuses[(case.operation.label, response.status_code)] += 1
        if response.status_code >= 500:
            server_errors.append(
                f"{response.status_code} {response.content[:300]!r}\n  {case.as_curl_command()}"
            )

    def run(strategy: st.SearchStrategy[AnyCase], examples: int) -> None:
        @hypothesis.settings(
            max_examples=examples,
            deadline=None,
            database=None,
            phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
            suppress_health_check=list(hypothesis.HealthCheck),
        )
        @hypothesis.given(strategy)
        def explore(case: AnyCase) -> None:
            call(case)

        explore()

    operation = schema[api]["POST"]
    run(
        st.one_of(
            operation.as_strategy(GenerationMode.POSITIVE),
            operation.as_strategy(GenerationMode.NEGATIVE),
        ),
        SCHEMATHESIS_EXAMPLES,
    )
    for path, method in endpoints[1:]:
        run(schema[path][method].as_strategy(GenerationMode.POSITIVE), 5)

    print(f"schemathesis: {sum(statuses.values())} requests, {dict(sorted(statuses.items()))}")
    assert not server_errors, "\n".join(server_errors)
    api_label = f"POST {api}"
    assert sum(n for (label, _), n in statuses.items() if label == api_label) >= (
        SCHEMATHESIS_EXAMPLES * 0.9
    )
    assert statuses[(api_label, 200)] > 0
    assert sum(n for (label, code), n in statuses.items() if label == api_label and code >= 400)
