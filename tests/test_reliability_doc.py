"""docs/reliability.md names, for each fault, the tests that show what the project does: every test it
names must exist, so a renamed or deleted test cannot leave a row that nothing checks."""

from __future__ import annotations

import ast
import re

from tests.conftest import PROJECT_ROOT

DOC = PROJECT_ROOT / "docs" / "reliability.md"


def cited_tests() -> list[tuple[str, str | None]]:
    """(test file, test function or None for the whole file) for every test a table row names; a bare
    ``::name`` belongs to the file named before it in the same cell."""
    cited = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if not line.startswith("| ") or line.startswith("| ---"):
            continue
        cell = line.rstrip(" |").rsplit(" | ", 1)[-1]
        current = None
        for path, name in re.findall(r"`(tests/[\w/]+\.py)?(?:::(\w+))?`", cell):
            current = path or current
            assert current, f"{name} is cited before any test file in: {line[:80]}"
            cited.append((current, name or None))
    return cited


def test_every_test_the_reliability_table_names_exists():
    cited = cited_tests()
    assert len(cited) > 60  # the parse found the table's tests
    missing = []
    for path, name in cited:
        file = PROJECT_ROOT / path
        if not file.is_file():
            missing.append(path)
        elif name is not None:
            functions = {node.name for node in ast.walk(ast.parse(file.read_text(encoding="utf-8"))) if isinstance(node, ast.FunctionDef)}
            if name not in functions:
                missing.append(f"{path}::{name}")
    assert not missing, f"docs/reliability.md names tests that do not exist: {missing}"
