"""Per-sample cost of evaluating a 64-32-10 LIF network (100 ms chunks), by device.

Rows, all in one process on the same weights and inputs (digits-like rates):

(a) ``runtime`` (Cython, GC frozen), one sample per run;
(b) ``cpp_standalone``, one sample per run (one ``./main`` process per sample);
(c) ``cpp_standalone``, batched: ``--batch`` samples x ``--candidates`` weight sets
    as disconnected copies in one run;
(d) ``runtime``, batched like (c) (for reference).

"per eval" is the wall time of one (sample, candidate) evaluation, including
writing the run arguments, the process start, and reading the results. Synaptic
events count every delivered spike (input spikes x fan-out to the candidate
copies of that sample, plus hidden spikes x 10). Build times are cold by default
(a fresh cache directory); ``--cache-dir`` reuses a cache.

Usage::

    python benchmarks/bench_snn.py            # full (< 10 min on 2 cores)
    python benchmarks/bench_snn.py --quick    # numpy runtime, fewer runs (< 1 min warm)
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from networks.lif_feedforward import network
from spiking_synrl.types import stack_weights

N_IN, N_HID, N_OUT = 64, 32, 10


def _time_runs(net, weights, x, n_runs, rng):
    """Median wall seconds of ``forward_population`` calls of one full capacity."""
    net.forward_population(weights, x, rng=rng)  # warm-up (first runtime run compiles)
    times, events = [], []
    for _ in range(n_runs):
        t0 = time.perf_counter()
        fwd = net.forward_population(weights, x, rng=rng)
        times.append(time.perf_counter() - t0)
        k = fwd.outputs.shape[0]
        spikes_in = fwd.traces["act:in"][0].sum() / net.act_per_spike  # shared by K copies
        spikes_hid = fwd.traces["act:hid"].sum() / net.act_per_spike
        events.append(spikes_in * N_HID * k + spikes_hid * N_OUT)
    return float(np.median(times)), float(np.mean(events))


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print a markdown table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="numpy runtime, fewer runs")
    ap.add_argument("--batch", type=int, default=None, help="samples per batched run (64)")
    ap.add_argument("--candidates", type=int, default=2, help="candidates per batched run")
    ap.add_argument("--runs", type=int, default=None, help="timed runs per row")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cache-dir", default=None, help="build cache (default: a fresh one)")
    args = ap.parse_args(argv)
    batch = args.batch or (16 if args.quick else 64)
    runs = args.runs or (5 if args.quick else 20)
    target = "numpy" if args.quick else "cython"
    tmp = tempfile.TemporaryDirectory(prefix="bench_snn_")
    cache = Path(args.cache_dir) if args.cache_dir else Path(tmp.name)
    rng = np.random.default_rng(args.seed)
    common = dict(loss="ce", duration_ms=100.0, max_rate_hz=100.0, init_gain=3.0, bias_init=0.5)
    common.update(cache_dir=cache, seed=args.seed)
    # digits-like inputs in [0, 1], mean about 0.3
    x_all = np.clip(rng.normal(0.3, 0.35, size=(batch, N_IN)), 0.0, 1.0)

    rows = []

    def bench(label, device, b, k, n_runs, **kw):
        net = network(N_IN, (N_HID,), N_OUT, device=device, batch_size=b, n_candidates=k,
                      codegen_target=target, **common, **kw)  # fmt: skip
        w = net.init_weights(np.random.default_rng(args.seed))
        stacked = stack_weights([w] * k)
        t0 = time.perf_counter()
        net.forward_population(stacked, x_all[:b], rng=rng)  # build or compile
        build = time.perf_counter() - t0
        per_run, events = _time_runs(net, stacked, x_all[:b], n_runs, rng)
        rows.append((label, device, b * k, build, per_run, events))
        net.close()

    bench("(a) runtime, 1 sample/run", "runtime", 1, 1, runs)
    bench("(b) standalone, 1 sample/run", "cpp_standalone", 1, 1, 4 * runs)
    bench(f"(c) standalone, {batch}x{args.candidates}/run", "cpp_standalone", batch,
          args.candidates, runs)  # fmt: skip
    bench(f"(d) runtime, {batch}x{args.candidates}/run", "runtime", batch, args.candidates,
          max(2, runs // 4))  # fmt: skip

    base = rows[0][4] / rows[0][2]
    print(f"\n`{' '.join([Path(sys.argv[0]).name, *(argv or sys.argv[1:])])}` "
          f"(64-32-10 LIF, 100 ms chunks, runtime target {target}, "
          f"{os.cpu_count()} cores, median of {runs} runs)\n")  # fmt: skip
    print(
        "| mode | evals/run | first call s (build) | ms/run | ms/eval | speed-up vs (a) "
        "| synaptic events/s |"
    )
    print("|---|---|---|---|---|---|---|")
    for label, _, n, build, per_run, events in rows:
        per_eval = per_run / n
        print(f"| {label} | {n} | {build:.1f} | {1e3 * per_run:.1f} | {1e3 * per_eval:.3f} "
              f"| {base / per_eval:.0f}x | {events / per_run / 1e6:.1f} M |")  # fmt: skip
    tmp.cleanup()


if __name__ == "__main__":
    main()
