"""Dopamine (reconstruction) versus weight perturbation, with backprop as the yardstick.

Two tasks, each over several seeds (the seed draws the initial weights and the
perturbations; the data split is fixed):

* **XOR**, 2-4-1 tanh MLP, MSE, full batch: success rate (all four patterns
  right within ``--xor-steps`` steps) and the steps and loss evaluations it took.
* **digits**, 64-32-10 tanh MLP, cross-entropy, full batch (1,347 images): the
  validation accuracy and loss, and the training loss, after equal numbers of
  loss evaluations (``TrainState.n_evals``: candidates evaluated, 2 per step for
  Dopamine and WP, 1 per step for backprop, whose backward pass comes free).

Hyperparameters are the tuned presets of ``PRESETS``, chosen on seeds 0-1 with the
same effort for both rules. digits (val loss at 6k and 10k evaluations): WP eta in
{0.02, 0.03, 0.05} x sigma in {1e-3, 1e-2}, Dopamine eta0 in {0.01, 0.03, 0.1} x
beta in {0.1, 0.3} (sigma 1e-3); every Dopamine setting beat every WP setting.
XOR: WP eta in {0.1, 0.3, 1}, Dopamine eta0 in {0.03, 0.1, 0.3}, beta in {0.1, 0.3};
backprop: Adam lr in {1e-3, 3e-3, 1e-2}, SGD lr in {0.1, 0.3, 1}. The literal
guess (``rpe="probe"``) is shown on XOR only: it moves the rate by O(sigma) and
tracks WP step for step. Prints markdown tables and the command.

Run: ``python benchmarks/compare_dopamine_wp.py [--quick] [--seeds N|A-B]
[--budgets 2000 10000 20000] [--xor-steps N] [--jobs J] [--tasks xor,digits]
[--rules dopamine,wp,...]``; ``collect_rows(parse_args(argv))`` returns the rows as
data (see ``reproduce_common``). The defaults (5 seeds)
take about 10 CPU-minutes (5 min on 2 cores), ``--quick`` under 1 CPU-minute,
``--budgets 2000 10000 40000`` about 21 CPU-minutes.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from reproduce_common import command_line, make_row, parse_seeds

from spiking_synrl.errors import NonFiniteLossError
from spiking_synrl.evaluate import evaluate_weights
from spiking_synrl.rules.backprop import Backprop
from spiking_synrl.rules.base import LearningRule
from spiking_synrl.rules.dopamine import Dopamine
from spiking_synrl.rules.weight_perturbation import WeightPerturbation
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.tasks import make_task
from spiking_synrl.training.step import TrainState, train_step

Factory = Callable[[], LearningRule[Any]]

#: task -> rule label -> factory (tuned, full batch)
PRESETS: dict[str, dict[str, Factory]] = {
    "xor": {
        "dopamine": lambda: Dopamine(sigma=1e-3, eta0=0.1),
        "dopamine (baseline)": lambda: Dopamine(sigma=1e-3, eta0=0.1, rpe="baseline"),
        "dopamine (probe, literal)": lambda: Dopamine(sigma=1e-3, eta0=0.1, rpe="probe"),
        "wp": lambda: WeightPerturbation(sigma=1e-3, eta=0.1),
        "wp (antithetic)": lambda: WeightPerturbation(sigma=1e-3, eta=0.1, antithetic=True),
        "backprop (adam)": lambda: Backprop(lr=0.1, optimizer="adam"),
        "backprop (sgd)": lambda: Backprop(lr=0.3),
    },
    "digits": {
        "dopamine": lambda: Dopamine(sigma=1e-3, eta0=0.03, beta=0.1),
        "dopamine (baseline)": lambda: Dopamine(sigma=1e-3, eta0=0.03, beta=0.1, rpe="baseline"),
        "wp": lambda: WeightPerturbation(sigma=1e-3, eta=0.03),
        "wp (antithetic)": lambda: WeightPerturbation(sigma=1e-3, eta=0.03, antithetic=True),
        "backprop (adam)": lambda: Backprop(lr=1e-3, optimizer="adam"),
        "backprop (sgd)": lambda: Backprop(lr=0.3),
    },
}
XOR_HIDDEN = 4
DIGITS_HIDDEN = 32


def run_xor(label: str, seed: int, max_steps: int) -> tuple[int | None, int | None]:
    """(steps, loss evaluations) until XOR is solved, or (None, None)."""
    task = make_task("xor")
    net = MLP(2, (XOR_HIDDEN,), 1, activation="tanh")
    rule = PRESETS["xor"][label]()
    rng = np.random.default_rng(seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    batch = task.split("train")
    try:
        for _ in range(max_steps):
            state, _ = train_step(rule, net, task, state, rng)
            outputs = net.forward(state.weights, batch.inputs).outputs
            if task.metrics(outputs, batch)["accuracy"] == 1.0:
                return state.step, state.n_evals
    except NonFiniteLossError:
        pass  # diverged: counted as unsolved
    return None, None


def run_digits(label: str, seed: int, budgets: tuple[int, ...]) -> list[dict[str, float]]:
    """Validation accuracy and loss, and training loss, at each evaluation budget."""
    task = make_task("digits", seed=0)
    net = MLP(64, (DIGITS_HIDDEN,), 10, activation="tanh")
    rule = PRESETS["digits"][label]()
    rng = np.random.default_rng(seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    out = []
    for budget in sorted(budgets):
        try:
            while state.n_evals < budget:
                state, _ = train_step(rule, net, task, state, rng)
        except NonFiniteLossError:
            nan = float("nan")
            out += [{"acc": nan, "loss": nan, "train": nan}] * (len(budgets) - len(out))
            break
        val = evaluate_weights(net, task, state.weights, "val")
        train = evaluate_weights(net, task, state.weights, "train")
        out.append({"acc": val["accuracy"], "loss": val["loss"], "train": train["loss"]})
    return out


def _ms(values: list[float], fmt: str = ".3f") -> str:
    arr = np.asarray(values, dtype=float)
    if np.any(~np.isfinite(arr)):
        return f"diverged ({int(np.sum(~np.isfinite(arr)))})"
    return f"{arr.mean():{fmt}} ± {arr.std():{fmt}}"


#: command-line names of the rules (``--rules``), in table order
SLUGS = {
    "dopamine": "dopamine",
    "dopamine (baseline)": "dopamine-baseline",
    "dopamine (probe, literal)": "dopamine-probe",
    "wp": "wp",
    "wp (antithetic)": "wp-antithetic",
    "backprop (adam)": "backprop-adam",
    "backprop (sgd)": "backprop-sgd",
}
TASKS = ("xor", "digits")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags (also used to write each row's command)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, small budgets (< 1 min)")
    parser.add_argument(
        "--seeds", type=parse_seeds, default=None, help="N (seeds 0..N-1), A-B or A,B,C (default 5)"
    )
    parser.add_argument("--budgets", type=int, nargs="+", default=None, help="loss evaluations")
    parser.add_argument("--xor-steps", type=int, default=2000, help="XOR step limit")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    parser.add_argument("--tasks", type=_csv, default=list(TASKS), help="xor,digits")
    parser.add_argument(
        "--rules", type=_csv, default=None, help=f"subset of {','.join(SLUGS.values())}"
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parsed flags, ``--quick`` and the defaults resolved into explicit values."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.seeds is None:
        args.seeds = list(range(2 if args.quick else 5))
    args.budgets = sorted(args.budgets or ((1000, 4000) if args.quick else (2000, 10000, 20000)))
    args.quick = False
    bad = [t for t in args.tasks if t not in TASKS] + [
        r for r in args.rules or () if r not in SLUGS.values()
    ]
    if bad:
        parser.error(
            f"--tasks takes {','.join(TASKS)} and --rules {','.join(SLUGS.values())}. "
            f"Got {bad} instead."
        )
    return args


def _labels(args: argparse.Namespace, task: str) -> list[str]:
    if task not in args.tasks:
        return []
    return [lbl for lbl in PRESETS[task] if args.rules is None or SLUGS[lbl] in args.rules]


def collect_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Run the rules on XOR and digits over the seeds; one row per (task, rule)."""
    parser, seeds, budgets = build_parser(), args.seeds, tuple(args.budgets)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        xor_jobs = {
            (label, s): pool.submit(run_xor, label, s, args.xor_steps)
            for label in _labels(args, "xor")
            for s in seeds
        }
        digit_jobs = {
            (label, s): pool.submit(run_digits, label, s, budgets)
            for label in _labels(args, "digits")
            for s in seeds
        }
        xor = {key: job.result() for key, job in xor_jobs.items()}
        digits = {key: job.result() for key, job in digit_jobs.items()}
    wall = time.perf_counter() - start

    def command(task: str, label: str) -> str:
        keep = ("xor_steps",) if task == "xor" else ("budgets",)
        drop = ("budgets",) if task == "xor" else ("xor_steps",)
        return command_line(
            "compare_dopamine_wp.py", parser, args, always=("seeds", *keep),
            skip=("quick", "jobs", *drop), tasks=task, rules=SLUGS[label],
        )  # fmt: skip

    rows = []
    for label in _labels(args, "xor"):
        runs = [xor[label, s] for s in seeds]
        steps = [float("nan") if r[0] is None else r[0] for r in runs]
        solved = [r for r in runs if r[0] is not None]
        rows.append(
            make_row(
                paper="dopamine", key=f"xor-{SLUGS[label]}", method=label,
                task=f"XOR, 2-{XOR_HIDDEN}-1 tanh MLP, MSE", metric="steps to solve",
                unit="steps", settings=f"full batch, at most {args.xor_steps} steps",
                seeds=seeds, values=steps,
                extra=f"{len(solved)}/{len(seeds)} solved"
                + (f", median {np.median([r[0] for r in solved]):.0f}" if solved else ""),
                command=command("xor", label), runs=runs,
            )
        )  # fmt: skip
    for label in _labels(args, "digits"):
        runs = [digits[label, s] for s in seeds]
        rows.append(
            make_row(
                paper="dopamine", key=f"digits-{SLUGS[label]}", method=label,
                task=f"digits, 64-{DIGITS_HIDDEN}-10 tanh MLP, CE",
                metric=f"validation accuracy after {budgets[-1]} loss evaluations", unit="%",
                settings=f"full batch (1,347 images), {budgets[-1]} loss evaluations",
                seeds=seeds, values=[100 * r[-1]["acc"] for r in runs],
                extra=f"val loss {_ms([r[-1]['loss'] for r in runs])}",
                command=command("digits", label), runs=runs,
            )
        )  # fmt: skip
    for row in rows:
        row["wall_s"] = wall  # the pool interleaves rows: the wall time is the script's
    return rows


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    seeds, budgets = args.seeds, args.budgets
    start = time.perf_counter()
    rows = collect_rows(args)

    command = "python benchmarks/compare_dopamine_wp.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    print(f"`{command}`  ({len(seeds)} seeds: {seeds})\n")
    print(f"### XOR, 2-{XOR_HIDDEN}-1 tanh MLP, MSE, full batch, at most {args.xor_steps} steps\n")
    print("| rule | solved | steps to solve, median [min, max] | loss evals to solve, median |")
    print("|---|---|---|---|")
    for row in rows:
        if not row["key"].startswith("xor-"):
            continue
        runs = row["runs"]
        steps = [r[0] for r in runs if r[0] is not None]
        evals = [r[1] for r in runs if r[1] is not None]
        if steps:
            cell = f"{np.median(steps):.0f} [{min(steps)}, {max(steps)}]"
            ecell = f"{np.median(evals):.0f}"
        else:
            cell = ecell = "-"
        print(f"| {row['method']} | {len(steps)}/{len(seeds)} | {cell} | {ecell} |")

    print(f"\n### digits, 64-{DIGITS_HIDDEN}-10 tanh MLP, cross-entropy, full batch")
    print("mean ± std over seeds, at equal numbers of loss evaluations\n")
    header = " | ".join(f"val acc @{b} | val loss @{b}" for b in budgets)
    print(f"| rule | {header} | train loss @{budgets[-1]} |")
    print("|---|" + "---|" * (2 * len(budgets) + 1))
    for row in rows:
        if not row["key"].startswith("digits-"):
            continue
        runs = row["runs"]
        cells = []
        for i in range(len(budgets)):
            cells.append(_ms([r[i]["acc"] for r in runs]))
            cells.append(_ms([r[i]["loss"] for r in runs]))
        cells.append(_ms([r[-1]["train"] for r in runs], ".4f"))
        print(f"| {row['method']} | " + " | ".join(cells) + " |")
    print(f"\n({time.perf_counter() - start:.0f} s wall, {args.jobs} jobs)")


if __name__ == "__main__":
    main()
