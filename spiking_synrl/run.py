"""Runs on disk: resolve a configuration, train into a run directory, resume it.

A run directory holds::

    config.json        the fully resolved configuration (what `synrl resume` rebuilds)
    metrics.jsonl      one JSON line of metrics per logged step
    checkpoints/       ckpt-<step>.npz, written atomically every `checkpoint_every` steps
    final.npz          the final weights, written atomically at the end
    result.json        final metrics, steps, loss evaluations and wall time

A run killed at any moment (even SIGKILL during a write) resumes from its newest
good checkpoint with ``resume_run`` and ends with exactly the weights an
uninterrupted run with the same seed would have.
"""

from __future__ import annotations

import copy
import json
import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spiking_synrl.errors import CheckpointError, ConfigError
from spiking_synrl.evaluate import evaluate_weights
from spiking_synrl.presets import DEFAULTS, preset
from spiking_synrl.rules import RULES, make_rule
from spiking_synrl.substrates import NETWORKS, make_network
from spiking_synrl.tasks import TASKS, make_task
from spiking_synrl.training import (
    Checkpointer,
    EarlyStopping,
    History,
    JSONLLogger,
    ProgressBar,
    Trainer,
    latest_checkpoint,
)
from spiking_synrl.training.checkpoint import (
    atomic_write_npz,
    atomic_write_text,
    remove_stale_temporaries,
)
from spiking_synrl.validation import check_int, check_kwargs, check_name, did_you_mean

__all__ = [
    "Run",
    "build_run",
    "evaluate_run",
    "load_run_weights",
    "load_weights",
    "resolve_config",
    "resume_run",
    "train_run",
]

log = logging.getLogger(__name__)

#: (table, key) pairs that build_run passes itself and so cannot come from a table
_RESERVED = (("task_params", "seed"), ("task_params", "name"), ("net_params", "name"),
             ("net_params", "task"), ("net_params", "hidden"), ("rule_params", "name"))

_INT_KEYS = {
    "steps": 0,
    "seed": 0,
    "batch_refresh": 1,
    "eval_every": 1,
    "checkpoint_every": 1,
    "log_every": 1,
    "eval_workers": 1,
}


def resolve_config(user: dict[str, Any] | None = None) -> dict[str, Any]:
    """Layer defaults, the task's and the (rule, task) preset, then ``user`` values.

    Raises:
        ConfigError: for unknown keys, names or values out of range, naming the key.
    """
    if user is not None and not isinstance(user, dict):
        raise ConfigError(
            f"The run configuration must be a table (dict) of key = value. Got {user!r} instead."
        )
    user = copy.deepcopy(user or {})
    unknown = sorted(set(user) - set(DEFAULTS))
    if unknown:
        raise ConfigError(
            f"Unknown configuration key {unknown[0]!r}. Known keys: {', '.join(sorted(DEFAULTS))}."
            + did_you_mean(unknown[0], DEFAULTS)
        )
    task = check_name(user.get("task", DEFAULTS["task"]), "task", TASKS)
    rule = check_name(user.get("rule", DEFAULTS["rule"]), "rule", RULES)
    if "net" in user:  # normalised now: it picks the preset layers
        user["net"] = check_name(user["net"], "network", NETWORKS)
    config = copy.deepcopy(DEFAULTS)
    layers = preset(rule, task, "snn" if user.get("net") == "snn" else None)
    if "net" in user and user["net"] != layers.get("net", DEFAULTS["net"]):
        layers.pop("net_params", None)  # the preset's network settings fit its own network
    for layer in (layers, user):
        for key, value in layer.items():
            if key in ("task_params", "net_params", "rule_params") and value is not None:
                if not isinstance(value, dict):
                    raise ConfigError(
                        f"The {key!r} parameter must be a table of name = value. Got {value!r}."
                    )
                config[key] = {**config[key], **value}
            else:
                config[key] = value
    config["task"], config["rule"] = task, rule
    config["net"] = check_name(config["net"], "network", NETWORKS)
    for table, key in _RESERVED:
        if key in config[table]:
            raise ConfigError(
                f"The {key!r} parameter cannot be set in {table!r}: the run passes it itself"
                + (f"; set the top-level {key!r} instead." if key in ("seed", "hidden") else ".")
            )
    for key, low in _INT_KEYS.items():
        config[key] = check_int(config[key], key, "the run configuration", low=low)
    if config["batch_size"] is not None:
        check_int(config["batch_size"], "batch_size", "the run configuration", low=1)
    hidden = config["hidden"]
    if isinstance(hidden, int):
        hidden = [hidden]
    if not isinstance(hidden, (list, tuple)):
        raise ConfigError(f"The 'hidden' parameter must be a list of layer sizes. Got {hidden!r}.")
    config["hidden"] = [check_int(h, "hidden", "the run configuration", low=1) for h in hidden]
    stop = config["early_stop"]
    if stop is not None:
        if not isinstance(stop, dict):
            raise ConfigError(f"The 'early_stop' parameter must be a table. Got {stop!r}.")
        check_kwargs(EarlyStopping.__init__, stop, "The 'early_stop' table")
        EarlyStopping(**stop)  # checks the values now rather than at the first step
    return _plain(config, "")


