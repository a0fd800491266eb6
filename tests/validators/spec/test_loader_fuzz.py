"""Fuzz the spec loader: random mutations of the valid `full.yaml`, as data and as raw text.

Whatever the input, `load_text` never raises, and it either returns a spec or findings, each
located inside the text (line and column from 1, the source line it quotes is the text's line
there) with a field path and a message. A spec that comes out valid resolves its defaults.

The runs are derandomized, so CI sees the same MUTATION_EXAMPLES + TEXT_EXAMPLES inputs every
time.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import yaml
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from validators.spec import model as m
from validators.spec.loader import SpecReport, load_text
from validators.spec.resolved import with_defaults

MUTATION_EXAMPLES = 1200
TEXT_EXAMPLES = 2000

SPECS = Path(__file__).resolve().parents[2] / "fixtures" / "spec" / "repo" / "specs"
FULL_TEXT = (SPECS / "full.yaml").read_text(encoding="utf-8")
MINIMAL_TEXT = (SPECS / "minimal.yaml").read_text(encoding="utf-8")
FULL_DATA: dict[str, Any] = yaml.safe_load(FULL_TEXT)

FUZZ = settings(
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Line breaks as YAML counts them, and so as its marks (line numbers) do: \n, \r\n, \r, NEL,
# LS, PS. Not str.splitlines(), which also breaks at \v, \f and \x1c-\x1e: YAML rejects those
# characters, and a finding about one must quote the whole line it is on.
YAML_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")

Loc = tuple[Any, ...]


def yaml_lines(text: str) -> list[str]:
    """The lines of `text` as an editor shows them: a text ending in a break has a last,
    empty line (where the end of the stream is reported)."""
    return YAML_BREAK.split(text)


def check_report(text: str, report: SpecReport) -> None:
    """The properties every load must have."""
    lines = yaml_lines(text)
    assert report.findings or report.spec is not None, "neither a spec nor findings"
    for finding in report.findings:
        where = f"{finding.render()!r}"
        assert finding.file == "fuzz.yaml", where
        assert 1 <= finding.line <= len(lines), where
        assert 1 <= finding.column <= len(lines[finding.line - 1]) + 1, where
        assert finding.path, where
        assert finding.message, where
        if finding.source:
            assert finding.source == lines[finding.line - 1], where
    if not report.findings:
        assert report.spec is not None
        with_defaults(report.spec)


def exists_strategy(data: st.DataObject) -> Callable[[str], bool] | None:
    """No file checks, every file present, none present, or a random answer per file."""
    mode = data.draw(st.sampled_from(["off", "all", "none", "random"]), label="exists")
    if mode == "off":
        return None
    if mode == "random":
        return lambda _rel: data.draw(st.booleans(), label="exists(path)")
    answer = mode == "all"
    return lambda _rel: answer


# --- mutations of the parsed data ---------------------------------------------------------------


def _field_names() -> list[str]:
    names: set[str] = set()
    for obj in vars(m).values():
        if isinstance(obj, type) and issubclass(obj, m.SpecObject) and obj is not m.SpecObject:
            names.update(f.alias or n for n, f in obj.model_fields.items())
    return sorted(names)


FIELD_NAMES = _field_names()
PLAUSIBLE_STRINGS = [
    "",
    " ",
    "\t",
    "0s",
    "0ms",
    "30s",
    "1h30m",
    "500m",
    "1Gi",
    "local",
    "kubernetes",
    "aws",
    "canary",
    "direct",
    "roc_auc",
    "log_loss",
    "r2",
    "rmse",
    "equalized_odds_ratio",
    "demographic_parity_difference",
    "psi",
    "sex",
    "age",
    "staging",
    "production",
    "@risk-ml",
    "@Risk-ML",
    "models:/credit-risk/3",
    "../outside.csv",
    "/etc/passwd",
    "data/credit/holdout.csv",
    "null",
    "~",
    "yes",
    "on",
    "0x1F",
    "1e3",
    "12:30",
    "2024-01-01",
    "<<",
    "&a",
    "*a",
    "---",
    "# comment",
    "é",
    "🚀",
    "\x00",
    "\u2028",
    "line\nbreak",
]
KEYS = st.one_of(
    st.sampled_from(FIELD_NAMES),
    st.text(max_size=12),
    st.sampled_from(["", "<<", "null", "true", "1", "\x00", "é"]),
    st.integers(-5, 5),
    st.booleans(),
    st.none(),
)
LONG_STRINGS = st.builds(
    lambda unit, count: unit * count,
    st.one_of(
        st.sampled_from(["a", "9", "é", "🚀", "ab-", " ", "1"]), st.text(min_size=1, max_size=3)
    ),
    st.integers(64, 20_000),
)
SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=-(2**100), max_value=2**100),
    st.sampled_from([0, -1, 1, 2, 50, 100, 101, 1023, 65536, 2**31, 2**63, -(2**63), 10**40]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([0.0, -0.0, 0.5, 0.99, 1.0, 1.5, -0.1, float("nan"), float("inf"), -1e308]),
    st.text(max_size=30),
    st.sampled_from(PLAUSIBLE_STRINGS),
    LONG_STRINGS,
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(KEYS, inner, max_size=4)),
    max_leaves=8,
)
NUMBERS_WITH_UNITS = st.builds(
    lambda number, unit: f"{number}{unit}",
    st.one_of(st.integers(0, 10**400), st.floats(0, 1e6).map(lambda f: f"{f:.3f}")),
    st.sampled_from(["", "ms", "s", "m", "h", "k", "M", "G", "Ki", "Mi", "Gi", "d", " s"]),
)
# A scalar swapped for another of the same type keeps most specs valid, so rules and
# defaults see odd values too.
SAME_TYPE: dict[type, st.SearchStrategy[Any]] = {
    bool: st.booleans(),
    int: st.one_of(
        st.integers(-2, 200), st.integers(), st.sampled_from([0, 1, 99, 100, 101, 2**63])
    ),
    float: st.one_of(
        st.floats(-0.5, 1.5), st.floats(allow_nan=True, allow_infinity=True), st.just(0.0)
    ),
    str: st.one_of(
        st.sampled_from(PLAUSIBLE_STRINGS), st.text(max_size=12), NUMBERS_WITH_UNITS, LONG_STRINGS
    ),
}
MUTATIONS = ["delete", "rename", "replace", "transplant", "duplicate", "insert", "tweak", "tweak"]


def walk(node: Any, loc: Loc) -> Iterator[tuple[Loc, Any]]:
    yield loc, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*loc, key))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from walk(value, (*loc, index))


def get(root: Any, loc: Loc) -> Any:
    for part in loc:
        root = root[part]
    return root


def typo(key: str, data: st.DataObject) -> str:
    """`key` with one letter substituted, inserted, deleted or swapped with the next."""
    letter = data.draw(st.sampled_from("abcdefghijklmnopqrstuvwxyz_-A0é"), label="letter")
    at = data.draw(st.integers(0, len(key)), label="at")
    kind = data.draw(st.sampled_from(["substitute", "insert", "delete", "swap"]), label="typo")
    if kind == "insert" or not key:
        return key[:at] + letter + key[at:]
    at = min(at, len(key) - 1)
    if kind == "substitute":
        return key[:at] + letter + key[at + 1 :]
    if kind == "delete":
        return key[:at] + key[at + 1 :]
    return key[:at] + key[at + 1 : at + 2] + key[at] + key[at + 2 :]


def set_key(mapping: dict[Any, Any], old: Any, new: Any) -> None:
    """Rename `old` to `new` in place, keeping the key's position."""
    items = [(new if k == old else k, v) for k, v in mapping.items()]
    mapping.clear()
    mapping.update(items)


