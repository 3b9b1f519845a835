"""Every notebook in notebooks/ runs top to bottom in quick mode, leaving nothing in the repo.

Each ``notebooks/*.ipynb`` is executed with nbclient under ``QUICK=1`` (the
notebooks read it to shrink themselves) and ``MPLBACKEND=Agg``, from a scratch
working directory, by a ``python3`` kernel that runs *this* interpreter: the
test writes that kernel spec into a temporary ``JUPYTER_PATH``, which Jupyter
searches before any user or system kernel, so a stray ``python3`` kernel of
another environment cannot be picked up. New notebooks are picked up by the glob.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
kernelspec = pytest.importorskip("ipykernel.kernelspec")

pytestmark = [pytest.mark.notebook, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

REPO = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
#: directories whose contents are not the repository's files
_SKIP_DIRS = {".git", ".venv", ".venv312", "__pycache__", ".pytest_cache", ".ruff_cache",
              ".mypy_cache", ".ipynb_checkpoints"}  # fmt: skip
CELL_TIMEOUT_S = 600


def _repo_files() -> set[Path]:
    found = set()
    for root, dirs, files in os.walk(REPO):
        dirs[:] = [d for d in dirs if d not in _SKIP_DIRS and not d.endswith(".egg-info")]
        found.update(Path(root, f) for f in files)
    return found


@pytest.fixture
def quick_kernel(tmp_path, monkeypatch) -> str:
    """Environment of a quick-mode run, and a ``python3`` kernel spec for sys.executable."""
    jupyter_path = tmp_path / "jupyter"
    kernelspec.write_kernel_spec(str(jupyter_path / "kernels" / "python3"))
    monkeypatch.setenv("JUPYTER_PATH", str(jupyter_path))
    monkeypatch.setenv("QUICK", "1")
    monkeypatch.setenv("MPLBACKEND", "Agg")
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    for var in ("FIGURES_DIR", "RUNS_DIR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the notebooks' temporary run directories
    return "python3"


def test_kernel_spec_runs_this_interpreter(quick_kernel):
    from jupyter_client.kernelspec import KernelSpecManager

    spec = KernelSpecManager().get_kernel_spec(quick_kernel)
    assert spec.argv[0] == sys.executable


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_saved_without_outputs_and_reads_quick(path):
    nb = nbformat.read(path, as_version=4)
    executed = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                and (c.get("outputs") or c.get("execution_count") is not None)]  # fmt: skip
    assert not executed, f"{path.name}: clear the outputs of cells {executed} before committing"
    sources = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    assert 'os.environ.get("QUICK"' in sources, f"{path.name} must size itself by $QUICK"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_in_quick_mode(path, tmp_path, quick_kernel):
    workdir = tmp_path / "work"
    workdir.mkdir()
    before = _repo_files()
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb,
        kernel_name=quick_kernel,
        timeout=CELL_TIMEOUT_S,
        resources={"metadata": {"path": str(workdir)}},
    )
    client.execute()  # raises CellExecutionError naming the cell and its traceback
    left = sorted(str(p.relative_to(REPO)) for p in _repo_files() - before)
    assert not left, f"{path.name} left files in the repository: {left}"
