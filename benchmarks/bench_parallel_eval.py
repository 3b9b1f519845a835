"""Speed-up of evaluating a step's K candidates in worker processes (``eval_workers``).

Cases (each a Trainer run of ``--steps`` steps after a 2-step warm-up that starts
the workers; the time per step is the median of the steps):

- ``rnn``: weight perturbation with ``K = 1 + 7`` candidates on a 500-unit RNN,
  Mackey-Glass windows of 200 steps, batch 8: one candidate costs ~100
  (B, 500) x (500, 500) products per step, so a slice is worth sending away.
- ``snn``: antithetic weight perturbation, ``K = 4``, on the 64-32-10 LIF network
  (``cpp_standalone``, 100 ms, batch 32, 2 candidates per run) on digits: two
  compiled runs per step, one per worker. The first use compiles the network
  (~40 s, cached under ``~/.cache/spiking_synrl``).

Every row checks that the final weights equal those of ``eval_workers=1``.
BLAS threads are left as the environment sets them; CI and the figures in the
README use ``OPENBLAS_NUM_THREADS=1`` so that the processes, not BLAS, share the
cores.

Usage::

    OPENBLAS_NUM_THREADS=1 python benchmarks/bench_parallel_eval.py [--case rnn|snn]
        [--workers 1 2] [--steps 10]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from spiking_synrl.rules import make_rule
from spiking_synrl.substrates import RNN, make_network
from spiking_synrl.tasks import make_task
from spiking_synrl.training import Callback, Trainer


class _StepTimer(Callback):
    def __init__(self) -> None:
        self.times: list[float] = []
        self._t = 0.0

    def on_train_begin(self, trainer, state):
        self._t = time.perf_counter()

    def on_step_end(self, trainer, state, metrics):
        now = time.perf_counter()
        self.times.append(now - self._t)
        self._t = now


def _case(name: str):
    if name == "rnn":
        task = make_task("mackey-glass", window=200, washout=20)
        rule = make_rule("weight-perturbation", sigma=1e-3, eta=1e-4, n_perturbations=7)
        return rule, RNN(1, 500, 1), task, 8
    task = make_task("digits")
    net = make_network("snn", task, [32], device="cpp_standalone", batch_size=32,
                       n_candidates=2)
    rule = make_rule("weight-perturbation", sigma=0.3, eta=0.1, n_perturbations=2,
                     antithetic=True)
    return rule, net, task, 32


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--case", choices=("rnn", "snn"), default="rnn")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    ap.add_argument("--steps", type=int, default=10)
    args = ap.parse_args(argv)

    rule, net, task, batch = _case(args.case)
    warm = 2
    print(f"case {args.case}: {type(net).__name__}, {task.name}, batch {batch}, "
          f"{args.steps} timed steps; {os.cpu_count()} CPUs, OPENBLAS_NUM_THREADS="
          f"{os.environ.get('OPENBLAS_NUM_THREADS', 'unset')}")
    print("| eval_workers | s per step | speed-up | same weights as 1 worker |")
    print("|---|---|---|---|")
    base_time, base_weights = None, None
    for workers in args.workers:
        timer = _StepTimer()
        trainer = Trainer(rule, net, task, seed=0, batch_size=batch, eval_every=10**9,
                          eval_workers=workers, callbacks=[timer])
        history = trainer.fit(warm + args.steps)
        per_step = float(np.median(timer.times[warm:]))
        weights = history.state.weights
        if base_time is None:
            base_time, base_weights = per_step, weights
        same = all(np.array_equal(weights[k], base_weights[k]) for k in weights)
        print(f"| {workers} | {per_step:.3f} | {base_time / per_step:.2f}x | {same} |")
    print(f"command: OPENBLAS_NUM_THREADS={os.environ.get('OPENBLAS_NUM_THREADS', '')} "
          f"python benchmarks/bench_parallel_eval.py {' '.join(argv or sys.argv[1:])}")


if __name__ == "__main__":
    main()
