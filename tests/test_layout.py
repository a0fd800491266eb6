"""The shape of the code, read from its source with `ast` (nothing is imported):

- no import cycle among the modules of pipelines/, stacks/ and validators/, counting every
  import, at the top of a module or inside a function (a lazy import that closes a loop is
  still a loop); only imports under `if TYPE_CHECKING:` are left out, as they never run;
- every module of those packages (but an `__init__.py` holding nothing) is imported by at least
  one file under tests/, so each has a test that mirrors it (`tests/<package>/test_<module>.py`).

Cycles are the strongly connected components of the import graph (Tarjan's algorithm), as in
the pre-commit hook `cycles.py`.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("pipelines", "stacks", "validators")
# Modules no test can import in-process, each with the test that loads it by path instead.
# Modules no test imports by name, each with the test that runs it and the call it does so by.
LOADED_BY_PATH = {
    # Runs only inside a built Bento: reads shipyard.json beside itself when imported.
    "pipelines.build.service": ("tests/pipelines/build/test_service.py", "spec_from_file_location"),
    # Alembic loads the migrations from their folder; the schema tests run every one.
    "pipelines.state.migrations.env": ("tests/pipelines/state/test_schema.py", ".upgrade("),
    "pipelines.state.migrations.versions.0001_ledger_and_approvals": (
        "tests/pipelines/state/test_schema.py",
        '.upgrade("0001")',
    ),
    "pipelines.state.migrations.versions.0002_releases_rollouts_monitor_locks": (
        "tests/pipelines/state/test_schema.py",
        ".upgrade()",
    ),
}


def engine_modules(root: Path = REPO) -> dict[str, Path]:
    """Dotted name -> file of every module of the packages (a package by its `__init__`)."""
    modules = {}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
            modules[name] = path
    return modules


def _type_checking_only(tree: ast.AST) -> set[int]:
    """The nodes under `if TYPE_CHECKING:` (or `typing.TYPE_CHECKING`), by id."""
    skipped: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If):
            test = node.test
            name = test.id if isinstance(test, ast.Name) else getattr(test, "attr", None)
            if name == "TYPE_CHECKING":
                skipped.update(id(inner) for stmt in node.body for inner in ast.walk(stmt))
    return skipped


def imported_names(path: Path, package: str, type_checking: bool = True) -> Iterator[str]:
    """Every dotted name `path` imports, anywhere in it; `from X import a` gives `X` and `X.a`
    (`a` may be a module). Relative imports are resolved against `package`."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    skipped = set() if type_checking else _type_checking_only(tree)
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")
                parent = parts[: len(parts) - node.level + 1]
                base = ".".join([*parent, base] if base else parent)
            yield base
            yield from (f"{base}.{alias.name}" for alias in node.names)


def _package_of(name: str, path: Path) -> str:
    return name if path.name == "__init__.py" else name.rpartition(".")[0]


def import_graph(root: Path = REPO) -> dict[str, set[str]]:
    """Module -> the modules it imports (a name is taken to the module that holds it; an
    import of a module's own package, which runs first anyway, is not an edge)."""
    modules = engine_modules(root)
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        for imported in imported_names(path, _package_of(name, path), type_checking=False):
            while imported and imported not in modules:
                imported = imported.rpartition(".")[0]
            if imported and imported != name and not name.startswith(imported + "."):
                graph[name].add(imported)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in sorted(graph[node]):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(found)


def _holds_nothing(path: Path) -> bool:
    """An `__init__.py` of a docstring (and `from __future__` imports) at most."""
    body = ast.parse(path.read_text(encoding="utf-8")).body
    return all(
        (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant))
        or (isinstance(stmt, ast.ImportFrom) and stmt.module == "__future__")
        for stmt in body
    )


def untested(root: Path = REPO) -> list[str]:
    """The modules (not counting `__init__.py` files holding nothing) that no file under
    tests/ imports, by `import X` or `from X import ...`, at any depth of the file."""
    imported: set[str] = set()
    for test_file in (root / "tests").rglob("*.py"):
        name = ".".join(test_file.relative_to(root).with_suffix("").parts)
        imported.update(imported_names(test_file, _package_of(name, test_file)))
    return [
        name
        for name, path in engine_modules(root).items()
        if name not in imported
        and name not in LOADED_BY_PATH
        and not (path.name == "__init__.py" and _holds_nothing(path))
    ]


def test_no_import_cycle_among_the_engine_modules() -> None:
    found = cycles(import_graph())
    assert found == [], "import cycles (every import counts, lazy ones too):\n" + "\n".join(
        " <-> ".join(component) for component in found
    )


def test_every_engine_module_is_imported_by_a_test() -> None:
    missing = untested()
    assert missing == [], (
        f"{len(missing)} module(s) no file under tests/ imports; give each a test at "
        "tests/<package>/.../test_<module>.py:\n" + "\n".join(missing)
    )
    for module, (test_file, call) in LOADED_BY_PATH.items():
        source = (REPO / test_file).read_text(encoding="utf-8")
        assert call in source, f"{test_file} no longer runs {module} (by {call})"
