"""Run every paper's reproduction script and write ``RESULTS.md`` (generated, never hand-edited).

For each paper in :data:`PAPERS` this imports the paper's script from ``benchmarks/``,
runs ``collect_rows(parse_args(argv))`` with the budgets below and writes one section:
the settings, a table with our mean ± std over seeds next to the paper's published
figure (from ``shared/papers.md``; "no published number" where the paper gives none),
the command that regenerates each row, the substitutions we made (offline data
instead of notMNIST/MNIST, ...) and links to figures found in ``docs/figures/``.
The file opens with the date, the machine, the git commit, the versions and the
wall time; it is written atomically.

Usage (from the repository root)::

    python benchmarks/reproduce_all.py                        # all papers -> RESULTS.md
    python benchmarks/reproduce_all.py --only synaptic-q,dopamine
    python benchmarks/reproduce_all.py --only snn-digits      # one section, keeps the others
    python benchmarks/reproduce_all.py --quick                # smoke run -> runs/RESULTS.quick.md
    python benchmarks/reproduce_all.py --list                 # the paper keys

Only the sections of the papers that run are rewritten: the other sections of an
existing file of the same mode are kept (each section carries its own generation
stamp), so ``--only snn-digits`` adds the spiking section to a full ``RESULTS.md``. ``--quick`` uses
tiny budgets, marks the file as a smoke run, writes to ``runs/RESULTS.quick.md`` by
default and refuses to overwrite a file of full results.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import importlib.metadata
import math
import os
import platform
import re
import shlex
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

# one BLAS thread per process: the scripts parallelise with worker processes
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

BENCHMARKS = Path(__file__).resolve().parent
ROOT = BENCHMARKS.parent
if str(BENCHMARKS) not in sys.path:  # the paper scripts import each other by bare name
    sys.path.insert(0, str(BENCHMARKS))
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from reproduce_common import format_seeds  # noqa: E402

from spiking_synrl.errors import ConfigError  # noqa: E402
from spiking_synrl.training.checkpoint import atomic_write_text  # noqa: E402

DEFAULT_OUT = ROOT / "RESULTS.md"
QUICK_OUT = ROOT / "runs" / "RESULTS.quick.md"
FIGURES = ROOT / "docs" / "figures"
_MODE = re.compile(r"<!-- reproduce_all mode: (\w+) -->")
_NOT_RUN = "Not run in this generation"
_SECTION = re.compile(r"<!-- section: ([\w-]+) -->\n.*?<!-- /section: \1 -->\n", re.S)


@dataclass(frozen=True)
class Published:
    """A figure the paper publishes for one of our rows."""

    value: str  #: e.g. "88.45 ± 0.60 %"
    task: str  #: the paper's task and settings, with the ``papers.md`` section


@dataclass(frozen=True)
class Paper:
    """One section of ``RESULTS.md``: a paper, its script, budgets and published figures."""

    key: str  #: ``--only`` name
    title: str
    script: str  #: module name in ``benchmarks/``
    argv: tuple[str, ...]  #: the full run's flags
    quick_argv: tuple[str, ...]  #: the smoke run's flags (tiny budgets)
    published: Mapping[str, Published | str] = field(default_factory=dict)  #: row key -> figure
    no_number: str = "no published number"  #: the cell for rows without a figure
    notes: tuple[str, ...] = ()  #: substitutions and deviations
    #: docs/figures/*.png whose names start with one of these (notebooks/NN_*.ipynb write NN_*)
    figure_prefixes: tuple[str, ...] = ()
    default: bool = True  #: in the set run without ``--only``


_SQ_TASK = "notMNIST, {net}; {how}; papers.md §1(d), n not stated (code: 10 trials)"
_LF_TASK = (
    "MNIST 784-50-20-10, MSE, final test error, {how}, mean of 5 runs, 2,000 epochs x "
    "1,000 it.; authors' notebook data, papers.md §2(d)"
)

PAPERS: tuple[Paper, ...] = (
    Paper(
        key="synaptic-q",
        title="Synaptic-level RL — Bhargava, Rezaei & Lankarany (2022), AppliedMath 2(2)",
        script="reproduce_synaptic_q",
        argv=("--seeds", "0-4"),
        quick_argv=("--seeds", "0-1", "--steps", "200", "--gd-steps", "50"),
        published={
            **{
                f"{m}-32": Published(
                    "88.45 ± 0.60 % (min 87.88, max 89.12)",
                    _SQ_TASK.format(net="784-32-10", how="static golden policy, 500k it."),
                )
                for m in ("shipped", "golden")
            },
            **{
                f"{m}-0": Published(
                    "88.28 ± 0.41 % (min 87.65, max 88.84)",
                    _SQ_TASK.format(net="784-10", how="static golden policy, 500k it."),
                )
                for m in ("shipped", "golden")
            },
            "gd-32": Published(
                "89.56 ± 0.52 % (min 88.57, max 90.00)",
                _SQ_TASK.format(net="784-32-10", how="full-batch GD lr 0.1, 500 it."),
            ),
            "gd-0": Published(
                "86.42 ± 0.22 % (min 86.11, max 86.73)",
                _SQ_TASK.format(net="784-10", how="SGD lr 0.1, 5,000 full-batch it."),
            ),
        },
        notes=(
            "Data: scikit-learn's 8x8 digits (64 inputs, 1,797 images, stratified 75/25 "
            "split drawn by the seed) instead of notMNIST (784 inputs, 18,724 images; not "
            "available offline). Parameters 2,410 (32 HU) / 650 (0 HU) instead of 25,450 / 7,850.",
            "Budget: 10,000 full-training-set steps with alpha_s 0.01 -> 0.004 at step 3,000, "
            "instead of 500,000 steps on 5,000-sample minibatches with alpha_s 1e-4 -> 5e-5 "
            "at step 100,000 (papers.md §1(b)).",
            "Policy: 'shipped' is this package's static policy "
            "(`spiking_synrl/policies/default.npz`, learned by `synrl policy learn`); the "
            "paper's static policy is the authors' golden table, shown as 'golden' (its "
            "greedy actions, papers.md §1(a)). Both published SynapticQ figures belong to "
            "the golden table; they are shown next to both rows.",
            "Gradient descent: SGD lr 0.1 for the authors' 500 (32 HU) / 5,000 (0 HU) "
            "full-batch updates, as in their notebooks.",
        ),
        figure_prefixes=("01_", "synaptic"),  # notebooks/01_synaptic_q.ipynb
    ),
    Paper(
        key="dopamine",
        title="Dopamine-driven synaptic credit assignment — Nambusubramaniyan, Safavi, Guru & "
        "Knoblauch (2025), arXiv 2510.22178",
        script="compare_dopamine_wp",
        argv=("--seeds", "0-4"),
        quick_argv=("--seeds", "0-1", "--budgets", "200", "600", "--xor-steps", "300"),
        no_number=(
            "no published number (only the abstract is public, papers.md §3(d): Dopamine "
            "converges faster than and outperforms standard WP, comparable to gradient-based)"
        ),
        notes=(
            "The rule is a reconstruction from the abstract (papers.md §3(a), GUESS): weight "
            "perturbation whose reward-prediction error adapts the learning rate; the paper's "
            "equations, hyperparameters and numbers were not retrievable.",
            "Tasks: XOR (as in the paper) and 8x8 digits; the paper's chaotic-series RNN task "
            "is not part of this script. Hyperparameters: tuned presets in the script (same "
            "effort per rule).",
            "Digits rows compare rules at equal numbers of loss evaluations (2 per step for "
            "perturbation rules, 1 for backprop).",
        ),
        figure_prefixes=("02_", "dopamine"),  # notebooks/02_dopamine.ipynb
    ),
    Paper(
        key="anp-rnn",
        title="Gradient-free training of RNNs with random perturbations — García Fernández, "
        "Keemink & van Gerven (2024), Front. Neurosci. 18:1439155",
        script="reproduce_anp_rnn",
        argv=("--seeds", "0-2"),
        quick_argv=("--seeds", "0-0", "--epochs", "1", "--hidden", "50"),
        published={"mean-predictor": "— (reference, not a method)"},
        no_number=(
            "no published number (papers.md §4(d): not retrieved; abstract: ANP ≈ BPTT, "
            "strongly outperforms NP and WP)"
        ),
        notes=(
            "Task: Mackey-Glass (tau 17) from the authors' generator, as forecasting s[t] -> "
            "s[t+15] (their code pairs input s[t+15] with target s[t], papers.md §4(f)).",
            "Training: windows of 50 steps (10 wash-out), one update per batch of 4 windows, "
            "30 epochs, instead of one online update per time step for 500 epochs; BPTT is "
            "true backprop through each window with Adam (their code truncates it to one "
            "step); no decorrelation (their default is on; it did not help here, see the "
            "script's docstring). Learning rates from the script's `--tune` grid on a "
            "different series.",
            "NRMSE is scored on an independent 5,000-step test series run from a zero state; "
            "predicting the mean scores 1.",
        ),
        figure_prefixes=("03_", "anp"),  # notebooks/03_rnn_perturbation.ipynb
    ),
    Paper(
        key="learned-feedback",
        title="Learning to solve the credit assignment problem — Lansdell, Prakash & "
        "Kording (2020), ICLR",
        script="reproduce_learned_feedback",
        argv=("--seeds", "0-2"),
        quick_argv=("--seeds", "0-0", "--steps", "300", "--fixed-steps", "300"),
        published={
            "digits-learned-lstsq": Published(
                "3.51 % (noise levels 1-2; 15.92 % at the largest)",
                _LF_TASK.format(how="NP-learned B, exact least squares"),
            ),
            "digits-learned-sgd": "no published number (the paper's classifier runs fit B "
            "by exact least squares)",
            "digits-feedback-alignment": Published(
                "4.28 %", _LF_TASK.format(how="feedback alignment")
            ),
            "digits-backprop": Published("2.65 %", _LF_TASK.format(how="backprop")),
        },
        no_number="no published number (papers.md §2 gives no angle values)",
        notes=(
            "Data: 8x8 digits (64 inputs) instead of MNIST (784 inputs): network 64-50-20-10 "
            "instead of 784-50-20-10; softmax cross-entropy instead of MSE on one-hot "
            "targets; 6,000 SGD steps of batch 32 instead of 2,000 epochs x 1,000 iterations. "
            "The published errors are MNIST *test* errors; ours are digits validation errors.",
            "Fixed W (the paper's `nodepert4_fixedw` experiment): Gaussian inputs and "
            "targets, one seed; the angle between B and W^T as flattened matrices (the extra "
            "note gives the angle between the error signals e B and e W^T).",
        ),
        figure_prefixes=("04_", "learned_feedback"),  # notebooks/04_learned_feedback.ipynb
    ),
    Paper(
        key="snn-digits",
        title="Spiking digits: node perturbation on a Brian2 LIF network (this project)",
        script="snn_digits",
        argv=("--steps", "1500", "--time-limit", "inf"),
        quick_argv=("--steps", "4", "--eval-every", "2", "--time-limit", "inf"),
        no_number="no published number (not from the four papers)",
        notes=(
            "Not from the papers: the node-perturbation rule of the ANP section's baselines on "
            "a spiking network, which this project adds. One seed (about 2 minutes on an idle "
            "2-core machine, a cold Brian2 build adds about a minute).",
            "A step budget (`--time-limit inf`) instead of the script's default 480 s limit, "
            "so that the result does not depend on the machine's load. One seed.",
        ),
        figure_prefixes=("05_", "snn_digits"),  # notebooks/05_spiking_digits.ipynb
    ),
)
PAPER_KEYS = tuple(p.key for p in PAPERS)


# -- running ---------------------------------------------------------------------
def load_script(name: str) -> Any:
    """The module ``benchmarks/<name>.py``."""
    return importlib.import_module(name)


def run_paper(paper: Paper, quick: bool) -> tuple[list[dict[str, Any]], float]:
    """The rows of ``paper``'s script at the full (or quick) budgets, and the wall time."""
    module = load_script(paper.script)
    start = time.perf_counter()
    with one_blas_thread():
        rows = module.collect_rows(
            module.parse_args(list(paper.quick_argv if quick else paper.argv))
        )
    return rows, time.perf_counter() - start


