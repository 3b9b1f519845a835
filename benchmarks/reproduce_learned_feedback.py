"""Reproduce Lansdell, Prakash & Kording (ICLR 2020): feedback learned by node perturbation.

(a) Fixed forward weights (the paper's ``nodepert4_fixedw`` experiment): how fast the
learned feedback ``B`` approaches ``W^T``, for the exact least-squares and the SGD
feedback update. Network 64-50-20-10 sigmoid (the paper's 784-50-20-10 with 64
inputs), Gaussian inputs and Gaussian targets (MSE), batch 32, sigma = 0.01. Two
angles per feedback matrix: between ``B`` and ``W^T`` as flattened matrices, and
between the error signals ``e B`` and ``e W^T`` on a probe batch (the paper's
other measure; it ignores directions the errors never take).

(b) Digits (8x8, the offline stand-in for MNIST), 64-50-20-10 sigmoid, softmax
cross-entropy (the paper uses MSE on one-hot targets), SGD, batch 32: final
validation error of learned feedback (lstsq / sgd), feedback alignment and
backprop, each at its tuned learning rate, mean and std over seeds, next to the
paper's MNIST numbers (``shared/papers.md`` §2(d): 2,000 epochs, 5 seeds).

Usage::

    python benchmarks/reproduce_learned_feedback.py            # 3 seeds, ~2 min
    python benchmarks/reproduce_learned_feedback.py --quick    # 1 seed, < 1 min

``collect_rows(parse_args(argv))`` returns the rows as data (see ``reproduce_common``);
``--parts fixed-w,digits`` and ``--rules`` narrow the run to some rows.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np
from reproduce_common import command_line, make_row, parse_seeds

from spiking_synrl.evaluate import evaluate_weights
from spiking_synrl.rules.backprop import Backprop
from spiking_synrl.rules.learned_feedback import (
    FeedbackAlignment,
    LearnedFeedback,
    feedback_angle,
    feedback_angles,
)
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.tasks import make_task
from spiking_synrl.tasks.base import Task
from spiking_synrl.testing import GaussianTask
from spiking_synrl.training.step import TrainState, train_step

#: the paper's MNIST final test errors in % (papers.md §2(d)); NP = its best sigma
PAPER_MNIST = {"learned-lstsq": 3.51, "learned-sgd": None, "feedback-alignment": 4.28,
               "backprop": 2.65}  # fmt: skip

#: tuned on digits, 64-50-20-10 sigmoid, CE, batch 32, 1,500-6,000 steps, seeds 0-2
DIGITS_RULES = {
    "learned-lstsq": lambda: LearnedFeedback(lr=1.0, sigma=0.01, feedback_update="lstsq"),
    "learned-sgd": lambda: LearnedFeedback(
        lr=1.0, sigma=0.01, feedback_update="sgd", feedback_lr=1.0
    ),
    "feedback-alignment": lambda: FeedbackAlignment(lr=2.0),
    "backprop": lambda: Backprop(lr=3.0),
}

FIXED_W_RULES = {
    "lstsq": lambda: LearnedFeedback(lr=0.0, sigma=0.01, feedback_update="lstsq"),
    "sgd": lambda: LearnedFeedback(lr=0.0, sigma=0.01, feedback_update="sgd", feedback_lr=0.01),
}


def signal_angles(net: MLP, task: Task, weights: dict, feedback: dict) -> dict[str, float]:
    """Angle between ``e B`` and ``e W^T`` over the task's validation set."""
    batch = task.split("val")
    fwd = net.forward(weights, batch.inputs)
    d_out = task.loss_grad(fwd.outputs, batch) / len(batch)
    _, deltas = net.backward(weights, fwd, d_out, feedback)
    out = {}
    for key, b in feedback.items():
        e = deltas[key.split("->")[1]]
        # feedback_angle(w, b) is the angle between b and w.T: pass (e W^T)^T.
        out[key] = feedback_angle((e @ weights[key].T).T, e @ b)
    return out


