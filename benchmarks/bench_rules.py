"""Cost of one learning-rule step at scale, without any network evaluation.

For each rule, one step = ``ask`` + ``tell`` (with a fake :class:`Evaluation` whose
loss we set) + ``apply_updates``, on one 1000 x 1000 weight matrix (10^6
synapses). The reference is a plain numpy ``w += step`` over the same arrays.
Prints a markdown table: best-of-R thread CPU time of a step (the minimum is the
figure least disturbed by other processes), its ratio to the reference (target
<= 5x for SynapticQ), and bytes of per-synapse rule state (target <= 4).
SynapticQ runs twice: with the compiled kernel the install built (when it found a
C compiler) and with the numpy reference that installs without one use.

Run: ``python benchmarks/bench_rules.py [--quick] [--synapses N] [--repeats R]``.
Add a rule by writing a ``bench_<name>(n, repeats)`` function returning a row and
listing it in ``BENCHES``.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from collections.abc import Callable
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np

from spiking_synrl.rules.base import apply_updates
from spiking_synrl.types import Evaluation, Forward


def _shape(n: int) -> tuple[int, int]:
    side = round(float(np.sqrt(n)))
    return (side, n // side)


# CPU time of this thread: other processes sharing the cores do not inflate it
_clock = time.thread_time


def _best_ms(fn: Callable[[], Any], repeats: int) -> float:
    fn()  # warm-up (allocator, caches)
    times = []
    for _ in range(repeats):
        t0 = _clock()
        fn()
        times.append(_clock() - t0)
    return 1e3 * float(np.min(times))


def per_synapse_bytes(state: Any, n_synapses: int) -> float:
    """Bytes of the state's arrays that grow with the number of synapses, per synapse."""
    total = 0

    def visit(obj: Any) -> None:
        nonlocal total
        if isinstance(obj, np.ndarray):
            if obj.size >= n_synapses // 4:  # ignore tables and scalars
                total += obj.nbytes
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            for f in dataclasses.fields(obj):
                visit(getattr(obj, f.name))
        elif isinstance(obj, dict):
            for v in obj.values():
                visit(v)

    visit(state)
    return total / n_synapses


def reference_ms(n: int, repeats: int) -> float:
    """``w += step`` on the same arrays: the yardstick."""
    rng = np.random.default_rng(0)
    w = rng.standard_normal(_shape(n))
    step = rng.standard_normal(_shape(n)) * 1e-4
    return _best_ms(lambda: w.__iadd__(step), repeats)


def bench_synaptic_q(n: int, repeats: int, kernel: str | None = None) -> dict[str, Any]:
    """SynapticQ, adaptive mode: choose + apply + Q-table update."""
    from spiking_synrl.rules import synaptic_q
    from spiking_synrl.rules.synaptic_q import SynapticQ

    kernel = kernel or synaptic_q.KERNEL
    rule = SynapticQ(alpha_s=1e-4, epsilon=0.1, mode="adaptive")
    rng = np.random.default_rng(0)
    weights = {"in->out": rng.uniform(-0.1, 0.1, _shape(n))}
    box = {"w": weights, "s": rule.init(weights, rng), "loss": 1.0}
    forward = Forward(np.zeros((1, 1)))

    def step() -> None:
        proposal, state = rule.ask(box["s"], box["w"], rng)
        box["loss"] *= 0.999 if rng.random() < 0.5 else 1.001  # rewards of both signs
        ev = Evaluation(loss=np.array([box["loss"]]), forward=forward)
        updates, box["s"], _ = rule.tell(state, proposal, [ev])
        box["w"] = apply_updates(box["w"], updates)

    installed, synaptic_q.KERNEL = synaptic_q.KERNEL, kernel
    try:
        ms = _best_ms(step, repeats)
    finally:
        synaptic_q.KERNEL = installed
    return {
        "rule": f"synaptic-q (adaptive, {kernel} kernel)",
        "ms": ms,
        "state_bytes": per_synapse_bytes(box["s"], n),
    }


def bench_synaptic_q_numpy(n: int, repeats: int) -> dict[str, Any]:
    """The same with the numpy reference (what installs without a C compiler run)."""
    return bench_synaptic_q(n, repeats, kernel="numpy")


def bench_contract_floor(n: int, repeats: int) -> dict[str, Any]:
    """What any rule returning a dense update pays: a fresh update array + apply."""
    rng = np.random.default_rng(0)
    box = {"w": {"in->out": rng.uniform(-0.1, 0.1, _shape(n))}}

    def step() -> None:
        delta = np.full_like(box["w"]["in->out"], 1e-4)  # fresh, as a rule returns it
        box["w"] = apply_updates(box["w"], {"in->out": delta})

    ms = _best_ms(step, repeats)
    return {"rule": "floor: fresh update array + apply", "ms": ms, "state_bytes": 0.0}


BENCHES: list[Callable[[int, int], dict[str, Any]]] = [
    bench_contract_floor,
    bench_synaptic_q,
    bench_synaptic_q_numpy,
]


def main(argv: list[str] | None = None) -> int:
    """Run every benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--synapses", type=int, default=1_000_000)
    parser.add_argument("--repeats", type=int, default=50)
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args(argv)
    repeats = 10 if args.quick else args.repeats
    n = args.synapses
    ref = reference_ms(n, repeats)
    print(f"## One rule step on {n:,} synapses (best thread CPU time of {repeats})\n")
    print(
        "| rule | step, CPU ms | `w += step`, CPU ms | ratio (target <= 5) "
        "| state bytes/synapse (target <= 4) |"
    )
    print("|---|---|---|---|---|")
    for bench in BENCHES:
        row = bench(n, repeats)
        print(
            f"| {row['rule']} | {row['ms']:.2f} | {ref:.2f} | {row['ms'] / ref:.1f}x "
            f"| {row['state_bytes']:.0f} |"
        )
    print(f"\ncommand: python {' '.join(sys.argv)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
