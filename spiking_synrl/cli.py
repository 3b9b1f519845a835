"""The ``synrl`` command line.

::

    synrl train [--config run.toml] [--task digits] [--net mlp|rnn|snn] [--hidden 32] \\
                [--device runtime|cpp_standalone|cuda_standalone] \\
                [--rule synaptic-q] [--steps 20000] [--seed 0] [--out runs/digits-q] \\
                [--param eta=0.1 ...] [--net-param activation=relu ...] [--eval-workers 2]
    synrl eval RUN_DIR [--split val]
    synrl resume RUN_DIR [--steps N] [--eval-workers N]
    synrl policy learn --out PATH [--seed 0] [--steps N] [--param key=value ...]
    synrl policy show [PATH]
    synrl plot RUN_DIR [RUN_DIR ...] [--out DIR]
    synrl export RUN_DIR --out DIR
    synrl sweep SWEEP.toml [--workers N | --scheduler ADDRESS] [--out DIR] [--dry-run]
    synrl list

Every error the toolkit raises on purpose is printed as one line naming the
parameter, what it must be and what was given, with exit status 2.
"""

from __future__ import annotations

import argparse
import inspect
import json
import sys
import time
import tomllib
from typing import Any

from spiking_synrl.errors import SynRLError

__all__ = ["main"]


