"""Safe YAML reading that remembers where every value came from.

Refuses what a spec never needs and an attacker might send: files over 1 MiB, non-UTF-8 text,
several documents, deep nesting or alias expansion past a budget, merge keys, non-string keys.
Duplicate keys are collected as problems (all of them) instead of silently keeping the last.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from yaml.constructor import SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode

from validators.spec import messages as msg
from validators.spec.findings import Path_

MAX_BYTES = 1024 * 1024
MAX_DEPTH = 64
MAX_NODES = 20_000
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_STR = "tag:yaml.org,2002:str"
_CONTAINER_TAGS = ("tag:yaml.org,2002:map", "tag:yaml.org,2002:seq")


@dataclass(frozen=True)
class Mark:
    """1-based line and column."""

    line: int
    column: int


@dataclass(frozen=True)
class Problem:
    """Something wrong found while reading, before any field is looked at."""

    mark: Mark
    path: Path_
    message: str
    hint: str = ""


class SourceError(Exception):
    """The file cannot be read as one spec document at all."""

    def __init__(self, problem: Problem) -> None:
        super().__init__(problem.message)
        self.problem = problem


@dataclass
class SourceMap:
    """Where each value (and each mapping key) sits in the file."""

    values: dict[Path_, Mark] = field(default_factory=dict)
    keys: dict[Path_, Mark] = field(default_factory=dict)
    scalars: dict[Path_, str] = field(default_factory=dict)  # the text as written

    def locate(self, path: Path_, *, key: bool = False) -> Mark:
        """The mark of `path` (its key when `key`), else of its nearest located ancestor."""
        if key and path in self.keys:
            return self.keys[path]
        for end in range(len(path), -1, -1):
            mark = self.values.get(path[:end])
            if mark:
                return mark
        return Mark(1, 1)


@dataclass
class Document:
    data: Any
    source_map: SourceMap
    problems: list[Problem]
    lines: list[str]


def _mark(node: Node) -> Mark:
    return Mark(node.start_mark.line + 1, node.start_mark.column + 1)


def decode(raw: bytes) -> str:
    """UTF-8 text of a spec file (a BOM is allowed), or a `SourceError`."""
    if len(raw) > MAX_BYTES:
        raise SourceError(
            Problem(Mark(1, 1), (), msg.TOO_LARGE.format(size=len(raw), limit=MAX_BYTES))
        )
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        before = raw[: exc.start]
        line = before.count(b"\n") + 1
        line_start = raw[before.rfind(b"\n") + 1 : exc.start]
        column = len(line_start.decode("utf-8", errors="replace")) + 1
        bad = raw[exc.start : exc.start + 1]
        raise SourceError(
            Problem(Mark(line, column), (), msg.NOT_UTF8.format(byte=bad, offset=exc.start))
        ) from None


def read(path: Path) -> Document:
    return parse(decode(path.read_bytes()))


def parse(text: str) -> Document:
    """Compose one YAML document and build plain data with a source map."""
    try:
        documents = yaml.compose_all(text, Loader=_Loader)
        root = next(documents, None)
        second = next(documents, None)
    except yaml.MarkedYAMLError as exc:
        raise SourceError(_syntax_problem(exc)) from None
    except yaml.reader.ReaderError as exc:
        where = _position(text, exc.position)
        problem = msg.BAD_CHARACTER.format(code=exc.character, reason=exc.reason)
        raise SourceError(Problem(where, (), msg.YAML_SYNTAX.format(problem=problem))) from None
    except UnicodeEncodeError as exc:  # a lone surrogate: only reachable through the API
        where = _position(text, exc.start)
        problem = msg.BAD_CHARACTER.format(code=ord(text[exc.start]), reason=exc.reason)
        raise SourceError(Problem(where, (), msg.YAML_SYNTAX.format(problem=problem))) from None
    except yaml.YAMLError as exc:
        problem = str(exc).splitlines()[0]
        raise SourceError(
            Problem(Mark(1, 1), (), msg.YAML_SYNTAX.format(problem=problem))
        ) from None
    if second is not None:
        raise SourceError(Problem(_mark(second), (), msg.MULTI_DOCUMENT, msg.MULTI_DOCUMENT_HINT))
    if root is None:
        raise SourceError(Problem(Mark(1, 1), (), msg.EMPTY, msg.EMPTY_HINT))
    builder = _Builder()
    data = builder.build(root, (), 0)
    return Document(data, builder.source_map, builder.problems, source_lines(text))


def source_lines(text: str) -> list[str]:
    """The lines as YAML counts them (Python's splitlines also breaks at other characters)."""
    lines = _LINE_BREAK.split(text)
    return lines[:-1] if lines and lines[-1] == "" else lines


def _syntax_problem(exc: yaml.MarkedYAMLError) -> Problem:
    mark = exc.problem_mark or exc.context_mark
    where = Mark(mark.line + 1, mark.column + 1) if mark else Mark(1, 1)
    problem = str(exc.problem or exc.context or "invalid YAML")
    if exc.context and exc.context_mark and exc.problem_mark:
        opened = exc.context_mark
        problem += f" ({exc.context} at line {opened.line + 1}, column {opened.column + 1})"
    hint = msg.TAB_HINT if "\\t" in problem or "tab" in problem else ""
    return Problem(where, (), msg.YAML_SYNTAX.format(problem=problem), hint)


def _position(text: str, offset: int) -> Mark:
    lines = _LINE_BREAK.split(text[:offset])
    return Mark(len(lines), len(lines[-1]) + 1)


class _Builder:
    def __init__(self) -> None:
        self.source_map = SourceMap()
        self.problems: list[Problem] = []
        self.nodes = 0
        self.constructor = SafeConstructor()
        self.resolver = yaml.resolver.Resolver()
        self.containers: set[int] = set()
        self.alias_paths: list[Path_] = []

    def build(self, node: Node, path: Path_, depth: int) -> Any:
        self.nodes += 1
        if self.nodes > MAX_NODES:
            self._too_big(node, path)
        if depth > MAX_DEPTH:
            raise SourceError(Problem(_mark(node), path[:4], msg.TOO_DEEP.format(limit=MAX_DEPTH)))
        self.source_map.values.setdefault(path, _mark(node))
        if isinstance(node, ScalarNode):
            return self._scalar(node, path)
        if node.tag not in _CONTAINER_TAGS:
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(
                Problem(_mark(node), path, msg.EXPLICIT_TAG.format(tag=tag), msg.EXPLICIT_TAG_HINT)
            )
        if id(node) not in self.containers:
            self.containers.add(id(node))
            return self._container(node, path, depth)
        self.alias_paths.append(path)  # an alias: the same node, built again
        try:
            return self._container(node, path, depth)
        finally:
            self.alias_paths.pop()

    def _container(self, node: Node, path: Path_, depth: int) -> Any:
        if isinstance(node, MappingNode):
            return self._mapping(node, path, depth)
        return [self.build(item, (*path, i), depth + 1) for i, item in enumerate(node.value)]

    def _too_big(self, node: Node, path: Path_) -> None:
        """Blame the value that holds the outermost alias being expanded."""
        target = self.alias_paths[0][:-1] if self.alias_paths else path[:4]
        mark = self.source_map.values.get(target, _mark(node))
        raise SourceError(
            Problem(mark, target, msg.TOO_BIG.format(limit=MAX_NODES), msg.ALIAS_BOMB_HINT)
        )

    def _scalar(self, node: Node, path: Path_) -> Any:
        text = str(node.value)
        self.source_map.scalars[path] = text
        if node.tag != _STR and node.tag != self._implicit(text):
            tag = node.tag.replace("tag:yaml.org,2002:", "!!")
            self.problems.append(
                Problem(_mark(node), path, msg.EXPLICIT_TAG.format(tag=tag), msg.EXPLICIT_TAG_HINT)
            )
            return text
        try:
            return self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError) as exc:
            problem = msg.BAD_VALUE.format(text=text, reason=str(exc).splitlines()[0])
            self.problems.append(Problem(_mark(node), path, problem))
            return text

    def _implicit(self, text: str) -> str:
        """The tag YAML gives `text` when no tag is written (an explicit tag differs)."""
        tag: str = self.resolver.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
        return tag

    def _mapping(self, node: MappingNode, path: Path_, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_line: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                kind = "mapping" if isinstance(key_node, MappingNode) else "list"
                self.problems.append(
                    Problem(_mark(key_node), path, msg.NON_STRING_KEY.format(kind=kind))
                )
                continue
            key = str(key_node.value)
            if key_node.tag == "tag:yaml.org,2002:merge":
                self.problems.append(
                    Problem(_mark(key_node), path, msg.MERGE_KEY, msg.MERGE_KEY_HINT)
                )
                continue
            child = (*path, key)
            if key in first_line:
                self.problems.append(
                    Problem(
                        _mark(key_node),
                        child,
                        msg.DUPLICATE_KEY.format(key=key, first_line=first_line[key]),
                        msg.DUPLICATE_KEY_HINT,
                    )
                )
                continue
            first_line[key] = _mark(key_node).line
            self.source_map.keys[child] = _mark(key_node)
            result[key] = self.build(value_node, child, depth + 1)
        return result
