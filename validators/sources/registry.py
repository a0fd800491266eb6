"""The MLflow model registry: resolve a spec's model URI, load and score the model."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from validators.errors import ValidatorError

if TYPE_CHECKING:
    import pandas as pd

URI = re.compile(r"^models:/(?P<name>[^/@]+)(/(?P<version>\d+)|@(?P<alias>.+))$")

# The MLflow tag a model version carries: the DVC path@rev of the data it was trained on.
TRAINING_DATA_TAG = "shipyard.training_data"


class RegistryError(ValidatorError):
    """The model URI does not resolve, or the model cannot score the data."""

    exit_code = 2


@dataclass(frozen=True)
class ModelVersion:
    """One registered version; `tags` are the version's MLflow tags."""

    name: str
    version: str
    run_id: str
    tags: dict[str, str] = field(default_factory=dict)

    @property
    def uri(self) -> str:
        return f"models:/{self.name}/{self.version}"


class Registry:
    """MLflow registry at `tracking_uri` (the embedded default is a SQLite file)."""

    def __init__(self, tracking_uri: str) -> None:
        self.tracking_uri = tracking_uri

    def _client(self) -> Any:
        from mlflow import MlflowClient

        return MlflowClient(tracking_uri=self.tracking_uri, registry_uri=self.tracking_uri)

    def resolve(self, uri: str) -> ModelVersion:
        """The version `uri` names (`models:/n/3` or `models:/n@alias`)."""
        from mlflow.exceptions import MlflowException

        match = URI.match(uri)
        if not match:
            raise RegistryError(f"model.uri: {uri!r} is not models:/NAME/VERSION or @ALIAS")
        name, version, alias = match["name"], match["version"], match["alias"]
        try:
            client = self._client()
            found = (
                client.get_model_version(name, version)
                if version
                else client.get_model_version_by_alias(name, alias)
            )
        except MlflowException as exc:
            raise RegistryError(
                f"model.uri: {uri} is not in the MLflow registry at {self.tracking_uri}: "
                f"{exc.message.splitlines()[0]}",
                hint="check the name and version (`mlflow models` / the MLflow UI), or run "
                "`shipyard init` to register the demo models",
            ) from None
        return ModelVersion(found.name, str(found.version), found.run_id or "", dict(found.tags))

    def alias(self, name: str, alias: str) -> ModelVersion | None:
        """The version holding `alias`, or None when no version holds it."""
        try:
            return self.resolve(f"models:/{name}@{alias}")
        except RegistryError:
            return None

    def set_alias(self, name: str, alias: str, version: str) -> None:
        """Point `models:/name@alias` at `version` (aliases follow promotions)."""
        self._client().set_registered_model_alias(name, alias, version)

    def register_copy(self, name: str, version: str) -> str:
        """A new version of `name` from the same model files, run and training-data tag, as a
        retrain that came out the same registers; its number."""
        import mlflow

        mlflow.set_tracking_uri(self.tracking_uri)  # where the logged model is looked up
        client = self._client()
        source = client.get_model_version(name, version)
        # A logged model's source (`models:/m-...`): a tracking server accepts it only with
        # the model's id, which its answers leave out.
        logged = (
            source.source.removeprefix("models:/")
            if source.source.startswith("models:/m-")
            else None
        )
        copy = client.create_model_version(
            name,
            source.source,
            run_id=source.run_id,
            tags={k: v for k, v in source.tags.items() if k == TRAINING_DATA_TAG},
            model_id=getattr(source, "model_id", None) or logged,
        )
        return str(copy.version)

    def download_location(self, version: ModelVersion) -> str:
        """Where the version's artifacts are (e.g. `file:///.../artifacts`)."""
        return str(self._client().get_model_version_download_uri(version.name, version.version))

    def load(self, version: ModelVersion) -> LoadedModel:
        import mlflow.pyfunc

        # The artifacts' own location: no global tracking URI is involved.
        model = mlflow.pyfunc.load_model(self.download_location(version))
        schema = model.metadata.get_input_schema()
        inputs = list(schema.input_names()) if schema is not None else []
        return LoadedModel(version, model, inputs)


@dataclass(frozen=True)
class LoadedModel:
    version: ModelVersion
    model: Any
    input_columns: list[str]

    def score(self, frame: pd.DataFrame, field_name: str) -> np.ndarray[Any, Any]:
        """The model's output on `frame`: the positive-class probability for a classifier
        returning probabilities, else the predictions as floats."""
        missing = [c for c in self.input_columns if c not in frame.columns]
        if missing:
            raise RegistryError(
                f"{field_name}: the data lacks column(s) {', '.join(missing)} that "
                f"{self.version.uri} takes (its signature)",
                hint="use data with the model's input columns, or set model.input_schema",
            )
        columns = self.input_columns or list(frame.columns)
        try:
            output = self.model.predict(frame[columns])
        except Exception as exc:  # a pyfunc flavour may raise anything on bad input
            reason = str(exc).rsplit("Error: ", 1)[-1].strip().splitlines()[0][:300]
            raise RegistryError(
                f"{field_name}: {self.version.uri} failed to score the data: {reason}",
                hint="make the data's column types match the model's signature",
            ) from None
        values = np.asarray(output, dtype=np.float64)
        if values.ndim == 2:
            values = values[:, -1]
        return values