def _plain(value: Any, where: str) -> Any:
    """``value`` as JSON data (numpy scalars become Python ones), for config.json.

    Raises:
        ConfigError: naming the key of a value that is not a str, number, bool,
            None, list or table (e.g. an array: give a list or a file path).
    """
    if isinstance(value, dict):
        return {k: _plain(v, f"{where}.{k}" if where else str(k)) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v, where) for v in value]
    if isinstance(value, np.generic) and not isinstance(value, np.complexfloating):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int, float)):
        return value
    raise ConfigError(
        f"The {where!r} parameter of the run configuration must be plain data (a str, "
        f"number, bool, list or table, as in a TOML file; the configuration is saved as "
        f"config.json). Got a {type(value).__name__} instead."
    )


@dataclass
class Run:
    """The objects of a resolved configuration."""

    config: dict[str, Any]
    task: Any
    substrate: Any
    rule: Any


def build_run(config: dict[str, Any]) -> Run:
    """Build task, network and rule of a resolved configuration."""
    task = make_task(config["task"], seed=config["seed"], **config["task_params"])
    substrate = make_network(config["net"], task, config["hidden"], **config["net_params"])
    rule = make_rule(config["rule"], **config["rule_params"])
    return Run(config, task, substrate, rule)


def _trainer(run: Run, out: Path | None, progress: bool) -> Trainer:
    cfg = run.config
    callbacks: list[Any] = []
    if progress:
        callbacks.append(ProgressBar(desc=f"{cfg['rule']} on {cfg['task']}"))
    if cfg["early_stop"]:
        callbacks.append(EarlyStopping(**cfg["early_stop"]))
    if out is not None:
        callbacks.append(JSONLLogger(out / "metrics.jsonl", every=cfg["log_every"]))
        callbacks.append(Checkpointer(out / "checkpoints", every=cfg["checkpoint_every"]))
    return Trainer(
        run.rule,
        run.substrate,
        run.task,
        seed=cfg["seed"],
        batch_size=cfg["batch_size"],
        batch_refresh=cfg["batch_refresh"],
        eval_every=cfg["eval_every"],
        eval_workers=cfg["eval_workers"],
        callbacks=callbacks,
    )


def _save_weights(path: Path, weights: dict[str, np.ndarray]) -> None:
    atomic_write_npz(path, **{k.replace("->", "__to__"): v for k, v in weights.items()})


