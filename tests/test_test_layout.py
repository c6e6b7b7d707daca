"""No module under tests/ imports a test module: shared helpers and constants live in conftest.py files
or plain helper modules, so running or skipping one test file never depends on another."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).parent


def _dotted(path: Path) -> str:
    return ".".join(path.relative_to(TESTS.parent).with_suffix("").parts)


def _is_test_module(path: Path) -> bool:
    return path.name.startswith("test_") and path.suffix == ".py"


def imported_modules(source: str, module: str) -> set[str]:
    """Every module (or module attribute) name ``source``, the text of ``module``, imports, absolute."""
    package = module.rsplit(".", 1)[0]
    names = set()
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                origin = ".".join(base + ([node.module] if node.module else []))
            else:
                origin = node.module
            names.add(origin)
            names.update(f"{origin}.{alias.name}" for alias in node.names)
    return names


def imported_test_modules(path: Path, test_modules: dict[str, Path]) -> set[str]:
    """The test modules the file at ``path`` imports, by dotted name (a bare ``import test_x`` of a
    sibling file counts too)."""
    siblings = {p.stem for p in path.parent.glob("test_*.py")}
    found = set()
    for name in imported_modules(path.read_text(encoding="utf-8"), _dotted(path)):
        if name in test_modules and test_modules[name] != path:
            found.add(name)
        elif name.split(".")[0] in siblings and name.split(".")[0] != path.stem:
            found.add(name.split(".")[0])
    return found


def test_no_module_under_tests_imports_a_test_module():
    files = sorted(TESTS.rglob("*.py"))
    test_modules = {_dotted(path): path for path in files if _is_test_module(path)}
    assert len(test_modules) > 50  # the walk found the test suite
    offenders = {
        str(path.relative_to(TESTS.parent)): sorted(found) for path in files if (found := imported_test_modules(path, test_modules))
    }
    assert not offenders, f"move what these share into a conftest.py or a helper module: {offenders}"


def test_every_way_of_importing_a_test_module_is_seen():
    module = "tests.corpus.test_large"
    for source in (
        "from tests.corpus.test_dedup import PARAGRAPH",
        "import tests.corpus.test_dedup",
        "from tests.corpus import test_dedup",
        "from .test_dedup import PARAGRAPH",
        "from . import test_dedup",
        "def f():\n    from tests.corpus.test_dedup import PARAGRAPH",
    ):
        assert "tests.corpus.test_dedup" in imported_modules(source, module), source
    assert "tests.corpus.conftest.test_like_name" in imported_modules("from .conftest import test_like_name", module)
    assert "tests.pipelines.conftest" in imported_modules("from ..pipelines.conftest import make_catalog", module)
