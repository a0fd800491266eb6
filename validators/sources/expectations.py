"""Great Expectations suites as reviewers write them: a YAML (or JSON) list of one-key mappings.

```yaml
name: credit
expectations:
  - expect_column_values_to_not_be_null: {column: income}
  - expect_column_values_to_be_between: {column: age, min_value: 18, max_value: 100, mostly: 0.99}
  - expect_column_values_to_be_in_set: {column: sex, value_set: [F, M], severity: warning}
```

Each key is the snake_case name of a GX 1.x expectation class, its value the class's keyword
arguments (plus `meta`, `notes`, `severity`, `description`). GX's own JSON export
(`{"type": ..., "kwargs": {...}, "meta": ...}` items) is accepted too. Every item is checked
against GX's models when the suite is loaded, so a typo fails before any data is read.
Great Expectations is imported inside the functions only: it takes seconds to import.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from validators.errors import ValidatorError

MAX_BYTES = 1024 * 1024
GALLERY = "https://greatexpectations.io/expectations/"
META_KEYS = frozenset({"meta", "notes", "severity", "description"})
SUITE_KEYS = frozenset({"name", "expectations", "meta", "notes", "id"})
NATIVE_KEYS = frozenset({"type", "kwargs", "id", "rendered_content"} | META_KEYS)
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SuiteError(ValidatorError, ValueError):
    """A suite file cannot be used; the message is one line naming file, item and fix."""

    exit_code = 2

    def __init__(
        self, path: Path, problem: str, index: int | None = None, expectation: str = ""
    ) -> None:
        where = str(path)
        if index is not None:
            where += f": expectations[{index}]"
        if expectation:
            where += f" ({expectation})"
        super().__init__(f"{where}: {problem}")
        self.path = path
        self.index = index
        self.expectation = expectation


@dataclass(frozen=True)
class SuiteItem:
    """One expectation of a suite: its type and the arguments as written."""

    index: int
    type: str
    kwargs: Mapping[str, Any]

    @property
    def args(self) -> dict[str, Any]:
        """The expectation's own arguments, without meta/notes/severity/description."""
        return {k: v for k, v in self.kwargs.items() if k not in META_KEYS}

    @property
    def label(self) -> str:
        """`expect_column_values_to_not_be_null(income)`, for people."""
        args = self.kwargs
        columns = [args.get(key) for key in ("column", "column_A", "column_B")]
        named = [str(c) for c in columns if c is not None]
        if not named and isinstance(args.get("column_list"), list):
            named = [str(c) for c in args["column_list"]]
        return f"{self.type}({', '.join(named)})" if named else self.type


@dataclass(frozen=True)
class Suite:
    name: str
    path: Path
    items: tuple[SuiteItem, ...]


def load_suite(path: Path) -> Suite:
    """Read and check a suite file; raises SuiteError on the first problem."""
    document = _read(path)
    if not isinstance(document, dict):
        raise SuiteError(path, "a suite is a mapping with `name` and `expectations`")
    unknown = sorted(set(document) - SUITE_KEYS)
    if unknown:
        raise SuiteError(path, f"unknown key(s) {unknown}; a suite has `name` and `expectations`")
    name = document.get("name", path.stem)
    if not isinstance(name, str) or not name.strip():
        raise SuiteError(path, "`name` must be a non-empty string")
    entries = document.get("expectations")
    if not isinstance(entries, list) or not entries:
        raise SuiteError(path, "`expectations` must be a non-empty list of expectations")
    items = tuple(_item(path, index, entry) for index, entry in enumerate(entries))
    for item in items:
        build_expectation(path, item)
    return Suite(name=name, path=path, items=items)


def expectation_names() -> list[str]:
    """Snake_case names of every registered GX expectation."""
    import great_expectations  # noqa: F401  (registers the core expectations)
    from great_expectations.expectations.registry import (
        list_registered_expectation_implementations,
    )

    return sorted(list_registered_expectation_implementations())


def build_expectation(path: Path, item: SuiteItem, meta: Mapping[str, Any] | None = None) -> Any:
    """The GX expectation object of `item`, `meta` merged into its own."""
    cls = _expectation_class(path, item)
    kwargs = dict(item.kwargs)
    if meta:
        kwargs["meta"] = {**(kwargs.get("meta") or {}), **meta}
    try:
        return cls(**kwargs)
    except ValueError as err:  # pydantic's ValidationError is a ValueError
        allowed = _allowed_args(cls)
        problems = _pydantic_problems(err, allowed)
        raise SuiteError(
            path,
            f"invalid arguments: {problems}; fix them (allowed: {', '.join(allowed)})",
            item.index,
            item.type,
        ) from None