def _value(text: str) -> Any:
    """Parse ``value`` of ``key=value`` as a TOML literal (1e-3, true, [1, 2]) or a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def _pairs(items: list[str] | None, flag: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise SynRLError(f"The {flag!r} option must look like key=value. Got {item!r} instead.")
        out[key.strip()] = _value(value.strip())
    return out


def _hidden(text: str) -> list[int]:
    try:
        return [int(h) for h in text.replace(",", " ").split()] if text.strip() else []
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be layer sizes like 32 or 64,32 (or '' for none); got {text!r}"
        ) from None


def _load_toml(path: str) -> dict[str, Any]:
    try:
        with open(path, "rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        raise SynRLError(f"The '--config' file {path!r} does not exist.") from None
    except tomllib.TOMLDecodeError as err:
        raise SynRLError(f"The '--config' file {path!r} is not valid TOML: {err}") from None


def _print_result(result: dict[str, Any], out: str | None) -> None:
    metrics = {**result["train_metrics"], **result["metrics"]}
    shown = ", ".join(f"{k} = {v:.4g}" for k, v in metrics.items())
    print(
        f"{result['rule']} on {result['task']} ({result['net']}): {result['steps']} steps, "
        f"{result['n_evals']} loss evaluations, {result['wall_time_s']:.1f} s"
    )
    print(f"result: {shown}")
    if out:
        print(f"run directory: {out}")


def _cmd_train(args: argparse.Namespace) -> None:
    from spiking_synrl.run import resolve_config, train_run

    user = _load_toml(args.config) if args.config else {}
    for key in ("task", "net", "rule", "steps", "seed", "batch_size", "eval_every",
                "checkpoint_every", "batch_refresh", "eval_workers"):
        value = getattr(args, key)
        if value is not None:
            user[key] = value
    if args.hidden is not None:
        user["hidden"] = args.hidden
    if args.device is not None:  # a spiking-network setting, kept with the network's params
        user.setdefault("net_params", {})["device"] = args.device
    for flag, key in (("param", "rule_params"), ("net_param", "net_params"),
                      ("task_param", "task_params")):
        pairs = _pairs(getattr(args, flag), f"--{flag.replace('_', '-')}")
        if pairs:
            user[key] = {**user.get(key, {}), **pairs}
    config = resolve_config(user)
    result, _ = train_run(config, args.out, progress=not args.no_progress,
                          overwrite=args.overwrite)
    _print_result(result, args.out)


def _cmd_resume(args: argparse.Namespace) -> None:
    from spiking_synrl.run import resume_run

    result, _ = resume_run(args.run_dir, steps=args.steps, progress=not args.no_progress,
                           eval_workers=args.eval_workers)
    _print_result(result, args.run_dir)


def _cmd_eval(args: argparse.Namespace) -> None:
    from spiking_synrl.run import evaluate_run

    metrics = evaluate_run(args.run_dir, args.split)
    if args.json:
        print(json.dumps(metrics))
    else:
        for key, value in metrics.items():
            print(f"{key}: {value:.6g}")


def _cmd_policy(args: argparse.Namespace) -> None:
    from spiking_synrl import policy

    if args.policy_cmd == "learn":
        params = _pairs(args.param, "--param")
        if args.steps is not None:
            params["steps"] = args.steps
        command = "synrl policy learn " + " ".join(sys.argv[3:])
        start = time.perf_counter()
        q_table = policy.learn_policy(seed=args.seed, progress=not args.no_progress, **params)
        # every setting, defaults included, so the file says how to remake it
        settings = {
            name: p.default
            for name, p in inspect.signature(policy.learn_policy).parameters.items()
            if p.default is not inspect.Parameter.empty and name != "progress"
        }
        meta = {"command": command, **settings, "seed": args.seed, **params,
                "runtime_s": round(time.perf_counter() - start, 1)}
        policy.save_policy(args.out, q_table, meta)
        print(f"policy written to {args.out}")
        print(policy.format_greedy(q_table))
    else:
        q_table, meta = policy.load_policy(args.path or policy.DEFAULT_POLICY_PATH)
        print(policy.format_greedy(q_table))
        if meta.get("command"):
            print(f"produced by: {meta['command']}")


def _cmd_plot(args: argparse.Namespace) -> None:
    from spiking_synrl.plot import plot_runs

    for path in plot_runs(args.run_dirs, args.out):
        print(path)


def _cmd_sweep(args: argparse.Namespace) -> None:
    from spiking_synrl import sweep

    spec = sweep.load_sweep(args.sweep_file, out=args.out)
    if args.dry_run:
        print(sweep.describe(sweep.expand_trials(spec)))
        return
    try:
        result = sweep.run_sweep(spec, workers=args.workers, scheduler=args.scheduler,
                                 retries=args.retries, progress=not args.no_progress)
    except KeyboardInterrupt:
        print("interrupted; run the same command again to finish the sweep (finished trials "
              "are skipped, unfinished ones resume)", file=sys.stderr)
        raise SystemExit(130) from None
    print(sweep.format_summary(result))
    for path in result.files:
        print(path)
    if result.errors:
        first = next(iter(result.errors.items()))
        raise SynRLError(
            f"{len(result.errors)} of {len(result.trials)} trials failed (first: {first[0]}: "
            f"{first[1]}). Fix the cause and run the same command again: finished trials "
            "are skipped and unfinished ones resume from their checkpoints."
        )


def _cmd_export(args: argparse.Namespace) -> None:
    from spiking_synrl.export import export_run

    exported = export_run(args.run_dir, args.out)
    examples = exported.manifest["examples"]
    print(f"exported to {exported.directory} (compiled program: "
          f"{exported.directory / 'project' / 'main'}; see README.txt)")
    if examples:
        print(f"try: {exported.directory / 'run.sh'} "
              f"{exported.directory / examples['rates']} counts.txt")


def _cmd_list(args: argparse.Namespace) -> None:
    from spiking_synrl.rules import RULES
    from spiking_synrl.substrates import NETWORKS
    from spiking_synrl.tasks import TASKS

    print("rules:    " + ", ".join(RULES))
    print("tasks:    " + ", ".join(TASKS))
    print("networks: " + ", ".join(NETWORKS))


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``synrl``."""
    parser = argparse.ArgumentParser(
        prog="synrl", description="Train networks with synapse- and neuron-local learning rules."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    train = sub.add_parser("train", help="train a network (defaults: a one-minute digits run)")
    train.add_argument("--config", help="TOML file with the run configuration")
    train.add_argument("--task", help="xor, digits, mackey-glass, copy, random-teacher, seq-digits")
    train.add_argument("--net", help="mlp, rnn or snn (Brian2 spiking)")
    train.add_argument("--hidden", type=_hidden, help="hidden layer sizes, e.g. 32 or 64,32")
    train.add_argument("--device", help="spiking networks: runtime, cpp_standalone or "
                       "cuda_standalone")
    train.add_argument("--rule", help="learning rule (see `synrl list`)")
    train.add_argument("--steps", type=int, help="number of training steps")
    train.add_argument("--seed", type=int, help="random seed (same seed, same run)")
    train.add_argument("--batch-size", dest="batch_size", type=int, help="samples per step")
    train.add_argument("--batch-refresh", dest="batch_refresh", type=int,
                       help="keep each batch for this many steps")
    train.add_argument("--eval-every", dest="eval_every", type=int)
    train.add_argument("--checkpoint-every", dest="checkpoint_every", type=int)
    train.add_argument("--eval-workers", dest="eval_workers", type=int,
                       help="evaluate each step's candidates in this many processes "
                       "(same results for any number)")
    train.add_argument("--param", action="append", metavar="KEY=VALUE", help="rule parameter")
    train.add_argument("--net-param", dest="net_param", action="append", metavar="KEY=VALUE")
    train.add_argument("--task-param", dest="task_param", action="append", metavar="KEY=VALUE")
    train.add_argument("--out", help="run directory (metrics, checkpoints, final weights)")
    train.add_argument("--overwrite", action="store_true", help="replace a run in --out")
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.set_defaults(func=_cmd_train)

    resume = sub.add_parser("resume", help="continue a run from its newest good checkpoint")
    resume.add_argument("run_dir")
    resume.add_argument("--steps", type=int, help="new total number of steps")
    resume.add_argument("--eval-workers", dest="eval_workers", type=int,
                        help="evaluation processes (same results for any number)")
    resume.add_argument("--no-progress", action="store_true")
    resume.set_defaults(func=_cmd_resume)

    ev = sub.add_parser("eval", help="metrics of a run's weights on a split")
    ev.add_argument("run_dir")
    ev.add_argument("--split", help="train, val or test (default: the task's)")
    ev.add_argument("--json", action="store_true", help="print one JSON object")
    ev.set_defaults(func=_cmd_eval)

    pol = sub.add_parser("policy", help="learn or show a SynapticQ policy")
    pol_sub = pol.add_subparsers(dest="policy_cmd", required=True)
    learn = pol_sub.add_parser("learn", help="learn a Q-table on the random-teacher task")
    learn.add_argument("--out", required=True, help="where to write the policy (.npz)")
    learn.add_argument("--seed", type=int, default=0)
    learn.add_argument("--steps", type=int)
    learn.add_argument("--param", action="append", metavar="KEY=VALUE",
                       help="learn_policy parameter")
    learn.add_argument("--no-progress", action="store_true")
    show = pol_sub.add_parser("show", help="print a policy's greedy action table")
    show.add_argument("path", nargs="?", help="policy file (default: the shipped one)")
    pol.set_defaults(func=_cmd_policy)

    plot = sub.add_parser("plot", help="write PNG figures of one or more runs")
    plot.add_argument("run_dirs", nargs="+", metavar="RUN_DIR")
    plot.add_argument("--out", help="folder for the shared figures (default: RUN_DIR/plots)")
    plot.set_defaults(func=_cmd_plot)

    swp = sub.add_parser("sweep", help="grid or random search over training parameters x "
                         "seeds, on Dask (restartable)")
    swp.add_argument("sweep_file", metavar="SWEEP.toml")
    swp.add_argument("--workers", type=int, help="local Dask worker processes (default: one "
                     "per core)")
    swp.add_argument("--scheduler", metavar="ADDRESS", help="send the trials to a running Dask "
                     "scheduler (tcp://host:8786) instead of a local cluster")
    swp.add_argument("--out", help="sweep directory (overrides the file's 'out')")
    swp.add_argument("--retries", type=int, default=2, help="re-runs of a trial that raised")
    swp.add_argument("--dry-run", action="store_true", help="list the trials and stop")
    swp.add_argument("--no-progress", action="store_true")
    swp.set_defaults(func=_cmd_sweep)

    exp = sub.add_parser("export", help="a spiking run's network and weights as a compiled "
                         "C++ program that runs without Python")
    exp.add_argument("run_dir", metavar="RUN_DIR")
    exp.add_argument("--out", required=True, help="new or empty directory for the program")
    exp.set_defaults(func=_cmd_export)

    lst = sub.add_parser("list", help="list rules, tasks and networks")
    lst.set_defaults(func=_cmd_list)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        args.func(args)
    except SynRLError as err:
        print(f"synrl {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted; resume with `synrl resume RUN_DIR`", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