def load_weights(path: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """Weights saved by a run (``final.npz``)."""
    try:
        with np.load(path, allow_pickle=False) as data:
            return {k.replace("__to__", "->"): data[k] for k in data.files}
    except (OSError, ValueError) as err:
        raise CheckpointError(f"Weights file {str(path)!r} is unreadable: {err}") from err


def _finish(
    run: Run, out: Path | None, trainer: Trainer, history: History, t0: float
) -> dict[str, Any]:
    state = history.state
    assert state is not None  # internal: fit always sets it
    result = {
        "task": run.config["task"],
        "rule": run.config["rule"],
        "net": run.config["net"],
        "steps": state.step,
        "n_evals": state.n_evals,
        "wall_time_s": round(time.perf_counter() - t0, 3),
        "metrics": trainer.evaluate(state.weights),
        "train_metrics": {
            f"train_{k}": v
            for k, v in evaluate_weights(run.substrate, run.task, state.weights, "train").items()
        },
    }
    if out is not None:
        _save_weights(out / "final.npz", state.weights)
        atomic_write_text(out / "result.json", json.dumps(result, indent=2))
    return result


def train_run(
    config: dict[str, Any],
    out: str | os.PathLike[str] | None = None,
    *,
    progress: bool = True,
    overwrite: bool = False,
) -> tuple[dict[str, Any], History]:
    """Train a resolved configuration; with ``out``, into a run directory.

    The configuration is checked (again) and every object is built before the
    directory is touched, so a bad configuration leaves no half-written run.

    Raises:
        ConfigError: if ``out`` already holds a run (resume it, or pass overwrite).
    """
    config = resolve_config(config)
    run = build_run(config)
    out_path = None if out is None else Path(out)
    trainer = _trainer(run, out_path, progress)
    if out_path is not None:
        if (out_path / "config.json").exists() and not overwrite:
            raise ConfigError(
                f"The 'out' directory {str(out_path)!r} already holds a run. Use "
                f"`synrl resume {out_path}` to continue it, or choose another directory."
            )
        out_path.mkdir(parents=True, exist_ok=True)
        for stale in ("metrics.jsonl", "final.npz", "result.json"):
            (out_path / stale).unlink(missing_ok=True)
        for old in (out_path / "checkpoints").glob("ckpt-*.npz"):
            old.unlink()
        atomic_write_text(out_path / "config.json", json.dumps(config, indent=2))
    t0 = time.perf_counter()
    history = trainer.fit(config["steps"])
    return _finish(run, out_path, trainer, history, t0), history


def read_config(run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """The resolved configuration stored in a run directory."""
    path = Path(run_dir) / "config.json"
    if not path.is_file():
        raise ConfigError(
            f"The 'run_dir' parameter must be a run directory written by `synrl train` "
            f"(with a config.json). Got {str(run_dir)!r}, which has none."
        )
    return resolve_config(json.loads(path.read_text()))


def resume_run(
    run_dir: str | os.PathLike[str],
    *,
    steps: int | None = None,
    progress: bool = True,
    eval_workers: int | None = None,
) -> tuple[dict[str, Any], History]:
    """Continue a run from its newest good checkpoint (or from scratch if none).

    ``steps`` sets a new total; ``eval_workers`` changes the number of evaluation
    processes (the results do not depend on it).
    """
    out = Path(run_dir)
    config = read_config(out)
    remove_stale_temporaries(out)  # of writes (final.npz, result.json) a kill cut short
    changed = {}
    if steps is not None:
        changed["steps"] = check_int(steps, "steps", "resume", low=0)
    if eval_workers is not None:
        changed["eval_workers"] = check_int(eval_workers, "eval_workers", "resume", low=1)
    if changed:
        config.update(changed)
        atomic_write_text(out / "config.json", json.dumps(config, indent=2))
    run = build_run(config)
    trainer = _trainer(run, out, progress)

    def warn(path: Path, err: Exception) -> None:
        log.warning("skipping bad checkpoint %s: %s", path, err)
        print(f"warning: {err} Falling back to the previous checkpoint.")

    found = latest_checkpoint(out / "checkpoints", on_bad=warn)
    state = None
    if found is not None:
        _, state, rng_state, extra = found
        run.substrate.weight_spec.validate(state.weights, "checkpoint weights")
        trainer.restore(state, rng_state, extra)
    t0 = time.perf_counter()
    history = trainer.fit(config["steps"], state)
    return _finish(run, out, trainer, history, t0), history


def load_run_weights(run_dir: str | os.PathLike[str]) -> dict[str, np.ndarray]:
    """A run's final weights, or those of its newest good checkpoint.

    Raises:
        CheckpointError: if the run has neither (it has not finished a checkpoint yet).
    """
    out = Path(run_dir)
    if (out / "final.npz").exists():
        return load_weights(out / "final.npz")
    found = latest_checkpoint(out / "checkpoints")
    if found is None:
        raise CheckpointError(
            f"Run {str(out)!r} has neither final weights (final.npz) nor a checkpoint. "
            f"Train it to the end (`synrl resume {out}`) or until its first checkpoint."
        )
    return dict(found[1].weights)


def evaluate_run(run_dir: str | os.PathLike[str], split: str | None = None) -> dict[str, float]:
    """Metrics of a run's final (or newest checkpointed) weights on a split."""
    out = Path(run_dir)
    run = build_run(read_config(out))
    weights = run.substrate.weight_spec.validate(load_run_weights(out), "saved weights")
    return evaluate_weights(run.substrate, run.task, weights, split)
