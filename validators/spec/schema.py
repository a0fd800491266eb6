"""The committed JSON Schema, generated from the typed objects (the one source of truth).

Draft-07 only (what yaml-language-server understands): `definitions` instead of `$defs`, no
`null` branches for optional fields, defaults from `resolved.DEFAULTS`.

    python -m validators.spec.schema --write    # regenerate the schema and docs/spec.md
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic.json_schema import GenerateJsonSchema, JsonSchemaValue
from pydantic_core import core_schema

from validators.spec import model as m
from validators.spec.resolved import DEFAULTS

SCHEMA_PATH = Path(__file__).with_name("modeldeployment.v1.schema.json")


class _Draft07(GenerateJsonSchema):
    schema_dialect = "http://json-schema.org/draft-07/schema#"

    def nullable_schema(self, schema: core_schema.NullableSchema) -> JsonSchemaValue:
        # Optional fields are simply not required; `null` is not a value users write.
        return self.generate_inner(schema["schema"])

    def field_title_should_be_set(self, schema: Any) -> bool:
        return False


def _objects() -> dict[str, type[m.SpecObject]]:
    return {
        obj.__name__: obj
        for obj in vars(m).values()
        if isinstance(obj, type) and issubclass(obj, m.SpecObject) and obj is not m.SpecObject
    }


def _tidy(definition: dict[str, Any], owner: type[m.SpecObject]) -> None:
    """Drop `default: null`, add real defaults, keep properties in declaration order."""
    aliases = {f.alias or name: name for name, f in owner.model_fields.items()}
    for key, prop in definition.get("properties", {}).items():
        if prop.get("default", ...) is None:
            del prop["default"]
        name = aliases.get(key, key)
        if (owner, name) in DEFAULTS:
            prop["default"] = DEFAULTS[(owner, name)]
    definition.pop("title", None)


def _draft07(node: Any) -> Any:
    """Draft-07 ignores keywords beside `$ref`: move the `$ref` into an `allOf`. A map with
    constrained keys becomes `propertyNames` + `additionalProperties`, so bad keys fail."""
    if isinstance(node, dict):
        node = {key: _draft07(value) for key, value in node.items()}
        if "$ref" in node and len(node) > 1:
            node["allOf"] = [{"$ref": node.pop("$ref")}]
        if len(node.get("patternProperties", {})) == 1:
            ((key_pattern, values),) = node.pop("patternProperties").items()
            node["propertyNames"] = {"pattern": key_pattern}
            node["additionalProperties"] = values
        return node
    if isinstance(node, list):
        return [_draft07(item) for item in node]
    return node


def generate() -> dict[str, Any]:
    """The schema document, as it is committed."""
    raw = m.ModelDeployment.model_json_schema(
        by_alias=True, ref_template="#/definitions/{model}", schema_generator=_Draft07
    )
    objects = _objects()
    definitions = raw.pop("$defs", {})
    for name, definition in definitions.items():
        _tidy(definition, objects[name])
    _tidy(raw, m.ModelDeployment)
    document = {
        "$schema": _Draft07.schema_dialect,
        "title": "Shipyard ModelDeployment v1",
        **raw,
        "definitions": dict(sorted(definitions.items())),
    }
    return dict(_draft07(document))


def render() -> str:
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def committed() -> str:
    return SCHEMA_PATH.read_text(encoding="utf-8")


def main() -> None:
    import argparse

    from validators.spec.docs import DOCS_PATH, render_docs

    parser = argparse.ArgumentParser(description="Regenerate or check the committed schema.")
    parser.add_argument("--write", action="store_true", help="write the schema and docs/spec.md")
    args = parser.parse_args()
    if args.write:
        SCHEMA_PATH.write_text(render(), encoding="utf-8")
        DOCS_PATH.write_text(render_docs(generate()), encoding="utf-8")
        print(f"wrote {SCHEMA_PATH} and {DOCS_PATH}")
    else:
        print(render(), end="")


if __name__ == "__main__":
    main()
