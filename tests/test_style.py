"""The code style the project holds itself to: ruff (pyproject's rules) is clean on the
package, the network recipes, the benchmarks and the tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_is_clean():
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.skip("ruff is not installed (it comes with the dev extra: pip install -e '.[dev]')")
    dirs = ["spiking_synrl", "networks", "benchmarks", "tests"]
    out = subprocess.run([ruff, "check", "--output-format", "concise", *dirs], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr
