"""``benchmarks/reproduce_all.py``: a generated results file; each row regenerates from its command.

Runs the smoke mode (``--quick``, tiny budgets) for the two cheapest papers into a
temporary directory: SynapticQ (Bhargava et al.) first, then learned feedback
(Lansdell et al.) with ``--only``, which must keep the first section.
"""

from __future__ import annotations

import argparse
import importlib
import re
import shlex
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture(scope="module")
def reproduce_all() -> ModuleType:
    sys.path.insert(0, str(BENCHMARKS))
    try:
        yield importlib.import_module("reproduce_all")
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.fixture(scope="module")
def generated(reproduce_all: ModuleType, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The file after ``--only synaptic-q`` and after a further ``--only learned-feedback``."""
    out = tmp_path_factory.mktemp("results") / "RESULTS.quick.md"
    base = ["--quick", "--out", str(out)]
    assert reproduce_all.main([*base, "--only", "synaptic-q"]) == 0
    first = out.read_text(encoding="utf-8")
    assert reproduce_all.main([*base, "--only", "learned-feedback"]) == 0
    return {"first": first, "second": out.read_text(encoding="utf-8"), "out": out}


def _section(text: str, key: str) -> str:
    match = re.search(rf"<!-- section: {key} -->\n(.*?)<!-- /section: {key} -->", text, re.S)
    assert match is not None, f"no section {key!r}"
    return match.group(1)


def _table_rows(section: str) -> list[list[str]]:
    """The cells of the table's data rows (escaped pipes kept inside their cell)."""
    rows = []
    for line in section.splitlines():
        if line.startswith("| ") and not line.startswith("| method |"):
            rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line)[1:-1]])
    return rows


def test_header_says_generated_smoke_run_with_environment(generated: dict) -> None:
    text = generated["second"]
    assert text.startswith("<!-- reproduce_all mode: quick -->\n# RESULTS — SMOKE RUN")
    assert "**Generated file — do not edit by hand.**" in text
    assert "python benchmarks/reproduce_all.py --quick --out" in text
    for needle in (
        "- machine: ",
        "logical cores",
        "- git commit: ",
        "- python 3.",
        "numpy ",
        "brian2 ",
    ):
        assert needle in text, needle
    when = r"\d{4}-\d\d-\d\d \d\d:\d\d UTC"
    assert re.search(
        rf"started {when}, finished {when}: \d+ s wall for learned-feedback; kept from earlier "
        r"runs: synaptic-q \(see their stamps\)\.",
        text,
    )


def test_every_row_has_published_cell_and_a_command(generated: dict) -> None:
    text = generated["second"]
    rows = {key: _table_rows(_section(text, key)) for key in ("synaptic-q", "learned-feedback")}
    assert len(rows["synaptic-q"]) == 6  # 3 methods x (32, 0) hidden units
    assert len(rows["learned-feedback"]) == 8  # 4 fixed-W angles + 4 digits rules
    for key, table in rows.items():
        for cells in table:
            assert len(cells) == 6, cells
            method, _task, _metric, ours, published, command = cells
            assert re.search(r"\*\*-?\d+\.\d+\*\*", ours), (key, method, ours)
            assert "papers.md" in published or "no published number" in published, published
            assert re.fullmatch(r"`python benchmarks/\w+\.py [^`]+`", command), command
    published = {(cells[0], cells[1]): cells[4] for cells in rows["synaptic-q"]}
    gd = "Gradient descent (SGD lr 0.1)"
    assert published[gd, "digits, 64-32-10 MLP"].startswith("**89.56 ± 0.52 %")
    assert published[gd, "digits, 64-10 (0 hidden)"].startswith("**86.42 ± 0.22 %")
    lf = {cells[0]: cells[4] for cells in rows["learned-feedback"]}
    assert lf["backprop"].startswith("**2.65 %**")
    assert lf["learned-sgd"].startswith("no published number")


def test_only_keeps_the_other_sections_and_marks_unrun_ones(generated: dict) -> None:
    first, second = generated["first"], generated["second"]
    assert _section(second, "synaptic-q") == _section(first, "synaptic-q")
    assert "Not run in this generation" in _section(first, "learned-feedback")
    assert "Not run in this generation" not in _section(second, "learned-feedback")
    dopamine = _section(second, "dopamine")
    assert "Not run in this generation; run `python benchmarks/reproduce_all.py --only" in dopamine


