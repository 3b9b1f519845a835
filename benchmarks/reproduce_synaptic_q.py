"""Bhargava, Rezaei & Lankarany (2022), Table 1, on the offline digits substitute.

The paper trains notMNIST (784 inputs) MLPs with 0 or 32 hidden units by synaptic
RL with a frozen ("static") policy and compares with full-batch gradient descent
(``shared/papers.md`` §1(c)-(d)). Here: scikit-learn's 8x8 digits (64 inputs, 10
classes, stratified 75/25 split per seed), the shipped default policy, full
training batch every step; for comparison also the authors' golden greedy table
(``papers.md`` §1(a)) made into a Q-table, same settings. The GD baseline is
``Backprop`` with SGD, lr 0.1, 500 (32 HU) / 5000 (0 HU) full-batch updates, as in
the authors' code.

Prints a markdown table of validation accuracy (mean, std, min, max over seeds),
runtime per run and parameter count, with the paper's notMNIST rows for
reference, and the command.

Run: ``python benchmarks/reproduce_synaptic_q.py [--quick] [--seeds N|A-B] [--steps N]
[--hidden 32 0] [--methods shipped,golden,gd]``; ``collect_rows(parse_args(argv))``
returns the rows as data (see ``reproduce_common``).
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
from reproduce_common import command_line, make_row, parse_seeds

from spiking_synrl.evaluate import evaluate_weights
from spiking_synrl.policy import GOLDEN_GREEDY, table_from_greedy
from spiking_synrl.rules.backprop import Backprop
from spiking_synrl.rules.synaptic_q import SynapticQ
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.tasks import make_task
from spiking_synrl.training.step import TrainState, train_step

#: the paper's Table 1 (notMNIST, validation accuracy in %, min / max / mean / std, runtime)
PAPER = [
    ("Synaptic RL (paper, notMNIST)", 32, "500000", (87.88, 89.12, 88.45, 0.60), "5.5 h", 25_450),
    (
        "Gradient descent (paper, notMNIST)",
        32,
        "500",
        (88.57, 90.00, 89.56, 0.52),
        "20 min",
        25_450,
    ),
    ("Synaptic RL (paper, notMNIST)", 0, "500000", (87.65, 88.84, 88.28, 0.41), "1.5 h", 7_850),
    ("Gradient descent (paper, notMNIST)", 0, "5000", (86.11, 86.73, 86.42, 0.22), "5 min", 7_850),
]

#: GD baseline updates, as the authors' notebooks (A2: 500 epochs; A1.1: 5000 iterations)
GD_STEPS = {32: 500, 0: 5000}


def train(rule: Any, hidden: int, steps: int, seed: int, init: str) -> tuple[float, float, float]:
    """Train on digits split ``seed``; returns (val accuracy, train accuracy, seconds)."""
    task = make_task("digits", seed=seed)
    net = MLP(64, (hidden,) if hidden else (), 10, activation="relu", init=init)
    rng = np.random.default_rng(seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    t0 = time.perf_counter()
    for _ in range(steps):
        state, _ = train_step(rule, net, task, state, rng)
    seconds = time.perf_counter() - t0
    val = evaluate_weights(net, task, state.weights, "val")["accuracy"]
    tr = evaluate_weights(net, task, state.weights, "train")["accuracy"]
    return val, tr, seconds


def n_params(hidden: int) -> int:
    """Weights and biases of a 64-hidden-10 (or 64-10) MLP."""
    return 65 * hidden + (hidden + 1) * 10 if hidden else 65 * 10


def _methods(args: argparse.Namespace) -> dict[str, tuple[str, Callable[[], Any], str]]:
    """The rows' methods: key -> (label, rule factory, init); ``gd`` runs GD_STEPS[hidden]."""
    schedule = None
    if args.switch:
        at, _, value = args.switch.partition(":")
        schedule = {int(at): float(value)}
    label = f"SynapticQ static, alpha_s={args.alpha_s:g}" + (
        f" -> {args.switch.split(':')[1]} at {args.switch.split(':')[0]}" if schedule else ""
    )
    return {
        "shipped": (
            label,
            lambda: SynapticQ(alpha_s=args.alpha_s, alpha_s_schedule=schedule),
            "uniform",
        ),
        "golden": (
            "same, authors' golden greedy table",
            lambda: SynapticQ(
                alpha_s=args.alpha_s,
                alpha_s_schedule=schedule,
                policy=table_from_greedy(GOLDEN_GREEDY),
            ),
            "uniform",
        ),
        "gd": ("Gradient descent (SGD lr 0.1)", lambda: Backprop(lr=0.1), "auto"),
    }


