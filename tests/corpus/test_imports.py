"""The corpus library stands alone: it never imports Kedro, and its modules import each other
without a cycle (counting imports inside functions too)."""

from __future__ import annotations

import ast
from pathlib import Path

import lmladder.corpus

CORPUS = Path(lmladder.corpus.__file__).parent


def _imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)  # from lmladder.corpus import large
    return names


def _corpus_graph() -> dict[str, set[str]]:
    modules = {path.stem: path for path in CORPUS.glob("*.py") if path.stem != "__init__"}
    prefix = "lmladder.corpus."
    return {
        name: {imported.removeprefix(prefix) for imported in _imported_modules(path) if imported.removeprefix(prefix) in modules}
        for name, path in modules.items()
    }


def test_no_corpus_module_imports_kedro():
    for path in CORPUS.glob("*.py"):
        assert not any(name == "kedro" or name.startswith("kedro.") for name in _imported_modules(path)), path.name


def test_corpus_modules_import_each_other_without_a_cycle():
    graph = _corpus_graph()
    assert "sources" in graph["large"] and "large" not in graph["sources"]
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> None:
        if name in path:
            raise AssertionError(f"import cycle: {' -> '.join([*path[path.index(name) :], name])}")
        if name in done:
            return
        for imported in sorted(graph[name]):
            visit(imported, [*path, name])
        done.add(name)

    for name in sorted(graph):
        visit(name, [])