def one_blas_thread() -> Any:
    """One BLAS thread, as the scripts set for themselves (numpy may have been imported first).

    Besides speed on a busy machine, this keeps the numbers identical to the row commands'
    runs: the thread count can change the order of floating-point sums.
    """
    from threadpoolctl import threadpool_limits  # a dependency of scikit-learn

    return threadpool_limits(limits=1)


def rows_from_command(command: str) -> list[dict[str, Any]]:
    """Run a row's ``python benchmarks/<script>.py ...`` command in-process; its rows."""
    words = shlex.split(command)
    if len(words) < 2 or words[0] != "python" or not words[1].startswith("benchmarks/"):
        raise ConfigError(
            f"A row command must read 'python benchmarks/<script>.py ...'. Got {command!r}."
        )
    module = load_script(Path(words[1]).stem)
    with one_blas_thread():
        return module.collect_rows(module.parse_args(words[2:]))


# -- environment -----------------------------------------------------------------
def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(
            ["git", *args], cwd=ROOT, capture_output=True, text=True, timeout=30, check=True
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip()


def git_commit() -> str:
    """Short commit hash, with the number of uncommitted changed files if any."""
    commit = _git("rev-parse", "--short", "HEAD")
    if commit is None:
        return "unknown (not a git checkout)"
    status = _git("status", "--porcelain", "--untracked-files=no")
    changed = len(status.splitlines()) if status else 0
    return f"{commit}" + (f" + {changed} uncommitted changed files" if changed else "")


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine() or "unknown"


def _version(package: str) -> str:
    try:
        return importlib.metadata.version(package)
    except importlib.metadata.PackageNotFoundError:
        return "not installed"


def _load() -> str:
    try:
        return "load average {:.1f} / {:.1f} / {:.1f} (1 / 5 / 15 min)".format(*os.getloadavg())
    except OSError:
        return "load average unknown"


def environment() -> list[str]:
    """Lines describing the machine and the software."""
    versions = ", ".join(
        f"{name} {_version(pkg)}"
        for name, pkg in (
            ("numpy", "numpy"),
            ("brian2", "brian2"),
            ("scikit-learn", "scikit-learn"),
            ("spiking_synrl", "spiking_synrl"),
        )
    )
    return [
        f"- machine: {cpu_model()}, {os.cpu_count()} logical cores, {platform.platform()}; "
        f"{_load()} at the start, niceness {os.nice(0)}",
        f"- git commit: {git_commit()}",
        f"- python {platform.python_version()}, {versions}",
    ]


def _stamp() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


# -- markdown --------------------------------------------------------------------
_DIGITS = {"%": 2, "°": 1, "steps": 0, "": 3}


def _number(value: float, unit: str) -> str:
    digits = _DIGITS.get(unit, 3)
    return f"{value:.{digits}f}"


def ours_cell(row: Mapping[str, Any]) -> str:
    """``mean ± std unit (n seeds)`` plus the row's extra note."""
    unit, seeds = row["unit"], row["seeds"]
    space = "" if unit == "°" else " "
    if not math.isfinite(row["mean"]):
        cell = "no finite result"
    elif len(row["values"]) > 1:
        cell = (
            f"**{_number(row['mean'], unit)}** ± {_number(row['std'], unit)}{space}{unit}".rstrip()
        )
    else:
        cell = f"**{_number(row['mean'], unit)}**{space}{unit}".rstrip()
    if seeds:
        seed_text = str(seeds[0]) if len(seeds) == 1 else format_seeds(seeds)
        cell += f" ({len(seeds)} seed{'s' if len(seeds) > 1 else ''}: {seed_text})"
    else:
        cell += " (deterministic)"
    if row["n_failed"]:
        cell += f"; {row['n_failed']} run(s) without a result (diverged or unsolved)"
    if row.get("extra"):
        cell += f"; {row['extra']}"
    return cell


def published_cell(paper: Paper, row: Mapping[str, Any]) -> str:
    """The paper's figure for ``row`` with its task, or why there is none."""
    figure = paper.published.get(row["key"], paper.no_number)
    if isinstance(figure, str):
        return figure
    return f"**{figure.value}** ({figure.task})"


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _figures(paper: Paper | None, out: Path, claimed: set[Path]) -> list[str]:
    """Links to the PNGs in ``docs/figures`` matching ``paper`` (all unclaimed ones if None)."""
    if not FIGURES.is_dir():
        return []
    found = []
    for png in sorted(FIGURES.glob("*.png")):
        name = png.stem.lower()
        if (paper is None and png not in claimed) or (
            paper is not None and name.startswith(paper.figure_prefixes)
        ):
            claimed.add(png)
            link = os.path.relpath(png, out.resolve().parent).replace(os.sep, "/")
            found.append(f"![{png.stem}]({link})")
    return found


def section(
    paper: Paper,
    rows: Sequence[Mapping[str, Any]] | None,
    wall_s: float,
    quick: bool,
    out: Path,
    claimed: set[Path],
    error: str | None = None,
) -> str:
    """The markdown section of one paper, between markers that ``--only`` merges on."""
    regen = f"python benchmarks/reproduce_all.py --only {paper.key}" + (" --quick" if quick else "")
    lines = [f"<!-- section: {paper.key} -->", f"## {paper.title}", ""]
    if rows is None and error is None:  # not run and not in the previous file
        lines += [f"{_NOT_RUN}; run `{regen}`.", ""]
    else:
        lines += [
            f"Generated (finished) {_stamp()} at commit {git_commit()} in {wall_s:.0f} s wall; "
            f"whole section: `{regen}`.",
            "",
        ]
    if error is not None:
        lines += ["**The run failed:**", "", "```", error.rstrip(), "```", ""]
    if rows:
        settings = list(dict.fromkeys(r["settings"] for r in rows))
        lines += ["Settings (ours):", ""] + [f"- {s}" for s in settings] + [""]
        lines += [
            "| method | task (ours) | metric | ours: mean ± std (seeds) | published (task) "
            "| command |",
            "|---|---|---|---|---|---|",
        ]
        for r in rows:
            cells = [r["method"], r["task"], r["metric"], ours_cell(r), published_cell(paper, r)]
            lines.append(
                "| " + " | ".join(_cell(c) for c in cells) + f" | `{_cell(r['command'])}` |"
            )
        lines.append("")
    if paper.notes:
        lines += ["Substitutions and deviations:", ""] + [f"- {n}" for n in paper.notes] + [""]
    lines.append(_figure_block(paper, out, claimed) + f"<!-- /section: {paper.key} -->")
    return "\n".join(lines) + "\n"


_FIGURE_BLOCK = re.compile(r"Figures \(from `docs/figures/`\):\n\n(?:!\[.*\n)*\n")


def _figure_block(paper: Paper, out: Path, claimed: set[Path]) -> str:
    """The links to ``paper``'s figures ("" if none), ending in a blank line."""
    figures = _figures(paper, out, claimed)
    return "Figures (from `docs/figures/`):\n\n" + "\n".join(figures) + "\n\n" if figures else ""


def _refresh_figures(text: str, paper: Paper, out: Path, claimed: set[Path]) -> str:
    """A kept section with its figure links brought up to date with ``docs/figures``."""
    end = f"<!-- /section: {paper.key} -->"
    text = _FIGURE_BLOCK.sub("", text)
    return text.replace(end, _figure_block(paper, out, claimed) + end, 1)


def header(
    quick: bool,
    argv: Sequence[str],
    started: str,
    env: Sequence[str],
    wall_s: float,
    ran: Sequence[str],
    kept: Sequence[str],
) -> str:
    """The file's opening: what generated it, on what, and how long it took.

    ``env`` is :func:`environment`'s lines taken when the run started; ``kept`` names the
    sections copied from the previous file.
    """
    mode = "quick" if quick else "full"
    command = shlex.join(["python", "benchmarks/reproduce_all.py", *argv])
    lines = [f"<!-- reproduce_all mode: {mode} -->"]
    if quick:
        lines += [
            "# RESULTS — SMOKE RUN (`--quick`), NOT RESULTS",
            "",
            "> **Tiny budgets: these numbers only show that the pipeline runs.** The real "
            "results are in `RESULTS.md`, written by `python benchmarks/reproduce_all.py`.",
            "",
        ]
    else:
        lines += ["# Results: the four papers on offline substitute tasks", ""]
    lines += [
        "**Generated file — do not edit by hand.** Last written by "
        f"`{command}`, started {started}, finished {_stamp()}: {wall_s:.0f} s wall for "
        f"{', '.join(ran) or 'nothing'}"
        + (f"; kept from earlier runs: {', '.join(kept)} (see their stamps)." if kept else ".")
        + " Each row's command (run from the repository root in the project's environment) "
        "regenerates that row.",
        "",
        "Machine and software at the start of that run:",
        "",
        *env,
        "",
        "Mean ± std are over seeds (population std); a seed fixes the initial weights, the "
        'perturbations and, where stated, the data split. "published" is the figure the '
        "paper (or its authors' code) gives for the closest setting, from "
        "`shared/papers.md`; the tasks differ (see each section's substitutions), so the "
        "columns are comparable in kind, not in value.",
        "",
    ]
    return "\n".join(lines) + "\n"


def _read_sections(out: Path, quick: bool) -> dict[str, str]:
    """The sections of an existing file of the same mode (``{}`` if none)."""
    if not out.is_file():
        return {}
    text = out.read_text(encoding="utf-8")
    mode = _MODE.search(text)
    if mode is None or mode.group(1) != ("quick" if quick else "full"):
        return {}
    return {
        m.group(1): m.group(0)
        for m in _SECTION.finditer(text)
        if _NOT_RUN not in m.group(0)  # a placeholder is rewritten, not kept
    }


def _check_out(out: Path, quick: bool) -> None:
    if not quick or not out.is_file():
        return
    mode = _MODE.search(out.read_text(encoding="utf-8", errors="replace"))
    if out.resolve() == DEFAULT_OUT.resolve() or (mode is not None and mode.group(1) == "full"):
        raise SystemExit(
            f"reproduce_all: --quick would overwrite the full results in {out}; "
            "give another --out (default for --quick: runs/RESULTS.quick.md)."
        )


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only",
        default=None,
        help=f"comma-separated paper keys of {','.join(PAPER_KEYS)} (default: "
        + ",".join(p.key for p in PAPERS if p.default)
        + ")",
    )
    parser.add_argument("--quick", action="store_true", help="tiny budgets: a smoke run")
    parser.add_argument(
        "--out",
        type=Path,
        default=None,
        help=f"output file (default {DEFAULT_OUT.name}; with --quick "
        f"{QUICK_OUT.relative_to(ROOT)})",
    )
    parser.add_argument("--list", action="store_true", help="print the paper keys and exit")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the selected papers, write the results file; 1 if a paper's run failed."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.list:
        for paper in PAPERS:
            print(f"{paper.key:18s} {'default' if paper.default else 'only   '}  {paper.title}")
        return 0
    if args.only is None:
        keys = [p.key for p in PAPERS if p.default]
    else:
        keys = [k.strip() for k in args.only.split(",") if k.strip()]
        unknown = [k for k in keys if k not in PAPER_KEYS]
        if unknown or not keys:
            parser.error(f"--only takes some of {','.join(PAPER_KEYS)}. Got {args.only!r}.")
    out = args.out if args.out is not None else (QUICK_OUT if args.quick else DEFAULT_OUT)
    _check_out(out, args.quick)
    previous = _read_sections(out, args.quick)  # kept for the papers not run now

    started, env = _stamp(), environment()
    start = time.perf_counter()
    sections: dict[str, str] = {}
    claimed: set[Path] = set()
    failed = []
    for paper in PAPERS:
        if paper.key not in keys:
            if paper.key in previous:
                sections[paper.key] = _refresh_figures(previous[paper.key], paper, out, claimed)
            else:
                sections[paper.key] = section(paper, None, 0.0, args.quick, out, claimed)
            continue
        print(f"reproduce_all: {paper.key} ...", file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        try:
            rows, wall = run_paper(paper, args.quick)
            sections[paper.key] = section(paper, rows, wall, args.quick, out, claimed)
        except Exception:  # one paper's failure is reported in its section; the others run
            failed.append(paper.key)
            wall = time.perf_counter() - t0
            sections[paper.key] = section(
                paper, None, wall, args.quick, out, claimed, error=traceback.format_exc()
            )
        print(f"reproduce_all: {paper.key} done in {wall:.0f} s", file=sys.stderr, flush=True)
    wall_s = time.perf_counter() - start

    others = _figures(None, out, claimed)
    kept = [key for key in PAPER_KEYS if key not in keys and key in previous]
    command = sys.argv[1:] if argv is None else argv
    text = header(args.quick, command, started, env, wall_s, keys, kept)
    text += "\n".join(sections[p.key] for p in PAPERS)
    if others:
        text += "\n## Other figures (from `docs/figures/`)\n\n" + "\n".join(others) + "\n"
    atomic_write_text(out, text)
    print(f"reproduce_all: wrote {out} ({wall_s:.0f} s)", file=sys.stderr)
    if failed:
        print(f"reproduce_all: failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
