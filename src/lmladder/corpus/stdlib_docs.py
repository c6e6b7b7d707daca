"""The offline default corpus: the documentation that ships with the running Python.

Docstrings are read with ``ast`` from the standard library's source files, never by importing
the modules (importing all of the stdlib has side effects: ``antigravity`` opens a browser).
"""

from __future__ import annotations

import ast
import functools
import sysconfig
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

# Folders whose docstrings describe tests or vendored third-party code, not the library.
EXCLUDED_DIRS = frozenset({"test", "tests", "idle_test", "site-packages", "dist-packages", "__pycache__"})

DOC_COLUMNS = ["doc_id", "source", "text"]


def stdlib_dir() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _iter_source_files(root: Path) -> Iterator[Path]:
    for path in sorted(root.rglob("*.py")):
        relative_dirs = path.relative_to(root).parts[:-1]
        if any(part in EXCLUDED_DIRS or part.startswith("config-") for part in relative_dirs):
            continue
        yield path


def iter_module_docstrings(path: Path, module: str) -> Iterator[tuple[str, str]]:
    """Yield (qualified name, docstring) for the module and every class and function in it."""
    try:
        tree = ast.parse(path.read_bytes(), filename=str(path))
    except (SyntaxError, ValueError):  # a few stdlib files are templates, not valid Python
        return

    def visit(node: ast.AST, prefix: str) -> Iterator[tuple[str, str]]:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, (ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
                name = f"{prefix}.{child.name}" if prefix else child.name
                docstring = ast.get_docstring(child)
                if docstring:
                    yield f"{module}:{name}", docstring
                yield from visit(child, name)
            elif isinstance(child, ast.stmt | ast.excepthandler | ast.match_case):
                # Definitions inside if/try/with/for blocks (platform-specific code) count too.
                yield from visit(child, prefix)

    docstring = ast.get_docstring(tree)
    if docstring:
        yield module, docstring
    yield from visit(tree, "")


def pydoc_topics() -> dict[str, str]:
    """The language-reference topics that ``help()`` shows (``pydoc_data.topics``)."""
    from pydoc_data.topics import topics

    return dict(topics)


@functools.lru_cache(maxsize=2)
def _build(root: str) -> tuple[tuple[str, str, str], ...]:
    root_path = Path(root)
    rows: list[tuple[str, str, str]] = []
    seen: set[str] = set()
    for path in _iter_source_files(root_path):
        module = _module_name(path, root_path)
        for doc_id, text in iter_module_docstrings(path, module):
            # Overloads and conditional definitions repeat a qualified name; keep the first.
            if doc_id not in seen:
                seen.add(doc_id)
                rows.append((doc_id, module, text))
    for topic, text in sorted(pydoc_topics().items()):
        rows.append((f"pydoc_data.topics:{topic}", "pydoc_data.topics", text))
    return tuple(rows)


def build_stdlib_corpus(root: Path | None = None) -> pd.DataFrame:
    """Every stdlib docstring (tests excluded) plus the pydoc topics, in a deterministic order.

    Columns: ``doc_id`` (``module:Qual.name``), ``source`` (the dotted module), ``text``.
    """
    rows = _build(str(root or stdlib_dir()))
    return pd.DataFrame(list(rows), columns=DOC_COLUMNS)
