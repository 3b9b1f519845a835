"""A 64-H-10 spiking (LIF) network learns ``digits`` with a gradient-free rule.

The feed-forward LIF network of :mod:`networks.lif_feedforward` (Poisson inputs,
``cpp_standalone``: one build, then every step is one run of ``batch x 2`` copies)
is trained with ``train_step`` on minibatches; the validation accuracy of the
clean weights is measured every ``--eval-every`` steps (450 images, spike counts
of the 10 outputs as logits). Training stops at ``--steps`` or ``--time-limit``
seconds. The table reports the best and the last validation accuracy, the wall
time to reach ``--target`` and the whole wall time (build included).

Usage::

    python benchmarks/snn_digits.py                      # node perturbation, < 10 min
    python benchmarks/snn_digits.py --quick              # a smoke run, < 1 min
    python benchmarks/snn_digits.py --rule weight-perturbation \\
        --rule-params '{"sigma": 0.05, "eta": 0.01, "optimizer": "adam"}'   # untuned
    python benchmarks/snn_digits.py --steps 1500 --time-limit inf   # a step budget only

``collect_rows(parse_args(argv))`` returns the row as data (see ``reproduce_common``).

Measured (2 busy cores, brian2 cpp_standalone, defaults): validation accuracy
0.86 after 1250 steps (236 s wall with a cached build; a cold build adds ~50 s),
0.873 at 1500 steps (292 s);
between 0.83 and 0.87 up to 2500 steps (487 s).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from reproduce_common import command_line, make_row

from spiking_synrl.evaluate import predict
from spiking_synrl.rules import make_rule
from spiking_synrl.substrates import make_network
from spiking_synrl.tasks import make_task
from spiking_synrl.training.step import TrainState, train_step

#: rule hyperparameters tuned for this network; other rules: ``--rule-params``
RULES = {"node-perturbation": {"eta": 0.01, "sigma": 0.3, "optimizer": "adam"}}
NET = {"max_rate_hz": 200.0, "duration_ms": 100.0, "bias_init": 1.0, "init_gain": 1.0}


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags (also used to write the row's command)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rule", default="node-perturbation", help="a rule registry name")
    ap.add_argument("--rule-params", default="{}", help="JSON overrides of the rule's settings")
    ap.add_argument("--net-params", default="{}", help="JSON overrides of the network's settings")
    ap.add_argument("--hidden", type=int, default=32)
    ap.add_argument("--steps", type=int, default=4000)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument(
        "--time-limit", type=float, default=480.0, help="seconds of training ('inf': none)"
    )
    ap.add_argument("--target", type=float, default=0.85)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--device", default="cpp_standalone")
    ap.add_argument("--cache-dir", default=None)
    ap.add_argument("--quick", action="store_true", help="60 steps, a smoke run")
    return ap


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parsed flags, ``--quick`` resolved into explicit budgets."""
    args = build_parser().parse_args(argv)
    if args.quick:
        args.steps, args.eval_every, args.time_limit, args.quick = 60, 30, 25.0, False
    return args


def collect_rows(args: argparse.Namespace) -> list[dict]:
    """Train one seed; one row (final validation accuracy in %, best and timings as extras)."""
    t_start = time.perf_counter()
    task = make_task("digits", seed=0)
    net_params = {**NET, **json.loads(args.net_params)}
    rule_params = {**RULES.get(args.rule, {}), **json.loads(args.rule_params)}
    net = make_network(
        "snn", task, [args.hidden], device=args.device, batch_size=args.batch,
        n_candidates=2, cache_dir=args.cache_dir, seed=args.seed, **net_params,
    )  # fmt: skip
    build_s = net.build()
    rule = make_rule(args.rule, **rule_params)
    rng = np.random.default_rng(args.seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    val = task.split("val")

    def val_accuracy(w: dict[str, np.ndarray]) -> float:
        return task.metrics(predict(net, w, val.inputs), val)["accuracy"]

    t_train = time.perf_counter()
    curve, best, t_target = [], 0.0, None
    while state.step < args.steps and time.perf_counter() - t_train < args.time_limit:
        state, _ = train_step(rule, net, task, state, rng, batch_size=args.batch)
        if state.step % args.eval_every == 0 or state.step == args.steps:
            acc = val_accuracy(state.weights)
            elapsed = time.perf_counter() - t_start
            curve.append((state.step, acc, elapsed))
            print(f"step {state.step:6d}  val acc {acc:.3f}  {elapsed:7.1f} s", flush=True)
            best = max(best, acc)
            if t_target is None and acc >= args.target:
                t_target = elapsed
    final = val_accuracy(state.weights)
    wall = time.perf_counter() - t_start
    reach = f"{t_target:.0f}" if t_target is not None else "not reached"
    limited = state.step < args.steps
    return [
        make_row(
            paper="snn-digits", key=args.rule, method=f"{args.rule} {rule_params}",
            task=f"digits, LIF snn 64-{args.hidden}-10 ({args.device})",
            metric="final validation accuracy", unit="%",
            settings=f"{state.step} steps of batch {args.batch}, {net_params}"
            + (f" (stopped by the {args.time_limit:g} s time limit)" if limited else ""),
            seeds=[args.seed], values=[100 * final],
            extra=f"best {100 * max(best, final):.1f} %, "
            + (f"{100 * args.target:g} % reached at {reach} s" if t_target is not None
               else f"{100 * args.target:g} % not reached")
            + f", build {build_s:.0f} s",
            wall_s=wall,
            command=command_line(
                "snn_digits.py", build_parser(), args, always=("steps", "seed", "time_limit"),
                skip=("quick", "cache_dir"),
            ),
            steps=state.step, best=max(best, final), final=final, reach=reach,
            build_s=build_s, rule_params=rule_params, net_params=net_params, curve=curve,
        )
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    """Train, evaluate and print a markdown table."""
    args = parse_args(argv)
    (row,) = collect_rows(args)
    cmd = "python " + " ".join([os.path.relpath(__file__), *(argv or sys.argv[1:])])
    print()
    print(f"`{cmd}`")
    print()
    print("| rule | net | steps | batch | best val acc | final val acc "
          f"| time to {args.target:.0%} (s) | wall (s) | build (s) |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|")
    print(
        f"| {args.rule} {row['rule_params']} | snn 64-{args.hidden}-10 {row['net_params']} "
        f"| {row['steps']} | {args.batch} | {row['best']:.3f} | {row['final']:.3f} "
        f"| {row['reach']} | {row['wall_s']:.0f} | {row['build_s']:.1f} |"
    )


if __name__ == "__main__":
    main()