METHODS = ("shipped", "golden", "gd")


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags (also used to write each row's command)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seeds", type=parse_seeds, default="5", help="N (seeds 0..N-1), A-B or A,B,C"
    )
    parser.add_argument("--steps", type=int, default=10_000, help="SynapticQ steps per run")
    parser.add_argument(
        "--gd-steps",
        type=int,
        default=None,
        help="gradient-descent steps (default: the authors' 500 for 32 HU, 5000 for 0 HU)",
    )
    parser.add_argument("--alpha-s", dest="alpha_s", type=float, default=0.01)
    parser.add_argument(
        "--switch",
        default="3000:0.004",
        help="alpha_s schedule STEP:VALUE (from that step on; '' for none), like the "
        "paper's 1e-4 -> 5e-5 at step 100000",
    )
    parser.add_argument(
        "--hidden", type=int, nargs="+", choices=(32, 0), default=[32, 0], help="hidden units"
    )
    parser.add_argument(
        "--methods",
        type=lambda s: [m.strip() for m in s.split(",") if m.strip()],
        default=list(METHODS),
        help=f"comma-separated subset of {','.join(METHODS)}",
    )
    parser.add_argument("--quick", action="store_true", help="2 seeds, 4000 SynapticQ steps")
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parsed flags, ``--quick`` resolved into explicit budgets."""
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [m for m in args.methods if m not in METHODS]
    if unknown:
        parser.error(f"--methods must name some of {', '.join(METHODS)}. Got {unknown} instead.")
    if args.quick:
        args.seeds, args.steps, args.quick = [0, 1], 4000, False
    return args


def collect_rows(args: argparse.Namespace) -> list[dict[str, Any]]:
    """Train every (hidden, method) over the seeds; one row each (val accuracy in %)."""
    parser, rows = build_parser(), []
    methods = _methods(args)
    for hidden in args.hidden:
        for key in [m for m in METHODS if m in args.methods]:
            name, make, init = methods[key]
            n_steps = (args.gd_steps or GD_STEPS[hidden]) if key == "gd" else args.steps
            results = [train(make(), hidden, n_steps, seed, init) for seed in args.seeds]
            val = 100 * np.array([r[0] for r in results])
            tr = 100 * np.array([r[1] for r in results])
            secs = float(np.mean([r[2] for r in results]))
            rows.append(
                make_row(
                    paper="synaptic-q",
                    key=f"{key}-{hidden}",
                    method=name,
                    task=f"digits, 64-{hidden}-10 MLP" if hidden else "digits, 64-10 (0 hidden)",
                    metric="validation accuracy",
                    unit="%",
                    settings=(
                        f"{n_steps} full-batch steps, init {init}"
                        + (
                            f", alpha_s {args.alpha_s:g}, switch {args.switch or 'none'}"
                            if key != "gd"
                            else ", SGD lr 0.1"
                        )
                    ),
                    seeds=args.seeds,
                    values=val,
                    extra=f"train {tr.mean():.2f} %",
                    wall_s=float(np.sum([r[2] for r in results])),
                    command=command_line(
                        "reproduce_synaptic_q.py",
                        parser,
                        args,
                        always=("seeds", "steps") if key != "gd" else ("seeds",),
                        skip=("quick",)
                        + (("steps", "alpha_s", "switch") if key == "gd" else ("gd_steps",)),
                        hidden=[hidden],
                        methods=key,
                    ),
                    hidden=hidden,
                    steps=n_steps,
                    init=init,
                    train_mean=float(tr.mean()),
                    runtime_s=secs,
                    params=n_params(hidden),
                )
            )
            print(f"done: {name}, {hidden} HU", file=sys.stderr, flush=True)
    return rows


def main(argv: list[str] | None = None) -> int:
    """Run both methods at 0 and 32 hidden units over the seeds; print the table."""
    args = parse_args(argv)
    rows = collect_rows(args)
    print(f"## SynapticQ vs gradient descent on digits ({len(args.seeds)} seeds; val accuracy %)\n")
    print(
        "| method | HU | steps | init | mean | std | min | max | train mean "
        "| runtime/run | params |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        val = np.array(row["values"])
        print(
            f"| {row['method']} | {row['hidden']} | {row['steps']} | {row['init']} "
            f"| **{val.mean():.2f}** | {val.std():.2f} | {val.min():.2f} | {val.max():.2f} "
            f"| {row['train_mean']:.2f} | {row['runtime_s']:.1f} s | {row['params']} |"
        )
    for name, hidden, paper_steps, (lo, hi, mean, std), runtime, params in PAPER:
        print(
            f"| {name} | {hidden} | {paper_steps} | see §1(c) | **{mean:.2f}** "
            f"| {std:.2f} | {lo:.2f} | {hi:.2f} | — | {runtime} | {params} |"
        )
    print(f"\ncommand: python {' '.join(sys.argv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