def mutate(box: list[Any], data: st.DataObject) -> None:
    """One random mutation of `box[0]`; `box` lets the root itself be replaced."""
    kind = data.draw(st.sampled_from(MUTATIONS), label="mutation")
    nodes = list(walk(box[0], (0,)))
    children = [loc for loc, _ in nodes if len(loc) > 1]
    in_mapping = [loc for loc in children if isinstance(get(box, loc[:-1]), dict)]
    lists = [loc for loc, node in nodes if isinstance(node, list) and node]
    mappings = [loc for loc, node in nodes if isinstance(node, dict)]
    scalars = [loc for loc, node in nodes if type(node) in SAME_TYPE and len(loc) > 1]
    if kind == "delete" and children:
        loc = data.draw(st.sampled_from(children), label="delete")
        parent = get(box, loc[:-1])
        del parent[loc[-1]]
    elif kind == "rename" and in_mapping:
        loc = data.draw(st.sampled_from(in_mapping), label="rename")
        old = loc[-1]
        new = data.draw(
            st.one_of(KEYS, st.just(typo(str(old), data))) if isinstance(old, str) else KEYS,
            label="new key",
        )
        set_key(get(box, loc[:-1]), old, new)
    elif kind == "duplicate" and lists:
        loc = data.draw(st.sampled_from(lists), label="duplicate in")
        items = get(box, loc)
        index = data.draw(st.integers(0, len(items) - 1), label="item")
        items.insert(index + 1, copy.deepcopy(items[index]))
    elif kind == "insert" and mappings:
        loc = data.draw(st.sampled_from(mappings), label="insert into")
        mapping = get(box, loc)
        key = data.draw(KEYS, label="key")
        value = data.draw(VALUES, label="value")
        at = data.draw(st.integers(0, len(mapping)), label="position")
        items = [(k, v) for k, v in mapping.items() if k != key]
        items.insert(min(at, len(items)), (key, value))
        mapping.clear()
        mapping.update(items)
    elif kind == "tweak" and scalars:
        loc = data.draw(st.sampled_from(scalars), label="tweak")
        value = data.draw(SAME_TYPE[type(get(box, loc))], label="value")
        get(box, loc[:-1])[loc[-1]] = value
    else:
        loc = data.draw(st.sampled_from([loc for loc, _ in nodes]), label="replace")
        if kind == "transplant":
            value = copy.deepcopy(data.draw(st.sampled_from(nodes), label="from")[1])
        else:
            value = data.draw(VALUES, label="value")
        get(box, loc[:-1])[loc[-1]] = value


