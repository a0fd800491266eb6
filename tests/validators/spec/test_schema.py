"""The committed JSON Schema and docs/spec.md are generated from the types, and are current."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from jsonschema import Draft7Validator

from validators.spec import schema
from validators.spec.docs import DOCS_PATH, render_docs

REGENERATE = "run `python -m validators.spec.schema --write` and review the diff"


def test_committed_schema_is_current() -> None:
    assert schema.committed() == schema.render(), f"schema is stale: {REGENERATE}"


def test_committed_docs_are_current() -> None:
    expected = render_docs(schema.generate())
    assert DOCS_PATH.read_text(encoding="utf-8") == expected, f"docs are stale: {REGENERATE}"


def test_schema_is_valid_draft07_without_newer_keywords() -> None:
    document = schema.generate()
    Draft7Validator.check_schema(document)
    text = json.dumps(document)
    for newer in ('"$defs"', '"prefixItems"', '"unevaluatedProperties"', '"dependentRequired"'):
        assert newer not in text, f"{newer} is not draft-07"
    assert document["$schema"] == "http://json-schema.org/draft-07/schema#"


def test_every_property_has_a_description() -> None:
    document = schema.generate()
    objects = {"ModelDeployment": document, **document["definitions"]}
    undocumented = [
        f"{name}.{key}"
        for name, node in objects.items()
        for key, prop in node.get("properties", {}).items()
        if not prop.get("description") and not _ref_description(document, prop)
    ]
    assert undocumented == []


def _ref_description(document: dict[str, Any], prop: dict[str, Any]) -> bool:
    """A `$ref` property may take its description from the object it points to."""
    refs = [prop.get("$ref"), *(inner.get("$ref") for inner in prop.get("allOf", []))]
    definitions = document["definitions"]
    return any(
        isinstance(ref, str) and definitions[ref.rsplit("/", 1)[-1]].get("description")
        for ref in refs
    )


def test_schema_command_prints_the_committed_file() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "pipelines", "schema"], capture_output=True, text=True, check=True
    )
    assert out.stdout == schema.committed()


def test_every_spec_in_the_repo_has_the_modeline_and_is_valid(repo: Path) -> None:
    specs = sorted((repo / "specs").glob("*.yaml"))
    assert specs, "specs/ holds the demo's specs"
    for spec in specs:
        first = spec.read_text(encoding="utf-8").splitlines()[0]
        assert first == (
            "# yaml-language-server: $schema=../validators/spec/modeldeployment.v1.schema.json"
        ), spec
    result = subprocess.run(
        [sys.executable, "-m", "pipelines", "-C", str(repo), "validate"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.splitlines()[-1] == f"{len(specs)} spec(s) checked: {len(specs)} valid"
