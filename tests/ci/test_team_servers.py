"""The servers a team's state lives on, as the suite starts them: a real PostgreSQL, and a real
`mlflow server` whose backend store is a database of it (tests/fakes/postgres.py,
tests/fakes/mlflow_server.py)."""

from __future__ import annotations

import subprocess

import psycopg
import pytest
from mlflow.tracking import MlflowClient

from tests.fakes.mlflow_server import MlflowServer
from tests.fakes.postgres import PostgresServer

pytestmark = pytest.mark.integration


def test_a_table_written_through_psql_is_read_back(
    postgres_server: PostgresServer, postgres_url: str
) -> None:
    dbname = postgres_url.rsplit("/", 1)[1]
    assert (
        postgres_url == f"postgresql+psycopg://shipyard@127.0.0.1:{postgres_server.port}/{dbname}"
    )
    psql = [str(postgres_server.bindir / "psql"), "--no-psqlrc", "-v", "ON_ERROR_STOP=1", "-q"]
    subprocess.run(
        [
            *psql,
            postgres_server.dsn(dbname),
            "-c",
            "CREATE TABLE releases (env text, version int);",
            "-c",
            "INSERT INTO releases VALUES ('staging', 3), ('production', 2);",
        ],
        check=True,
        capture_output=True,
    )
    with psycopg.connect(postgres_server.dsn(dbname)) as conn:
        rows = conn.execute("SELECT env, version FROM releases ORDER BY version").fetchall()
        encoding = conn.execute("SHOW server_encoding").fetchone()
    assert rows == [("production", 2), ("staging", 3)]
    assert encoding == ("UTF8",)


def test_a_model_version_registered_through_the_server_lands_in_postgres(
    mlflow_tracking_server: MlflowServer, mlflow_server: str, postgres_server: PostgresServer
) -> None:
    assert mlflow_server == mlflow_tracking_server.url
    client = MlflowClient(tracking_uri=mlflow_server, registry_uri=mlflow_server)
    experiment = client.create_experiment("team-servers")
    run = client.create_run(experiment)
    client.log_text(run.info.run_id, "weights", "model/weights.txt")  # through the proxy
    client.set_terminated(run.info.run_id)
    client.create_registered_model("credit-risk")
    created = client.create_model_version(
        "credit-risk", f"runs:/{run.info.run_id}/model", run_id=run.info.run_id
    )
    client.set_registered_model_alias("credit-risk", "staging", created.version)

    read = client.get_model_version_by_alias("credit-risk", "staging")
    assert (read.name, read.version, read.run_id) == ("credit-risk", "1", run.info.run_id)
    stored = list(mlflow_tracking_server.artifacts.rglob("weights.txt"))
    assert [p.read_text() for p in stored] == ["weights"]
    backend = mlflow_tracking_server.backend_store_uri.rsplit("/", 1)[1]
    with psycopg.connect(postgres_server.dsn(backend)) as conn:
        versions = conn.execute("SELECT name, version FROM model_versions").fetchall()
    assert versions == [("credit-risk", 1)]