def test_a_row_command_regenerates_its_row(reproduce_all: ModuleType, generated: dict) -> None:
    """Gradient descent, 32 HU, 2 seeds x 50 steps: the command gives the file's numbers."""
    cells = next(
        c
        for c in _table_rows(_section(generated["second"], "synaptic-q"))
        if c[0].startswith("Gradient descent") and "64-32-10" in c[1]
    )
    command = cells[5].strip("`")
    (row,) = reproduce_all.rows_from_command(command)
    assert row["key"] == "gd-32" and row["seeds"] == [0, 1]
    mean, std = re.match(r"\*\*(\S+)\*\* ± (\S+) %", cells[3]).groups()
    assert (f"{row['mean']:.2f}", f"{row['std']:.2f}") == (mean, std)
    # and as printed, from the shell: the script's own table shows the same mean and std
    words = shlex.split(command)
    printed = subprocess.run(
        [sys.executable, *words[1:]], cwd=BENCHMARKS.parent, capture_output=True, text=True,
        timeout=120, check=True,
    ).stdout  # fmt: skip
    assert f"| 32 | 50 | auto | **{mean}** | {std} |" in printed, printed


def test_every_command_parses_into_a_single_row_selection(generated: dict) -> None:
    commands = re.findall(r"\| `(python benchmarks/[^`]+)` \|", generated["second"])
    assert len(commands) == 14
    for command in commands:
        words = shlex.split(command)
        module = importlib.import_module(Path(words[1]).stem)
        args = module.parse_args(words[2:])
        assert isinstance(args, argparse.Namespace)
        if module.__name__ == "reproduce_synaptic_q":
            assert len(args.hidden) == 1 and len(args.methods) == 1, command
        else:
            assert len(args.parts) == 1, command


def test_quick_refuses_to_overwrite_full_results(reproduce_all: ModuleType, tmp_path: Path) -> None:
    full = tmp_path / "RESULTS.md"
    full.write_text("<!-- reproduce_all mode: full -->\n# Results\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="would overwrite the full results"):
        reproduce_all.main(["--quick", "--only", "synaptic-q", "--out", str(full)])
    assert full.read_text(encoding="utf-8").endswith("# Results\n")


def test_figures_in_docs_figures_are_linked(
    reproduce_all: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    figures = tmp_path / "docs" / "figures"
    figures.mkdir(parents=True)
    for name in ("synaptic_q_curves.png", "unrelated.png"):
        (figures / name).write_bytes(b"\x89PNG")
    monkeypatch.setattr(reproduce_all, "FIGURES", figures)
    paper = next(p for p in reproduce_all.PAPERS if p.key == "synaptic-q")
    claimed: set[Path] = set()
    text = reproduce_all.section(paper, None, 0.0, True, tmp_path / "RESULTS.md", claimed)
    assert "![synaptic_q_curves](docs/figures/synaptic_q_curves.png)" in text
    assert "unrelated" not in text
    assert reproduce_all._figures(None, tmp_path / "RESULTS.md", claimed) == [
        "![unrelated](docs/figures/unrelated.png)"
    ]
    # a section kept from an earlier run gets the figures added since, once
    (figures / "synaptic_q_policy.png").write_bytes(b"\x89PNG")
    kept = text
    for _ in range(2):
        kept = reproduce_all._refresh_figures(kept, paper, tmp_path / "RESULTS.md", set())
    assert kept.count("![synaptic_q_curves]") == 1
    assert kept.count("![synaptic_q_policy](docs/figures/synaptic_q_policy.png)") == 1
    assert kept.endswith("<!-- /section: synaptic-q -->\n")


def test_seed_arguments_round_trip(reproduce_all: ModuleType) -> None:
    from reproduce_common import format_seeds, parse_seeds

    for seeds in ([0, 1, 2, 3, 4], [3], [0, 2, 7]):
        assert parse_seeds(format_seeds(seeds)) == seeds
    assert parse_seeds("5") == [0, 1, 2, 3, 4]  # the scripts' old "--seeds N" still works
    for bad in ("0", "a-b", "2,2", "-1"):
        with pytest.raises(argparse.ArgumentTypeError, match="--seeds must be"):
            parse_seeds(bad)
