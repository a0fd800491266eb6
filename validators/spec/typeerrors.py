"""Turn pydantic's validation errors into spec findings a person can act on."""

from __future__ import annotations

import datetime as dt
import difflib
import types
import typing
from typing import Any

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from validators.spec import messages as msg
from validators.spec.fields import DURATION, PATTERN_MEANING
from validators.spec.findings import Issue, Path_

EXPECTED = {
    "string_type": "a string",
    "int_type": "an integer",
    "float_type": "a number",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
}


def describe(value: Any, text: str | None = None) -> str:
    """How a YAML value reads to a person: `string "abc"`, `integer 3`, `a list`; numbers
    are shown as written (`text`) when known."""
    if isinstance(value, int | float) and not isinstance(value, bool) and text is not None:
        return f"{'integer' if isinstance(value, int) else 'number'} {text}"
    if value is None:
        return "an empty value (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, int):
        return f"integer {value}"
    if isinstance(value, float):
        return f"number {value:g}"
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f'string "{shown}"'
    if isinstance(value, dt.date):
        return f"date {value.isoformat()}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def _unwrap(annotation: Any) -> list[Any]:
    """The model classes an annotation can hold (through Optional, list, dict, Annotated)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _unwrap(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return [m for arg in typing.get_args(annotation) for m in _unwrap(arg)]
    if origin in (list, tuple):
        return _unwrap(typing.get_args(annotation)[0])
    if origin is dict:
        return _unwrap(typing.get_args(annotation)[1])
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return []


def model_at(root: type[BaseModel], path: Path_) -> type[BaseModel] | None:
    """The spec object found at `path` (list indexes skipped), or None."""
    current: type[BaseModel] | None = root
    for part in path:
        if current is None:
            return None
        if isinstance(part, int):
            continue
        by_alias = {f.alias or n: f for n, f in current.model_fields.items()}
        info = by_alias.get(part)
        if info is None:
            return None
        found = _unwrap(info.annotation)
        current = found[0] if found else None
    return current


def field_names(model: type[BaseModel]) -> list[str]:
    return [f.alias or n for n, f in model.model_fields.items()]


def from_error(root: type[BaseModel], error: ErrorDetails, scalars: dict[Path_, str]) -> Issue:
    """One pydantic error -> one issue with a message from `messages`."""
    loc = tuple(error["loc"])
    kind = error["type"]
    ctx = error.get("ctx", {})
    value = error.get("input")
    on_key = bool(loc) and loc[-1] == "[key]"
    path: Path_ = tuple(p for p in loc if p != "[key]")

    if kind == "extra_forbidden":
        return _unknown_field(root, path)
    if kind == "missing":
        return Issue(path[:-1], msg.MISSING_FIELD.format(key=path[-1]), on_key=True)
    written = scalars.get(path)
    found = describe(value, written)
    if kind in EXPECTED:
        meaning = _pattern_meaning(root, path) if kind == "string_type" else None
        expected = meaning or EXPECTED[kind]
        hint = _string_hint(value, written, meaning) if kind == "string_type" else ""
        return Issue(path, msg.WRONG_TYPE.format(expected=expected, found=found), hint)
    if kind == "literal_error":
        expected = str(ctx.get("expected", ""))
        choices = [c.strip().strip("'") for c in expected.replace(" or ", ", ").split(",")]
        hint = _suggest(value, choices) if isinstance(value, str) else ""
        if len(choices) == 1:
            return Issue(path, msg.NOT_EXACTLY.format(choice=choices[0], found=found))
        text = msg.NOT_ONE_OF.format(choices=", ".join(choices), found=found)
        return Issue(path, text, hint)
    if kind == "string_pattern_mismatch":
        meaning = PATTERN_MEANING.get(str(ctx.get("pattern")), f"matching {ctx.get('pattern')}")
        text = msg.BAD_PATTERN.format(found=describe(value), meaning=meaning)
        return Issue(path, text, on_key=on_key)
    if kind in ("greater_than_equal", "greater_than"):
        limit = ctx.get("ge", ctx.get("gt"))
        return Issue(path, msg.BELOW_MIN.format(found=value, limit=limit))
    if kind in ("less_than_equal", "less_than"):
        limit = ctx.get("le", ctx.get("lt"))
        return Issue(path, msg.ABOVE_MAX.format(found=value, limit=limit))
    if kind == "too_short":
        count = len(value) if isinstance(value, list | dict) else 0
        return Issue(path, msg.TOO_SHORT.format(limit=ctx.get("min_length"), count=count))
    if kind == "string_too_long":
        length = len(value) if isinstance(value, str) else 0
        return Issue(path, msg.TOO_LONG_TEXT.format(count=length, limit=ctx["max_length"]))
    return Issue(path, error["msg"])


def _unknown_field(root: type[BaseModel], path: Path_) -> Issue:
    key = str(path[-1])
    owner = model_at(root, path[:-1])
    known = field_names(owner) if owner else []
    hint = _suggest(key, known) or (
        msg.VALID_FIELDS.format(fields=", ".join(known)) if known else ""
    )
    return Issue(path, msg.UNKNOWN_FIELD.format(key=key), hint, on_key=True)


def _suggest(value: str, choices: list[str]) -> str:
    lowered = {c.lower(): c for c in choices}
    match = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return msg.DID_YOU_MEAN.format(suggestion=lowered[match[0]]) if match else ""


ARTICLES = {"integer": "an integer", "number": "a number", "boolean": "a boolean", "date": "a date"}


def _string_hint(value: Any, text: str | None, meaning: str | None) -> str:
    if value is None or isinstance(value, list | dict) or text is None:
        return ""
    if meaning == PATTERN_MEANING[DURATION] and isinstance(value, int | float):
        return msg.UNIT_HINT.format(example=f"{text}s")
    kind = ARTICLES.get(describe(value).split(" ")[0], "another type")
    return msg.QUOTE_HINT.format(found=text, kind=kind, text=text)


def _pattern_meaning(root: type[BaseModel], path: Path_) -> str | None:
    """What the string field at `path` must look like, when it has a pattern."""
    keys = [i for i, part in enumerate(path) if isinstance(part, str)]
    if not keys:
        return None
    owner = model_at(root, path[: keys[-1]])
    info = (
        {f.alias or n: f for n, f in owner.model_fields.items()}.get(str(path[keys[-1]]))
        if owner
        else None
    )
    if info is None:
        return None
    for item in [*info.metadata, *_annotated_metadata(info.annotation)]:
        pattern = getattr(item, "pattern", None)
        if isinstance(pattern, str) and pattern in PATTERN_MEANING:
            return PATTERN_MEANING[pattern]
    return None


def _annotated_metadata(annotation: Any) -> list[Any]:
    """Metadata of `Annotated[...]` inside Optional/list wrappers."""
    found: list[Any] = []
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        found += list(annotation.__metadata__)
    for arg in typing.get_args(annotation):
        if origin is not typing.Annotated:
            found += _annotated_metadata(arg)
    return found
