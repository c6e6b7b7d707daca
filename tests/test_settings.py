import subprocess
import sys

from tests.conftest import PROJECT_ROOT

HEAVY = ("torch", "pytorch_lightning", "lightning", "great_expectations", "sklearn", "datasets", "scipy")


def test_importing_the_settings_imports_no_heavy_library():
    """Every `kedro` command imports lmladder.settings: it must not pay for torch or GX up front."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import lmladder.settings"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    imported = {line.split("|")[-1].strip() for line in result.stderr.splitlines() if line.startswith("import time:")}
    assert "lmladder.settings" in imported and "lmladder.hooks" in imported
    heavy = sorted(module for module in imported if module.split(".")[0] in HEAVY)
    assert heavy == []
