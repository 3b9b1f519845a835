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

Run: ``python benchmarks/compare_dopamine_wp.py [--quick] [--seeds N]
[--budgets 2000 10000 20000] [--xor-steps N] [--jobs J]``. The defaults (5 seeds)
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 seeds, small budgets (< 1 min)")
    parser.add_argument("--seeds", type=int, default=None, help="number of seeds (default 5)")
    parser.add_argument("--budgets", type=int, nargs="+", default=None, help="loss evaluations")
    parser.add_argument("--xor-steps", type=int, default=2000, help="XOR step limit")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes")
    args = parser.parse_args(argv)
    seeds = list(range(args.seeds or (2 if args.quick else 5)))
    budgets = tuple(args.budgets or ((1000, 4000) if args.quick else (2000, 10000, 20000)))
    start = time.perf_counter()

    with ProcessPoolExecutor(max_workers=args.jobs) as pool:
        xor_jobs = {
            (label, s): pool.submit(run_xor, label, s, args.xor_steps)
            for label in PRESETS["xor"]
            for s in seeds
        }
        digit_jobs = {
            (label, s): pool.submit(run_digits, label, s, budgets)
            for label in PRESETS["digits"]
            for s in seeds
        }
        xor = {key: job.result() for key, job in xor_jobs.items()}
        digits = {key: job.result() for key, job in digit_jobs.items()}

    command = "python benchmarks/compare_dopamine_wp.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    print(f"`{command}`  ({len(seeds)} seeds: {seeds})\n")
    print(f"### XOR, 2-{XOR_HIDDEN}-1 tanh MLP, MSE, full batch, at most {args.xor_steps} steps\n")
    print("| rule | solved | steps to solve, median [min, max] | loss evals to solve, median |")
    print("|---|---|---|---|")
    for label in PRESETS["xor"]:
        runs = [xor[label, s] for s in seeds]
        steps = [r[0] for r in runs if r[0] is not None]
        evals = [r[1] for r in runs if r[1] is not None]
        if steps:
            cell = f"{np.median(steps):.0f} [{min(steps)}, {max(steps)}]"
            ecell = f"{np.median(evals):.0f}"
        else:
            cell = ecell = "-"
        print(f"| {label} | {len(steps)}/{len(seeds)} | {cell} | {ecell} |")

    print(f"\n### digits, 64-{DIGITS_HIDDEN}-10 tanh MLP, cross-entropy, full batch")
    print("mean ± std over seeds, at equal numbers of loss evaluations\n")
    header = " | ".join(f"val acc @{b} | val loss @{b}" for b in budgets)
    print(f"| rule | {header} | train loss @{budgets[-1]} |")
    print("|---|" + "---|" * (2 * len(budgets) + 1))
    for label in PRESETS["digits"]:
        runs = [digits[label, s] for s in seeds]
        cells = []
        for i in range(len(budgets)):
            cells.append(_ms([r[i]["acc"] for r in runs]))
            cells.append(_ms([r[i]["loss"] for r in runs]))
        cells.append(_ms([r[-1]["train"] for r in runs], ".4f"))
        print(f"| {label} | " + " | ".join(cells) + " |")
    print(f"\n({time.perf_counter() - start:.0f} s wall, {args.jobs} jobs)")


if __name__ == "__main__":
    main()
