"""Every third-party module the package imports is a declared dependency, and every declared dependency
has its tested version in constraints.txt, inside the declared range."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions

from packaging.requirements import Requirement  # a dependency of pytest

from tests.conftest import PROJECT_ROOT

PACKAGE = "lmladder"


def canonical(name: str) -> str:
    """A distribution's name as pip compares it (PEP 503): ``great_expectations`` is ``great-expectations``."""
    return re.sub(r"[-_.]+", "-", name).lower()


def project() -> dict:
    return tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text())["project"]


def requirements() -> list[Requirement]:
    """The core dependencies and every extra's."""
    table = project()
    return [Requirement(line) for line in table["dependencies"]] + [
        Requirement(line) for lines in table.get("optional-dependencies", {}).values() for line in lines
    ]


def third_party_imports() -> dict[str, list[str]]:
    """Top-level module -> the files under src/ that import it (absolute imports; stdlib and the package left out)."""
    found: dict[str, list[str]] = {}
    for path in sorted((PROJECT_ROOT / "src").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.partition(".")[0]
                if top not in sys.stdlib_module_names and top != PACKAGE:
                    found.setdefault(top, []).append(str(path.relative_to(PROJECT_ROOT)))
    return found


def test_the_scan_finds_the_imports_it_should():
    imports = third_party_imports()
    assert {"kedro", "torch", "numpy", "sklearn"} <= imports.keys()
    assert not {"json", "os", PACKAGE} & imports.keys()


def test_every_third_party_import_under_src_is_a_declared_dependency():
    declared = {canonical(Requirement(line).name) for line in project()["dependencies"]}
    distributions = packages_distributions()
    problems = []
    for module, files in sorted(third_party_imports().items()):
        providers = {canonical(name) for name in distributions.get(module, [])}
        if not providers:
            problems.append(f"{module} (imported by {files[0]}) is not installed: no distribution provides it")
        elif not providers & declared:  # mlflow: any of mlflow, mlflow-skinny, mlflow-tracing will do
            problems.append(
                f"{module} (imported by {files[0]}) comes from {sorted(providers)}, none of which "
                "is in pyproject.toml [project].dependencies"
            )
    assert not problems, "\n".join(problems)


def test_every_declared_dependency_is_pinned_in_constraints_within_its_range():
    pins = {}
    for line in (PROJECT_ROOT / "constraints.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            pins[canonical(name)] = version
    problems = []
    for requirement in requirements():
        name = canonical(requirement.name)
        if name not in pins:
            problems.append(f"{requirement.name} is declared but not pinned in constraints.txt")
        elif not requirement.specifier.contains(pins[name], prereleases=True):
            problems.append(f"{requirement.name}=={pins[name]} in constraints.txt is outside {requirement.specifier}")
    assert not problems, "\n".join(problems)