def fixed_w(steps: int, checkpoints: list[int], batch_size: int) -> list[dict[str, object]]:
    """Angles over steps with fixed forward weights: one record per (update, checkpoint)."""
    net = MLP(64, (50, 20), 10, activation="sigmoid")
    task = GaussianTask(64, 10)
    records: list[dict[str, object]] = []
    for name, make in FIXED_W_RULES.items():
        rule = make()
        rng = np.random.default_rng(0)
        weights = net.init_weights(rng)
        state = TrainState(0, weights, rule.init(weights, rng))
        t0 = time.perf_counter()
        for step in range(1, steps + 1):
            state, _ = train_step(rule, net, task, state, rng, batch_size=batch_size)
            if step in checkpoints:
                mat = feedback_angles(weights, state.rule_state)
                sig = signal_angles(net, task, weights, state.rule_state.feedback)
                records.append({"update": name, "step": step, "matrix": mat, "signal": sig,
                                "wall_s": time.perf_counter() - t0})  # fmt: skip
    return records


def fixed_w_table(records: list[dict]) -> str:
    """Markdown table of :func:`fixed_w`'s angles."""
    rows = ["| update | step | angle(B, W^T) hid1->hid2 | hid2->out | "
            "angle(eB, eW^T) hid1->hid2 | hid2->out |",
            "|---|---|---|---|---|---|"]  # fmt: skip
    for r in records:
        mat, sig = r["matrix"], r["signal"]
        rows.append(
            f"| {r['update']} | {r['step']} | {mat['hid1->hid2']:.1f} | {mat['hid2->out']:.1f} | "
            f"{sig['hid1->hid2']:.1f} | {sig['hid2->out']:.1f} |"
        )
    return "\n".join(rows)


def digits(rules: list[str], seeds: list[int], steps: int, batch_size: int) -> dict[str, dict]:
    """Final validation error (%), loss and feedback angles on digits, per rule and seed."""
    net = MLP(64, (50, 20), 10, activation="sigmoid")
    out = {}
    for name in rules:
        make = DIGITS_RULES[name]
        errors, losses, angles = [], [], []
        t0 = time.perf_counter()
        for seed in seeds:
            rule = make()
            task = make_task("digits", seed=seed)
            rng = np.random.default_rng(seed)
            weights = net.init_weights(rng)
            state = TrainState(0, weights, rule.init(weights, rng))
            for _ in range(steps):
                state, _ = train_step(rule, net, task, state, rng, batch_size=batch_size)
            m = evaluate_weights(net, task, state.weights)
            errors.append(100.0 * (1.0 - m["accuracy"]))
            losses.append(m["loss"])
            if hasattr(state.rule_state, "feedback"):
                a = feedback_angles(state.weights, state.rule_state)
                angles.append((a["hid1->hid2"], a["hid2->out"]))
        out[name] = {"errors": errors, "losses": losses, "angles": angles,
                     "wall_s": time.perf_counter() - t0}  # fmt: skip
    return out


def digits_table(results: dict[str, dict]) -> str:
    """Markdown table of :func:`digits`'s results, with the paper's MNIST errors."""
    rows = ["| rule | val error % (mean ± std) | val loss | final angle(B, W^T) "
            "hid1->hid2 / hid2->out | paper MNIST test error % |",
            "|---|---|---|---|---|"]  # fmt: skip
    for name, r in results.items():
        errors, losses, angles = r["errors"], r["losses"], r["angles"]
        angle = "—" if not angles else "{:.1f} / {:.1f}".format(*np.mean(angles, axis=0))
        paper = PAPER_MNIST[name]
        rows.append(
            f"| {name} | {np.mean(errors):.2f} ± {np.std(errors):.2f} | "
            f"{np.mean(losses):.3f} | {angle} | {'—' if paper is None else f'{paper:.2f}'} |"
        )
    return "\n".join(rows)


PARTS = ("fixed-w", "digits")


def _csv(text: str) -> list[str]:
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    """The command-line flags (also used to write each row's command)."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--seeds", type=parse_seeds, default="3", help="seeds for digits (b): N, A-B or A,B,C"
    )
    parser.add_argument("--steps", type=int, default=6000, help="training steps for digits (b)")
    parser.add_argument("--fixed-steps", type=int, default=20000, help="steps for fixed W (a)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--quick", action="store_true", help="1 seed, 1,500 / 3,000 steps")
    parser.add_argument("--parts", type=_csv, default=list(PARTS), help="fixed-w,digits")
    parser.add_argument(
        "--rules", type=_csv, default=list(DIGITS_RULES), help=f"of {','.join(DIGITS_RULES)}"
    )
    return parser


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Parsed flags, ``--quick`` resolved into explicit budgets."""
    parser = build_parser()
    args = parser.parse_args(argv)
    bad = [p for p in args.parts if p not in PARTS] + [
        r for r in args.rules if r not in DIGITS_RULES
    ]
    if bad:
        parser.error(
            f"--parts takes {','.join(PARTS)} and --rules {','.join(DIGITS_RULES)}. "
            f"Got {bad} instead."
        )
    if args.quick:
        args.seeds, args.steps, args.fixed_steps, args.quick = [0], 1500, 3000, False
    return args


