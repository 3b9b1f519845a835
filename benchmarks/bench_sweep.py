"""Wall time of one sweep on 1 and on 2 Dask workers, and the speed-up.

The sweep is 3 learning rates x 2 seeds of weight perturbation on XOR (the
example ``examples/sweep_xor.toml`` with longer runs), each configuration into a
fresh sweep directory so that nothing is skipped. The time is that of the whole
:func:`spiking_synrl.sweep.run_sweep` call a user waits for: starting the local
cluster, the trials, the table and the plot. The trials are independent and
single-threaded, so the ideal speed-up on 2 free cores is a little under 2 (the
cluster start and the last, unpaired trial do not split).

Run: ``python benchmarks/bench_sweep.py [--steps 20000] [--seeds 2] [--workers 1 2]``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from spiking_synrl.sweep import parse_sweep, run_sweep


def sweep_time(workers: int, steps: int, n_seeds: int, root: Path) -> tuple[float, int]:
    """Seconds for the whole sweep on ``workers`` local workers, and its trial count."""
    spec = parse_sweep({
        "out": str(root / f"workers-{workers}"),
        "n_seeds": n_seeds,
        "metric": "val_loss",
        "base": {"task": "xor", "rule": "weight-perturbation", "steps": steps,
                 "checkpoint_every": max(1, steps // 10), "eval_every": max(1, steps // 10),
                 "log_every": 100},
        "grid": {"rule_params": {"eta": [0.03, 0.1, 0.3]}},
    })
    t0 = time.perf_counter()
    result = run_sweep(spec, workers=workers, progress=False)
    wall = time.perf_counter() - t0
    if result.errors:
        raise SystemExit(f"sweep failed: {result.errors}")
    return wall, len(result.trials)


def main() -> None:
    """Print the wall time per worker count and the speed-up over the first."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=20000, help="training steps per trial")
    parser.add_argument("--seeds", type=int, default=2, help="seeds per learning rate")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    print(f"command: python {' '.join(sys.argv)}")
    print(f"cores: {os.cpu_count()}, load average (1 min) before: {os.getloadavg()[0]:.2f}")
    with tempfile.TemporaryDirectory(prefix="bench_sweep-") as tmp:
        times = {}
        for workers in args.workers:
            wall, n_trials = sweep_time(workers, args.steps, args.seeds, Path(tmp))
            times[workers] = wall
        print(f"\n{n_trials} trials of {args.steps} steps (xor, weight perturbation)\n")
        print("| workers | wall time (s) | speed-up |")
        print("|---|---|---|")
        first = times[args.workers[0]]
        for workers, wall in times.items():
            print(f"| {workers} | {wall:.1f} | {first / wall:.2f}x |")


if __name__ == "__main__":
    main()