@settings(FUZZ, max_examples=MUTATION_EXAMPLES)
@given(data=st.data())
def test_mutated_spec_loads_into_findings_or_a_spec(data: st.DataObject) -> None:
    box: list[Any] = [copy.deepcopy(FULL_DATA)]
    for _ in range(data.draw(st.integers(1, 4), label="mutations")):
        mutate(box, data)
    text = yaml.safe_dump(
        box[0],
        sort_keys=False,
        allow_unicode=data.draw(st.booleans(), label="allow_unicode"),
        default_flow_style=data.draw(st.sampled_from([False, None]), label="flow"),
    )
    note(f"text:\n{text}")
    report = load_text(text, "fuzz.yaml", exists=exists_strategy(data))
    check_report(text, report)


# --- edits of the raw text ----------------------------------------------------------------------

TOKENS = [
    "\t",
    ":",
    ": ",
    " ",
    "  ",
    "\n",
    "\r\n",
    "\r",
    "-",
    "- ",
    "[",
    "]",
    "{",
    "}",
    ",",
    "&a ",
    "*a",
    "&",
    "*",
    "---\n",
    "---",
    "...",
    "<<: ",
    "<<",
    "<<: *a",
    "#",
    "'",
    '"',
    "\\",
    "|",
    ">",
    "? ",
    "!",
    "!!",
    "!!str ",
    "!!int ",
    "!!binary ",
    "!local ",
    "%YAML 1.1\n",
    "%TAG ! tag:x,2000:\n",
    "\x00",
    "\x07",
    "\ufeff",
    "\x85",
    "\u2028",
    "é",
    "ß",
    "日本",
    "🚀",
    "null",
    "~",
    "0",
    "9",
    ".5",
    ".nan",
    "0x",
    "2024-01-01",
    "2024-13-45",
    "12:30:00",
]
INSERTS = st.one_of(
    st.sampled_from(TOKENS),
    st.lists(st.sampled_from(TOKENS), min_size=1, max_size=5).map("".join),
    st.text(min_size=1, max_size=8),
)
EDITS = ["delete", "insert", "replace", "value", "duplicate line", "swap lines", "indent"]
VALUE_START = re.compile(r"(?<=: )|(?<=- )|(?<=\[)|(?<=, )")


def edit(text: str, data: st.DataObject) -> str:
    kind = data.draw(st.sampled_from(EDITS), label="edit")
    if kind in ("delete", "insert", "replace"):
        start = data.draw(st.integers(0, len(text)), label="start")
        length = 0 if kind == "insert" else data.draw(st.integers(1, 40), label="length")
        new = "" if kind == "delete" else data.draw(INSERTS, label="insert")
        return text[:start] + new + text[start + length :]
    if kind == "value":  # right where a value starts: tags, anchors, dates, quotes
        starts = [match.start() for match in VALUE_START.finditer(text)] or [0]
        start = data.draw(st.sampled_from(starts), label="value start")
        return text[:start] + data.draw(INSERTS, label="insert") + text[start:]
    lines = text.split("\n")
    i = data.draw(st.integers(0, len(lines) - 1), label="line")
    if kind == "duplicate line":
        lines.insert(i, lines[i])
    elif kind == "swap lines":
        j = data.draw(st.integers(0, len(lines) - 1), label="other line")
        lines[i], lines[j] = lines[j], lines[i]
    else:
        indent = data.draw(st.sampled_from([" ", "  ", "\t", "    "]), label="indent")
        lines[i] = lines[i][1:] if data.draw(st.booleans(), label="dedent") else indent + lines[i]
    return "\n".join(lines)


@settings(FUZZ, max_examples=TEXT_EXAMPLES)
@given(data=st.data())
def test_edited_text_loads_into_findings_or_a_spec(data: st.DataObject) -> None:
    text = data.draw(st.sampled_from([FULL_TEXT, MINIMAL_TEXT]), label="base")
    for _ in range(data.draw(st.integers(1, 4), label="edits")):
        text = edit(text, data)
    note(f"text: {text!r}")
    report = load_text(text, "fuzz.yaml", exists=exists_strategy(data))
    check_report(text, report)
