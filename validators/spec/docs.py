"""Render docs/spec.md from the generated JSON Schema: every object, field, type, default,
description and example. A test fails when the committed file is stale."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from validators.spec.fields import PATTERN_MEANING

DOCS_PATH = Path(__file__).resolve().parents[2] / "docs" / "spec.md"

INTRO = """\
# The ModelDeployment spec (`shipyard/v1`)

<!-- Generated from validators/spec/modeldeployment.v1.schema.json by
     `python -m validators.spec.schema --write`; do not edit by hand. -->

Each model service is one YAML file under `specs/`. Start every file with the modeline below so
editors running yaml-language-server (VS Code's YAML extension, Neovim, JetBrains) complete
fields and flag mistakes as you type:

```yaml
# yaml-language-server: $schema=../validators/spec/modeldeployment.v1.schema.json
apiVersion: shipyard/v1
kind: ModelDeployment
```

`shipyard validate` checks the same rules and more (weights that increase and end at 100,
enough approvers, referenced files that exist) and reports every problem at
`file:line:column` with the field path and a fix. `shipyard schema` prints the schema.

Fields marked *required* must be given; every other field may be left out, and then takes the
default shown (or none). Unknown fields are errors.
"""


def _name(ref: str) -> str:
    return ref.rsplit("/", 1)[-1]


def _ref(prop: dict[str, Any]) -> str | None:
    if "$ref" in prop:
        return _name(prop["$ref"])
    for inner in prop.get("allOf", []):
        if "$ref" in inner:
            return _name(inner["$ref"])
    return None


def _type(prop: dict[str, Any]) -> str:
    ref = _ref(prop)
    if ref:
        return f"[{ref}](#{ref.lower()})"
    if "const" in prop:
        return f"`{prop['const']}`"
    if "enum" in prop:
        return "one of " + ", ".join(f"`{v}`" for v in prop["enum"])
    kind = prop.get("type", "any")
    if kind == "array":
        text = f"list of {_type(prop.get('items', {}))}"
        if prop.get("minItems"):
            text += f" (at least {prop['minItems']})"
        return text
    if kind == "object":
        keys = _type({"type": "string", **prop.get("propertyNames", {})})
        values = prop.get("additionalProperties", {})
        return f"map of {keys} to {_type(values) if isinstance(values, dict) else 'any'}"
    return str(kind) + _bounds(prop)


def _bounds(prop: dict[str, Any]) -> str:
    if "pattern" in prop:
        return f": {PATTERN_MEANING.get(prop['pattern'], prop['pattern'])}"
    low = prop.get("minimum", prop.get("exclusiveMinimum"))
    high = prop.get("maximum", prop.get("exclusiveMaximum"))
    if low is None and high is None:
        return ""
    left = "(" if "exclusiveMinimum" in prop else "["
    right = ")" if "exclusiveMaximum" in prop else "]"
    return f" in {left}{'' if low is None else low}, {'' if high is None else high}{right}"


def _cell(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, str) else value
    return text.replace("|", "\\|").replace("\n", " ")


def _order(schema: dict[str, Any]) -> list[str]:
    """Objects in the order a reader meets them, from the root down."""
    seen: list[str] = []
    queue = ["ModelDeployment"]
    definitions = schema["definitions"]
    while queue:
        name = queue.pop(0)
        if name in seen:
            continue
        seen.append(name)
        node = schema if name == "ModelDeployment" else definitions[name]
        for prop in node.get("properties", {}).values():
            for candidate in (prop, prop.get("items", {})):
                ref = _ref(candidate)
                if ref and ref not in seen:
                    queue.append(ref)
    return seen


def _section(name: str, node: dict[str, Any]) -> list[str]:
    lines = [f"## {name}", "", node.get("description", ""), ""]
    if "oneOf" in node:
        keys = [", ".join(f"`{k}`" for k in alt["required"]) for alt in node["oneOf"]]
        lines += [f"Exactly one of: {' / '.join(keys)}.", ""]
    lines += [
        "| field | type | required | default | description | example |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    required = set(node.get("required", []))
    for key, prop in node.get("properties", {}).items():
        default = f"`{_cell(prop['default'])}`" if "default" in prop else ""
        example = f"`{_cell(prop['examples'][0])}`" if prop.get("examples") else ""
        lines.append(
            f"| `{key}` | {_type(prop)} | {'required' if key in required else ''} | {default} "
            f"| {_cell(prop.get('description', ''))} | {example} |"
        )
    return [*lines, ""]


def render_docs(schema: dict[str, Any]) -> str:
    lines = [INTRO]
    for name in _order(schema):
        node = schema if name == "ModelDeployment" else schema["definitions"][name]
        lines += _section(name, node)
    return "\n".join(lines).rstrip() + "\n"
