"""A corpus of invalid specs with golden error output: every mistake found, located, explained.

Each tests/fixtures/spec/invalid/NAME.yaml holds one realistic mistake (a few hold several, to
prove that every problem of a file is reported in one run). NAME.golden is the exact text the
loader prints for it: every `Finding.render()`, one after the other, with the file shown
relative to the repository root. File checks resolve against the fake repository
tests/fixtures/spec/repo.

After an intended change to a message or a location, regenerate the golden files with

    SHIPYARD_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/validators/spec/test_loader.py

then review the diff (`git diff tests/fixtures/spec/invalid`) line by line before committing:
the golden files are the specification of what a user sees.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft7Validator

from validators.spec import messages as msg
from validators.spec.loader import SpecReport, load_file
from validators.spec.yamlsource import MAX_BYTES

REPO = Path(__file__).resolve().parents[3]
INVALID_DIR = Path("tests/fixtures/spec/invalid")  # relative to REPO: the names in findings
FAKE_ROOT = REPO / "tests" / "fixtures" / "spec" / "repo"
SCHEMA_PATH = REPO / "validators" / "spec" / "modeldeployment.v1.schema.json"
MODELINE = "# yaml-language-server: $schema="
UPDATE_GOLDEN = os.environ.get("SHIPYARD_UPDATE_GOLDEN") == "1"

INVALID_SPECS = sorted(p.name for p in (REPO / INVALID_DIR).glob("*.yaml"))
GOLDEN_FILES = sorted(p.name for p in (REPO / INVALID_DIR).glob("*.golden"))

# Specs that test something other than a spec's content carry no modeline.
NO_MODELINE = {"empty.yaml"}

# Mistakes of structure alone (unknown key, wrong type, missing field, bad pattern, number out of
# range): the committed JSON Schema rejects them too, so editors flag them while typing.
STRUCTURAL = [
    "bad-dns-name.yaml",
    "bad-duration.yaml",
    "bad-model-uri.yaml",
    "bad-owner.yaml",
    "list-for-mapping.yaml",
    "missing-api-version.yaml",
    "missing-environments.yaml",
    "missing-metadata-name.yaml",
    "missing-model-uri.yaml",
    "several-type-errors.yaml",
    "step-with-none.yaml",
    "step-with-two-kinds.yaml",
    "string-for-int.yaml",
    "top-level-list.yaml",
    "typo-nested-key.yaml",
    "typo-top-level-key.yaml",
    "unknown-key-no-match.yaml",
    "weight-above-100.yaml",
    "wrong-api-version.yaml",
    "wrong-kind.yaml",
    "yes-read-as-boolean.yaml",
]

# (spec, the repository root its file references resolve against)
VALID_SPECS = [
    (FAKE_ROOT / "specs" / "full.yaml", FAKE_ROOT),
    (FAKE_ROOT / "specs" / "minimal.yaml", FAKE_ROOT),
    (REPO / "specs" / "credit-risk.yaml", REPO),
]

# One of each family for the one-file CLI runs: YAML syntax, reading, types, rules, files.
CLI_SAMPLES = [
    "yaml-unclosed-bracket.yaml",
    "alias-bomb.yaml",
    "typo-nested-key.yaml",
    "several-rule-errors.yaml",
    "data-not-tracked.yaml",
]

FINDING_KEYS = {"file", "line", "column", "path", "message", "hint", "source"}


@pytest.fixture
def at_repo(monkeypatch: pytest.MonkeyPatch) -> Path:
    """Run from the repository root so file names in findings are stable."""
    monkeypatch.chdir(REPO)
    return REPO


def rendered(report: SpecReport) -> str:
    return "".join(finding.render() + "\n" for finding in report.findings)


def load_invalid(name: str) -> SpecReport:
    return load_file(INVALID_DIR / name, root=FAKE_ROOT)


def schema_validator() -> Draft7Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def shipyard(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "pipelines", "-C", str(FAKE_ROOT), "validate", *args]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=120)


def json_output(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    document = json.loads(result.stdout)
    assert isinstance(document, dict)
    return document


# --- the corpus and its golden output ------------------------------------------------------


def test_corpus_covers_many_mistakes() -> None:
    assert len(INVALID_SPECS) >= 30


@pytest.mark.parametrize("name", INVALID_SPECS)
def test_invalid_spec_output_matches_golden(name: str, at_repo: Path) -> None:
    report = load_invalid(name)
    assert report.findings, f"{name} loaded without findings"
    assert report.spec is None
    assert not report.ok
    shown = f"{INVALID_DIR.as_posix()}/{name}"
    for finding in report.findings:
        assert finding.file == shown
        assert finding.line >= 1, finding
        assert finding.column >= 1, finding
        assert finding.path, finding
        assert finding.message, finding
    golden = at_repo / INVALID_DIR / name.replace(".yaml", ".golden")
    if UPDATE_GOLDEN:
        golden.write_text(rendered(report), encoding="utf-8")
        return
    assert golden.is_file(), f"no {golden.name}: run with SHIPYARD_UPDATE_GOLDEN=1 and review it"
    assert rendered(report) == golden.read_text(encoding="utf-8")


def test_every_golden_file_has_its_spec() -> None:
    specs = {name.removesuffix(".yaml") for name in INVALID_SPECS}
    orphans = [name for name in GOLDEN_FILES if name.removesuffix(".golden") not in specs]
    assert orphans == []


def test_every_spec_has_its_golden_file() -> None:
    goldens = {name.removesuffix(".golden") for name in GOLDEN_FILES}
    missing = [name for name in INVALID_SPECS if name.removesuffix(".yaml") not in goldens]
    assert missing == []


@pytest.mark.parametrize("name", sorted(set(INVALID_SPECS) - NO_MODELINE))
def test_invalid_spec_names_the_schema_for_editors(name: str) -> None:
    path = REPO / INVALID_DIR / name
    first = path.read_text(encoding="utf-8").splitlines()[0]
    assert first.startswith(MODELINE)
    assert (path.parent / first.removeprefix(MODELINE)).resolve() == SCHEMA_PATH


def test_a_file_with_several_mistakes_reports_all_of_them(at_repo: Path) -> None:
    typed = load_invalid("several-type-errors.yaml").findings
    ruled = load_invalid("several-rule-errors.yaml").findings
    assert len(typed) == 7
    assert len(ruled) == 9
    assert len({f.path for f in typed}) == 7


# --- the JSON Schema agrees ------------------------------------------------------------------


@pytest.mark.parametrize(("spec", "root"), VALID_SPECS, ids=lambda v: Path(v).name)
def test_valid_spec_loads_without_findings(spec: Path, root: Path) -> None:
    report = load_file(spec, root=root)
    assert report.findings == ()
    assert report.spec is not None


@pytest.mark.parametrize(("spec", "root"), VALID_SPECS, ids=lambda v: Path(v).name)
def test_valid_spec_passes_the_json_schema(spec: Path, root: Path) -> None:
    data = yaml.safe_load(spec.read_text(encoding="utf-8"))
    errors = [error.message for error in schema_validator().iter_errors(data)]
    assert errors == []


@pytest.mark.parametrize("name", STRUCTURAL)
def test_structural_mistake_is_rejected_by_the_json_schema(name: str) -> None:
    data = yaml.safe_load((REPO / INVALID_DIR / name).read_text(encoding="utf-8"))
    assert list(schema_validator().iter_errors(data)) != []


# --- unusual bytes, generated rather than committed -----------------------------------------


def minimal_bytes() -> bytes:
    return (FAKE_ROOT / "specs" / "minimal.yaml").read_bytes()


def test_non_utf8_byte_is_located(tmp_path: Path) -> None:
    raw = minimal_bytes().replace(b"name: minimal, ", b"name: minimal, description: Mod\xe8le, ")
    spec = tmp_path / "latin1.yaml"
    spec.write_bytes(raw)
    (finding,) = load_file(spec, root=FAKE_ROOT).findings
    offset = raw.index(b"\xe8")
    assert finding.message == msg.NOT_UTF8.format(byte=b"\xe8", offset=offset)
    assert (finding.line, finding.column) == (4, raw.split(b"\n")[3].index(b"\xe8") + 1)


def test_utf8_bom_is_accepted(tmp_path: Path) -> None:
    spec = tmp_path / "bom.yaml"
    spec.write_bytes(b"\xef\xbb\xbf" + minimal_bytes())
    assert load_file(spec, root=FAKE_ROOT).findings == ()


def test_crlf_line_ends_give_the_same_locations(tmp_path: Path) -> None:
    raw = minimal_bytes().replace(b"name: staging", b"name: Staging")
    unix, windows = tmp_path / "unix.yaml", tmp_path / "windows.yaml"
    unix.write_bytes(raw)
    windows.write_bytes(raw.replace(b"\n", b"\r\n"))
    (lf,) = load_file(unix, root=FAKE_ROOT).findings
    (crlf,) = load_file(windows, root=FAKE_ROOT).findings
    assert (crlf.line, crlf.column, crlf.path, crlf.source) == (
        7,
        12,
        "environments[0].name",
        lf.source,
    )
    assert (lf.line, lf.column) == (crlf.line, crlf.column)


def test_oversized_file_is_refused_before_parsing(tmp_path: Path) -> None:
    spec = tmp_path / "huge.yaml"
    raw = minimal_bytes() + b"# " + b"x" * MAX_BYTES + b"\n"
    spec.write_bytes(raw)
    (finding,) = load_file(spec, root=FAKE_ROOT).findings
    assert finding.message == msg.TOO_LARGE.format(size=len(raw), limit=MAX_BYTES)
    assert (finding.line, finding.column) == (1, 1)


# --- through the command line ----------------------------------------------------------------


@pytest.mark.parametrize("name", CLI_SAMPLES)
def test_cli_rejects_an_invalid_file_with_json_findings(name: str) -> None:
    result = shipyard(f"{INVALID_DIR.as_posix()}/{name}", "--format", "json")
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    document = json_output(result)
    assert document["valid"] is False
    (spec,) = document["specs"]
    assert spec["valid"] is False
    assert spec["findings"]
    for finding in spec["findings"]:
        assert set(finding) == FINDING_KEYS
        assert finding["file"] == f"{INVALID_DIR.as_posix()}/{name}"
        assert finding["line"] >= 1
        assert finding["column"] >= 1
        assert finding["path"]
        assert finding["message"]


def test_cli_json_agrees_with_the_loader_for_the_whole_corpus(at_repo: Path) -> None:
    paths = [f"{INVALID_DIR.as_posix()}/{name}" for name in INVALID_SPECS]
    result = shipyard(*paths, "--format", "json")
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    document = json_output(result)
    assert document["valid"] is False
    assert [spec["file"] for spec in document["specs"]] == paths
    for spec, name in zip(document["specs"], INVALID_SPECS, strict=True):
        assert spec["valid"] is False
        assert spec["findings"] == [f.to_json() for f in load_invalid(name).findings]


def test_cli_accepts_the_valid_fixtures() -> None:
    valid = [str(spec) for spec, root in VALID_SPECS if root == FAKE_ROOT]
    result = shipyard(*valid, "--format", "json")
    assert "Traceback" not in result.stderr
    assert result.returncode == 0, result.stdout + result.stderr
    document = json_output(result)
    assert document["valid"] is True
    assert [spec["findings"] for spec in document["specs"]] == [[], []]


def test_cli_text_summary_for_a_folder_of_valid_and_invalid_specs(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    for spec, root in VALID_SPECS:
        if root == FAKE_ROOT:
            shutil.copy(spec, folder / spec.name)
    for name in ("bad-owner.yaml", "typo-nested-key.yaml"):
        shutil.copy(REPO / INVALID_DIR / name, folder / name)
    result = shipyard("specs", cwd=tmp_path)
    assert "Traceback" not in result.stderr
    assert result.returncode == 2, result.stderr
    lines = result.stdout.splitlines()
    assert lines[-1] == "4 spec(s) checked: 2 valid, 2 invalid with 3 problem(s)"
    assert "ok     specs/full.yaml (credit-risk)" in lines
    assert "ok     specs/minimal.yaml (minimal)" in lines
    assert "specs/bad-owner.yaml:9:7: metadata.owners[1]: " in result.stdout


def test_cli_reports_a_spec_name_used_twice(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    for copy in ("a.yaml", "b.yaml"):
        shutil.copy(FAKE_ROOT / "specs" / "minimal.yaml", folder / copy)
    result = shipyard("specs", "--format", "json", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    first, second = json_output(result)["specs"]
    assert first["valid"] is True
    (finding,) = second["findings"]
    assert finding["path"] == "metadata.name"
    assert finding["message"] == msg.DUPLICATE_SPEC_NAME.format(
        name="minimal", other="specs/a.yaml"
    )