def _read(path: Path) -> Any:
    try:
        raw = path.read_bytes()
    except OSError as err:
        problem = f"cannot read the suite ({err.strerror}); check the path in data.expectations"
        raise SuiteError(path, problem) from None
    if len(raw) > MAX_BYTES:
        raise SuiteError(path, f"suite file is over {MAX_BYTES} bytes")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SuiteError(path, "suite file is not UTF-8 text") from None
    if path.suffix.lower() == ".json":
        return _parse_json(path, text)
    return _parse_yaml(path, text)


def _parse_json(path: Path, text: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as err:
        problem = f"invalid JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        raise SuiteError(path, f"{problem}; fix the syntax") from None


def _parse_yaml(path: Path, text: str) -> Any:
    try:
        return yaml.load(text, Loader=_Loader)  # a safe loader
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark
        at = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise SuiteError(path, f"invalid YAML{at}: {err.problem}; fix the syntax") from None
    except yaml.YAMLError as err:
        raise SuiteError(path, f"invalid YAML: {err}; fix the syntax") from None


def _item(path: Path, index: int, entry: object) -> SuiteItem:
    if isinstance(entry, dict) and "type" in entry:
        return _native_item(path, index, entry)
    if not isinstance(entry, dict) or len(entry) != 1:
        raise SuiteError(
            path,
            "each expectation is a one-key mapping, e.g. `- expect_column_to_exist: {column: age}`",
            index,
        )
    [(name, kwargs)] = entry.items()
    return SuiteItem(index, str(name), _kwargs(path, index, str(name), kwargs))


def _native_item(path: Path, index: int, entry: dict[str, Any]) -> SuiteItem:
    """GX's own JSON form: {"type": ..., "kwargs": {...}, "meta": ..., "id": ...}."""
    name = str(entry["type"])
    unknown = sorted(set(entry) - NATIVE_KEYS)
    if unknown:
        raise SuiteError(path, f"unknown key(s) {unknown} next to `type`", index, name)
    kwargs = _kwargs(path, index, name, entry.get("kwargs"))
    extra = {k: v for k, v in entry.items() if k in META_KEYS and v is not None}
    return SuiteItem(index, name, {**kwargs, **extra})


def _kwargs(path: Path, index: int, name: str, kwargs: object) -> dict[str, Any]:
    if kwargs is None:
        return {}
    if not isinstance(kwargs, dict) or not all(isinstance(k, str) for k in kwargs):
        raise SuiteError(path, "arguments must be a mapping, e.g. `{column: age}`", index, name)
    if "id" in kwargs:
        raise SuiteError(path, "`id` is assigned by Great Expectations; remove it", index, name)
    return dict(kwargs)


def _expectation_class(path: Path, item: SuiteItem) -> Any:
    from great_expectations.exceptions.exceptions import ExpectationNotFoundError
    from great_expectations.expectations.registry import get_expectation_impl
    from great_expectations.util import camel_to_snake

    try:
        return get_expectation_impl(item.type)
    except ExpectationNotFoundError:
        names = expectation_names()
        close = difflib.get_close_matches(camel_to_snake(item.type), names, n=3, cutoff=0.6)
        options = ", ".join(close[:-1]) + " or " + close[-1] if len(close) > 1 else "".join(close)
        hint = f"did you mean {options}? " if close else ""
        raise SuiteError(
            path,
            f"unknown expectation; {hint}Use the snake_case name of a GX 1.x expectation "
            f"({GALLERY})",
            item.index,
            item.type,
        ) from None


def _allowed_args(cls: Any) -> list[str]:
    from great_expectations.expectations.expectation import Expectation

    own = set(cls.__fields__) - set(Expectation.__fields__) - {"batch_id"}
    return sorted(own) + sorted(META_KEYS)


def _pydantic_problems(err: ValueError, allowed: list[str]) -> str:
    """One short phrase per argument from a pydantic (v1) ValidationError."""
    errors = getattr(err, "errors", None)
    if not callable(errors):
        return str(err).replace("\n", " ")
    seen: dict[str, str] = {}
    for error in errors():
        where = ".".join(str(part) for part in error.get("loc", ()) if part != "__root__")
        message = str(error.get("msg", "invalid"))
        if message == "extra fields not permitted":
            close = difflib.get_close_matches(where, allowed, n=1)
            message = (
                f"unknown argument (did you mean {close[0]}?)" if close else "unknown argument"
            )
        seen.setdefault(where, message)
    return "; ".join(f"{where}: {msg}" if where else msg for where, msg in seen.items())