def collect_rows(args: argparse.Namespace) -> list[dict]:
    """Run (a) and (b); rows: final angles with fixed W, then digits validation error."""
    parser, rows = build_parser(), []
    net_name = "64-50-20-10 sigmoid MLP"
    if "fixed-w" in args.parts:
        checkpoints = [s for s in (100, 300, 1000, 3000, 10000, 30000, 100000)
                       if s < args.fixed_steps] + [args.fixed_steps]  # fmt: skip
        records = fixed_w(args.fixed_steps, checkpoints, args.batch_size)
        command = command_line(
            "reproduce_learned_feedback.py", parser, args, always=("fixed_steps",),
            skip=("quick", "seeds", "steps", "rules"), parts="fixed-w",
        )  # fmt: skip
        for update in FIXED_W_RULES:
            last = [r for r in records if r["update"] == update][-1]
            for layer in ("hid1->hid2", "hid2->out"):
                rows.append(
                    make_row(
                        paper="learned-feedback", key=f"fixed-w-{update}-{layer}",
                        method=f"learned feedback ({update}), fixed W",
                        task=f"Gaussian inputs/targets, {net_name}, layer {layer}",
                        metric=f"angle(B, W^T) after {args.fixed_steps} steps", unit="°",
                        settings=f"forward weights fixed, batch {args.batch_size}, sigma 0.01, "
                        "init seed 0",
                        seeds=[0], values=[last["matrix"][layer]],
                        extra=f"error-signal angle {last['signal'][layer]:.1f}°",
                        wall_s=last["wall_s"], command=command, records=records,
                    )
                )  # fmt: skip
    if "digits" in args.parts:
        results = digits(args.rules, args.seeds, args.steps, args.batch_size)
        for name, r in results.items():
            angle = ""
            if r["angles"]:
                angle = "; final angle(B, W^T) {:.1f}° / {:.1f}°".format(*np.mean(r["angles"], 0))
            rows.append(
                make_row(
                    paper="learned-feedback", key=f"digits-{name}", method=name,
                    task=f"digits, {net_name}, softmax CE", metric="validation error", unit="%",
                    settings=f"SGD, batch {args.batch_size}, {args.steps} steps, tuned lr",
                    seeds=args.seeds, values=r["errors"],
                    extra=f"val loss {np.mean(r['losses']):.3f}{angle}",
                    wall_s=r["wall_s"],
                    command=command_line(
                        "reproduce_learned_feedback.py", parser, args,
                        always=("seeds", "steps"), skip=("quick", "fixed_steps"),
                        parts="digits", rules=name,
                    ),
                    result=r,
                )
            )  # fmt: skip
    return rows


def main(argv: list[str] | None = None) -> None:
    """Parse flags, run (a) and (b), print markdown tables and the command."""
    args = parse_args(argv)
    command = "python benchmarks/reproduce_learned_feedback.py " + " ".join(
        sys.argv[1:] if argv is None else argv
    )
    t0 = time.time()
    rows = collect_rows(args)
    if "fixed-w" in args.parts:
        print("## (a) Fixed W: learned feedback B vs W^T (64-50-20-10 sigmoid, Gaussian data, "
              f"batch {args.batch_size}, sigma 0.01, seed 0)\n")  # fmt: skip
        print(fixed_w_table(next(r for r in rows if "records" in r)["records"]))
    if "digits" in args.parts:
        print(f"\n## (b) Digits, 64-50-20-10 sigmoid, CE, SGD, batch {args.batch_size}, "
              f"{args.steps} steps, {len(args.seeds)} seed(s)\n")  # fmt: skip
        print(digits_table({r["method"]: r["result"] for r in rows if "result" in r}))
    print("\nPaper: MNIST 784-50-20-10, MSE, 2,000 epochs x 1,000 it., 5 seeds "
          "(shared/papers.md §2(d)); NP row = its best noise level.")  # fmt: skip
    print(f"\nCommand: `{command.strip()}` ({time.time() - t0:.0f} s)")


if __name__ == "__main__":
    main()
