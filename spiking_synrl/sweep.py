"""Hyperparameter sweeps: a grid or random search over any training parameter, times seeds.

A sweep file (TOML) names a base training configuration, the parameters to vary,
the seeds and the metric to report::

    out = "sweeps/xor-eta"          # sweep directory (default: sweeps/<file stem>)
    seeds = [0, 1]                  # or n_seeds = 2 (seeds 0 .. n-1); default [0]
    metric = "val_loss"             # a key of result.json's metrics (default: the eval loss)
    mode = "min"                    # which end is best (default: max for accuracies)

    [base]                          # the keys of `synrl train --config` (no seed)
    task = "xor"
    rule = "weight-perturbation"
    steps = 500

    [grid]                          # every combination of these values ...
    rule_params.eta = [0.05, 0.1, 0.2]

    # ... or a random search, seeded, instead of [grid]:
    # [random]
    # n_trials = 8
    # seed = 0
    # rule_params.eta = { dist = "loguniform", low = 1e-3, high = 0.3 }
    # net_params.activation = ["tanh", "relu"]        # a list: a uniform choice

A swept parameter is a configuration key (``steps``, ``hidden``, ``batch_size``)
or a dotted key into a parameter table (``rule_params.eta``,
``net_params.activation``, ``task_params.window``). Random-search distributions
are ``uniform`` and ``loguniform`` (``low``, ``high``), ``int`` (``low`` to
``high`` inclusive) and ``choice`` (``values``).

Every trial (one parameter point and one seed) is an ordinary run directory
(:mod:`spiking_synrl.run`) under ``<out>/trials/<name>``, where ``<name>`` spells
the point and seed and ends with a hash of the trial's fully resolved
configuration: a changed base configuration gets new directories instead of
resuming runs of another configuration. The sweep then writes
``<out>/trials.csv`` (one row per trial), ``<out>/summary.csv`` (mean and std over
seeds of each point) and ``<out>/sweep.png`` (the metric against each swept
parameter, mean ± std over seeds).

Trials run as tasks on a ``dask.distributed`` cluster: a ``LocalCluster`` of
single-threaded worker processes by default, or an existing cluster given by its
scheduler address (the workers must see the sweep directory at the same path).
Runs are deterministic per seed and resume exactly from their checkpoints, so a
sweep is restartable at any moment: a trial with a ``result.json`` is skipped, an
unfinished one resumes from its newest good checkpoint, and a task whose worker
dies is re-run (by Dask) elsewhere, also from its checkpoints. A file lock per
trial directory (released by the kernel when its holder dies) keeps two tasks
from training the same trial at once.

Spiking networks share one compiled binary per machine and structure through
the build cache of :mod:`spiking_synrl.substrates.brian` (an inter-process lock
guards the build); every run of the binary already gets its own private results
directory. Brian's device is process-global, so a worker process trains one
spiking trial at a time even if it has several threads.

Dask is optional: ``pip install "spiking_synrl[dask]"``. Parsing and expanding a
sweep need no Dask:

Examples:
    >>> spec = parse_sweep({"base": {"task": "xor", "rule": "backprop", "steps": 10},
    ...                     "grid": {"rule_params": {"lr": [0.1, 0.5]}}, "n_seeds": 2,
    ...                     "out": "sweeps/doc"})
    >>> trials = expand_trials(spec)
    >>> [(t.params["rule_params.lr"], t.seed) for t in trials]
    [(0.1, 0), (0.1, 1), (0.5, 0), (0.5, 1)]
    >>> trials[0].name.startswith("lr=0.1_seed=0-")
    True
"""

from __future__ import annotations

import contextlib
import copy
import csv
import hashlib
import io
import itertools
import json
import math
import multiprocessing
import os
import re
import threading
import time
import tomllib
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from spiking_synrl.errors import ConfigError, DependencyNotInstalled
from spiking_synrl.presets import DEFAULTS
from spiking_synrl.training.checkpoint import (
    atomic_write_bytes,
    atomic_write_text,
    list_checkpoints,
)
from spiking_synrl.validation import (
    check_float,
    check_int,
    check_options,
    did_you_mean,
)

__all__ = [
    "SweepResult",
    "SweepSpec",
    "Trial",
    "describe",
    "expand_trials",
    "format_summary",
    "load_sweep",
    "parse_sweep",
    "plot_sweep",
    "run_sweep",
    "run_trial",
    "summarize",
]

_OWNER = "the sweep file"
_SPEC_KEYS = ("base", "grid", "random", "seeds", "n_seeds", "metric", "mode", "out")
_TABLE_KEYS = ("task_params", "net_params", "rule_params", "early_stop")
_DISTRIBUTIONS = ("uniform", "loguniform", "int", "choice")
_INSTALL_DASK = 'pip install "spiking_synrl[dask]"'

#: Brian's device is process-global: one spiking trial at a time per worker process
_SNN_LOCK = threading.Lock()


# -- the sweep specification ----------------------------------------------------
@dataclass(frozen=True)
class SweepSpec:
    """A validated sweep file.

    Attributes:
        base: training configuration shared by all trials (``synrl train`` keys).
        method: ``"grid"`` or ``"random"``.
        params: swept parameter (dotted key) -> list of values (grid) or a
            distribution table (random), in file order.
        seeds: the seeds every parameter point runs with.
        n_trials: random search: number of sampled points.
        sampler_seed: random search: seed of the sampler.
        metric: the reported metric (None: the evaluation loss).
        mode: ``"min"`` or ``"max"``: which end of the metric is best (None: from its name).
        out: the sweep directory.
    """

    base: dict[str, Any]
    method: str
    params: dict[str, Any]
    seeds: tuple[int, ...]
    out: Path
    n_trials: int | None = None
    sampler_seed: int = 0
    metric: str | None = None
    mode: str | None = None


@dataclass(frozen=True)
class Trial:
    """One parameter point with one seed: a run directory of the sweep."""

    name: str
    params: dict[str, Any]
    seed: int
    config: dict[str, Any]
    run_dir: Path

    @property
    def point(self) -> str:
        """The parameter point (no seed) as canonical JSON: the key seeds are grouped by."""
        return json.dumps(self.params, sort_keys=True)


def load_sweep(
    path: str | os.PathLike[str], out: str | os.PathLike[str] | None = None
) -> SweepSpec:
    """Read and validate a sweep file; ``out`` replaces its ``out`` directory.

    Raises:
        ConfigError: the file is missing, not TOML, or a value is invalid.
    """
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"The sweep file {str(path)!r} does not exist.") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as err:
        raise ConfigError(f"The sweep file {str(path)!r} is not valid TOML: {err}") from None
    if out is not None:
        data["out"] = str(out)
    data.setdefault("out", str(Path("sweeps") / path.stem))
    return parse_sweep(data)


def parse_sweep(data: Mapping[str, Any]) -> SweepSpec:
    """Validate a sweep given as a dict (a parsed sweep file).

    Raises:
        ConfigError: naming the key, what it must be and what was given.
    """
    for key in data:
        if key not in _SPEC_KEYS:
            raise ConfigError(
                f"Unknown sweep key {key!r}. Known keys: {', '.join(_SPEC_KEYS)}."
                + did_you_mean(key, _SPEC_KEYS)
            )
    base = data.get("base", {})
    if not isinstance(base, dict):
        raise ConfigError(f"The 'base' table of {_OWNER} must be a table. Got {base!r} instead.")
    if "seed" in base:
        raise ConfigError(
            "The 'base' table of the sweep file must not set 'seed'; give the seeds with "
            "'seeds = [0, 1, ...]' or 'n_seeds = N' at the top level."
        )
    if ("grid" in data) == ("random" in data):
        raise ConfigError(
            "A sweep file needs exactly one of a [grid] table (lists of values) and a "
            f"[random] table (distributions and n_trials). Got {_got_tables(data)}."
        )
    method = "grid" if "grid" in data else "random"
    table = data[method]
    if not isinstance(table, dict):
        raise ConfigError(
            f"The {method!r} entry of {_OWNER} must be a table. Got {table!r} instead."
        )
    n_trials, sampler_seed = None, 0
    if method == "random":
        table = dict(table)
        if "n_trials" not in table:
            raise ConfigError("The [random] table of the sweep file needs 'n_trials = N'.")
        n_trials = check_int(table.pop("n_trials"), "random.n_trials", _OWNER, low=1)
        sampler_seed = check_int(table.pop("seed", 0), "random.seed", _OWNER, low=0)
    params = _flatten(table, method)
    if not params:
        raise ConfigError(f"The [{method}] table of the sweep file names no parameter to vary.")
    for name, value in params.items():
        _check_param_name(name, method)
        params[name] = (
            _check_values(name, value) if method == "grid" else _check_distribution(name, value)
        )
    metric = data.get("metric")
    if metric is not None and (not isinstance(metric, str) or not metric):
        raise ConfigError(
            f"The 'metric' parameter of {_OWNER} must be a metric name such as 'val_loss' or "
            f"'val_accuracy'. Got {metric!r} instead."
        )
    mode = data.get("mode")
    if mode is not None:
        check_options(mode, "mode", _OWNER, ("min", "max"))
    out = data.get("out")
    if not isinstance(out, (str, os.PathLike)) or not str(out):
        raise ConfigError(f"The 'out' parameter of {_OWNER} must be a directory. Got {out!r}.")
    return SweepSpec(
        base=copy.deepcopy(base),
        method=method,
        params=params,
        seeds=_seeds(data),
        out=Path(out),
        n_trials=n_trials,
        sampler_seed=sampler_seed,
        metric=metric,
        mode=mode,
    )


def _got_tables(data: Mapping[str, Any]) -> str:
    found = [k for k in ("grid", "random") if k in data]
    return "both" if len(found) == 2 else "neither"


def _flatten(table: Mapping[str, Any], method: str, prefix: str = "") -> dict[str, Any]:
    """``{"rule_params": {"eta": [..]}}`` -> ``{"rule_params.eta": [..]}`` (TOML dotted keys)."""
    out: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{prefix}{key}"
        # a table is a distribution (random search) when it names one; otherwise a namespace
        if isinstance(value, dict) and not (method == "random" and "dist" in value):
            out.update(_flatten(value, method, f"{name}."))
        else:
            out[name] = value
    return out


def _check_param_name(name: str, method: str) -> None:
    parts = name.split(".")
    top = parts[0]
    if top == "seed":
        raise ConfigError(
            f"The [{method}] table of the sweep file must not vary 'seed'; list the seeds with "
            "'seeds = [...]' or 'n_seeds = N' at the top level."
        )
    if top not in DEFAULTS:
        raise ConfigError(
            f"The [{method}] table of the sweep file names {name!r}, which is not a training "
            f"parameter. Known keys: {', '.join(sorted(DEFAULTS))} (and rule_params.NAME, "
            "net_params.NAME, task_params.NAME)." + did_you_mean(top, DEFAULTS)
        )
    if len(parts) > 2 or (len(parts) == 2 and top not in _TABLE_KEYS):
        raise ConfigError(
            f"The [{method}] table of the sweep file names {name!r}; only "
            f"{', '.join(_TABLE_KEYS)} take a dotted NAME (e.g. rule_params.eta)."
        )


def _check_values(name: str, values: Any) -> list[Any]:
    if not isinstance(values, list) or not values:
        raise ConfigError(
            f"The 'grid.{name}' parameter of {_OWNER} must be a non-empty list of values. "
            f"Got {values!r} instead."
        )
    seen = [json.dumps(v, sort_keys=True) for v in values]
    if len(set(seen)) != len(seen):
        raise ConfigError(
            f"The 'grid.{name}' parameter of {_OWNER} must list each value once. "
            f"Got {values!r} instead."
        )
    return list(values)


def _check_distribution(name: str, spec: Any) -> dict[str, Any]:
    where = f"random.{name}"
    if isinstance(spec, list):
        spec = {"dist": "choice", "values": spec}
    if not isinstance(spec, dict):
        raise ConfigError(
            f"The {where!r} parameter of {_OWNER} must be a distribution table such as "
            f'{{ dist = "loguniform", low = 1e-3, high = 0.1 }} or a list of choices. '
            f"Got {spec!r} instead."
        )
    dist = check_options(spec.get("dist"), f"{where}.dist", _OWNER, _DISTRIBUTIONS)
    allowed = ("dist", "values") if dist == "choice" else ("dist", "low", "high")
    for key in spec:
        if key not in allowed:
            raise ConfigError(
                f"The {where!r} distribution {dist!r} takes {', '.join(allowed)}. "
                f"Got the key {key!r}."
            )
    if dist == "choice":
        return {"dist": dist, "values": _check_values(name, spec.get("values"))}
    for key in ("low", "high"):
        if key not in spec:
            raise ConfigError(f"The {where!r} distribution {dist!r} needs {key!r}.")
    if dist == "int":
        low = check_int(spec["low"], f"{where}.low", _OWNER)
        high = check_int(spec["high"], f"{where}.high", _OWNER, low=low)
        return {"dist": dist, "low": low, "high": high}
    floor = 0.0 if dist == "loguniform" else None
    low_f = check_float(spec["low"], f"{where}.low", _OWNER, low=floor)
    high_f = check_float(spec["high"], f"{where}.high", _OWNER, low=low_f)
    return {"dist": dist, "low": low_f, "high": high_f}


def _seeds(data: Mapping[str, Any]) -> tuple[int, ...]:
    if "seeds" in data and "n_seeds" in data:
        raise ConfigError("A sweep file takes 'seeds = [...]' or 'n_seeds = N', not both.")
    if "n_seeds" in data:
        return tuple(range(check_int(data["n_seeds"], "n_seeds", _OWNER, low=1)))
    seeds = data.get("seeds", [0])
    if not isinstance(seeds, list) or not seeds:
        raise ConfigError(
            f"The 'seeds' parameter of {_OWNER} must be a non-empty list of ints. "
            f"Got {seeds!r} instead."
        )
    out = tuple(check_int(s, "seeds", _OWNER, low=0) for s in seeds)
    if len(set(out)) != len(out):
        raise ConfigError(f"The 'seeds' parameter of {_OWNER} lists a seed twice: {list(out)}.")
    return out


# -- trials ----------------------------------------------------------------------
def _points(spec: SweepSpec) -> list[dict[str, Any]]:
    """The parameter points: the grid's product, or ``n_trials`` seeded draws."""
    names = list(spec.params)
    if spec.method == "grid":
        return [
            dict(zip(names, combo, strict=True))
            for combo in itertools.product(*(spec.params[n] for n in names))
        ]
    rng = np.random.default_rng(spec.sampler_seed)
    points, seen = [], set()
    assert spec.n_trials is not None  # internal: parse_sweep sets it for random search
    for _ in range(spec.n_trials):
        point = {name: _draw(spec.params[name], rng) for name in names}
        key = json.dumps(point, sort_keys=True)
        if key not in seen:  # choice-only searches can repeat a point: run it once
            seen.add(key)
            points.append(point)
    return points


def _draw(dist: Mapping[str, Any], rng: np.random.Generator) -> Any:
    kind = dist["dist"]
    if kind == "choice":
        return copy.deepcopy(dist["values"][int(rng.integers(len(dist["values"])))])
    if kind == "int":
        return int(rng.integers(dist["low"], dist["high"] + 1))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(dist["low"]), math.log(dist["high"]))))
    return float(rng.uniform(dist["low"], dist["high"]))


def _set_path(config: dict[str, Any], name: str, value: Any) -> None:
    top, _, sub = name.partition(".")
    if sub:
        table = config.get(top)
        config[top] = {**(table if isinstance(table, dict) else {}), sub: copy.deepcopy(value)}
    else:
        config[top] = copy.deepcopy(value)


def _short(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, str):
        return value
    return json.dumps(value, separators=(",", ""))


def _trial_name(params: Mapping[str, Any], seed: int, config: Mapping[str, Any]) -> str:
    """Readable point and seed, then a hash of the resolved configuration."""
    def text(value: Any) -> str:
        if isinstance(value, list):
            return ",".join(text(v) for v in value)
        return _short(value)

    parts = [f"{name.rsplit('.', 1)[-1]}={text(v)}" for name, v in params.items()]
    slug = re.sub(r"[^A-Za-z0-9._=+,-]", "_", "_".join([*parts, f"seed={seed}"]))[:80]
    digest = hashlib.sha256(json.dumps(config, sort_keys=True).encode()).hexdigest()[:10]
    return f"{slug}-{digest}"


def expand_trials(spec: SweepSpec) -> list[Trial]:
    """All trials of ``spec``, points in file order, seeds innermost (deterministic).

    Every trial's configuration is resolved here, and each distinct rule setting
    built once, so bad values fail before anything runs.

    Raises:
        ConfigError: a trial's configuration is invalid (the message names the trial).
    """
    from spiking_synrl.rules import make_rule
    from spiking_synrl.run import resolve_config

    trials = []
    checked_rules: set[str] = set()
    for params in _points(spec):
        for seed in spec.seeds:
            user = copy.deepcopy(spec.base)
            for name, value in params.items():
                _set_path(user, name, value)
            user["seed"] = seed
            where = ", ".join(f"{n} = {v!r}" for n, v in params.items())
            try:
                config = resolve_config(user)
                rule_key = json.dumps([config["rule"], config["rule_params"]], sort_keys=True)
                if rule_key not in checked_rules:
                    make_rule(config["rule"], **config["rule_params"])
                    checked_rules.add(rule_key)
            except ConfigError as err:
                raise ConfigError(f"Sweep trial with {where}: {err}") from None
            name = _trial_name(params, seed, config)
            trials.append(Trial(name, dict(params), seed, config, spec.out / "trials" / name))
    return trials


# -- one trial (runs on a worker) -------------------------------------------------
@contextlib.contextmanager
def _trial_lock(run_dir: Path) -> Iterator[None]:
    """Exclusive use of a trial directory; the kernel drops the lock if the holder dies."""
    try:
        import fcntl
    except ImportError:  # not POSIX: no cross-process guard
        yield
        return
    run_dir.mkdir(parents=True, exist_ok=True)
    with open(run_dir / ".sweep.lock", "a") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _check_stored_config(run_dir: Path, config: Mapping[str, Any]) -> None:
    stored = json.loads((run_dir / "config.json").read_text())
    if json.dumps(stored, sort_keys=True) != json.dumps(config, sort_keys=True):
        raise ConfigError(
            f"The trial directory {str(run_dir)!r} holds a run with another configuration. "
            "Remove it, or give the sweep another 'out' directory."
        )


def run_trial(config: dict[str, Any], run_dir: str | os.PathLike[str]) -> dict[str, Any]:
    """Train one trial into ``run_dir``: skip it if finished, resume it if started.

    Returns:
        ``{"result": <result.json>, "status": "done" | "ran" | "resumed",
        "resumed_from": <newest checkpoint step on disk, 0 if none>}``.

    Raises:
        ConfigError: ``run_dir`` holds a run of another configuration.
    """
    out = Path(run_dir)
    if config.get("eval_workers", 1) > 1 and multiprocessing.current_process().daemon:
        raise ConfigError(
            f"The 'eval_workers' parameter is {config['eval_workers']}, but this Dask worker "
            "is a daemonic process, which cannot start evaluation processes. Start the "
            "workers with DASK_DISTRIBUTED__WORKER__DAEMON=False (local sweeps do), or sweep "
            "with eval_workers = 1."
        )
    snn = config.get("net") == "snn"
    with _SNN_LOCK if snn else contextlib.nullcontext():
        return _train_trial(config, out)


def _train_trial(config: dict[str, Any], out: Path) -> dict[str, Any]:
    from spiking_synrl.run import resume_run, train_run

    with _trial_lock(out):
        if (out / "config.json").is_file():
            _check_stored_config(out, config)
            if (out / "result.json").is_file():
                result = json.loads((out / "result.json").read_text())
                return {"result": result, "status": "done", "resumed_from": result["steps"]}
            ckpts = list_checkpoints(out / "checkpoints")
            start = int(ckpts[-1].stem.split("-")[1]) if ckpts else 0
            result, _ = resume_run(out, progress=False)
            return {"result": result, "status": "resumed", "resumed_from": start}
        result, _ = train_run(config, out, progress=False)
        return {"result": result, "status": "ran", "resumed_from": 0}


# -- the sweep ----------------------------------------------------------------------
@dataclass
class SweepResult:
    """What a sweep produced.

    Attributes:
        spec: the sweep.
        trials: all trials, in expansion order.
        results: trial name -> ``result.json`` contents (finished trials).
        status: trial name -> ``"done"`` (finished before), ``"ran"``, ``"resumed"``
            or ``"failed"``.
        errors: trial name -> error message (failed trials).
        metric: the reported metric.
        files: the table, summary and plot written.
    """

    spec: SweepSpec
    trials: list[Trial]
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    metric: str = ""
    files: list[Path] = field(default_factory=list)

    @property
    def mode(self) -> str:
        """``"min"`` or ``"max"``: the best end of the metric."""
        if self.spec.mode is not None:
            return self.spec.mode
        return "max" if "accuracy" in self.metric else "min"


def _dask() -> Any:
    try:
        import distributed
    except ImportError as err:
        raise DependencyNotInstalled(
            f"`synrl sweep` runs its trials on Dask, which is not installed. Install it with: "
            f"{_INSTALL_DASK}"
        ) from err
    return distributed


def _metric_name(spec: SweepSpec, result: Mapping[str, Any]) -> str:
    metrics = {**result["metrics"], **result["train_metrics"]}
    if spec.metric is None:  # the evaluation loss: every task has one
        return next((k for k in result["metrics"] if k.endswith("loss")), next(iter(metrics)))
    if spec.metric not in metrics:
        raise ConfigError(
            f"The 'metric' parameter of {_OWNER} must be one of the run's metrics: "
            f"{', '.join(metrics)}. Got {spec.metric!r} instead."
            + did_you_mean(spec.metric, metrics)
        )
    return spec.metric


def run_sweep(
    spec: SweepSpec,
    *,
    workers: int | None = None,
    scheduler: str | None = None,
    retries: int = 2,
    progress: bool = True,
    plot: bool = True,
) -> SweepResult:
    """Run every unfinished trial of ``spec`` on Dask, then write the table and the plot.

    Args:
        workers: worker processes of the local cluster (default: one per core, at
            most one per pending trial). Ignored with ``scheduler``.
        scheduler: address of an existing Dask scheduler (``tcp://host:8786``) to
            send the trials to instead of starting a local cluster.
        retries: how often Dask re-runs a trial that raised (a trial whose worker
            died is re-run anyway, up to Dask's ``allowed-failures``).
        progress: print a line per finished trial.
        plot: write ``sweep.png``.

    Returns:
        A :class:`SweepResult`; failed trials are in ``errors`` (the rest of the
        sweep still runs and is written).

    Raises:
        DependencyNotInstalled: Dask is missing (with the pip command).
        ConfigError: the spec's trials or metric are invalid, or the scheduler is
            unreachable.
    """
    retries = check_int(retries, "retries", "run_sweep", low=0)
    trials = expand_trials(spec)
    sweep = SweepResult(spec, trials)
    spec.out.mkdir(parents=True, exist_ok=True)
    pending = []
    for trial in trials:
        if (trial.run_dir / "result.json").is_file() and (trial.run_dir / "config.json").is_file():
            _check_stored_config(trial.run_dir, trial.config)
            sweep.results[trial.name] = json.loads((trial.run_dir / "result.json").read_text())
            sweep.status[trial.name] = "done"
        else:
            pending.append(trial)
    if sweep.results:
        sweep.metric = _metric_name(spec, next(iter(sweep.results.values())))
    say = print if progress else (lambda *a, **k: None)
    say(
        f"sweep {spec.out}: {len(trials)} trials ({len(trials) - len(pending)} finished before, "
        f"{len(pending)} to run)"
    )
    if pending:
        _run_pending(sweep, pending, workers, scheduler, retries, say)
    if not sweep.metric:
        sweep.metric = spec.metric or "val_loss"
    sweep.files = _write_outputs(sweep, plot)
    return sweep


def _connect(distributed: Any, scheduler: Any, attempts: int = 3) -> Any:
    """A Client of ``scheduler`` (an address or a cluster), retried.

    On a loaded machine distributed's client can fail to start its IO-loop thread
    within its fixed 10 s (an ``AssertionError`` from ``LoopRunner``), which says
    nothing about the scheduler.
    """
    for _ in range(attempts - 1):
        try:
            return distributed.Client(scheduler, timeout="20s")
        except AssertionError:
            time.sleep(1.0)
    try:
        return distributed.Client(scheduler, timeout="20s")
    except AssertionError as err:
        msg = f"the Dask client's event loop did not start ({attempts} tries)"
        raise TimeoutError(msg) from err


def _run_pending(
    sweep: SweepResult,
    pending: list[Trial],
    workers: int | None,
    scheduler: str | None,
    retries: int,
    say: Any,
) -> None:
    distributed = _dask()
    from dask import config as dask_config

    token = uuid.uuid4().hex[:8]
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            try:
                client = stack.enter_context(_connect(distributed, scheduler))
            except (OSError, TimeoutError, ValueError) as err:
                raise ConfigError(
                    f"The '--scheduler' address {scheduler!r} must be a running Dask scheduler "
                    f"(e.g. tcp://127.0.0.1:8786, started with `dask scheduler`). {err}"
                ) from None
            n_workers = len(client.nthreads())
            waiting = " (the trials wait for workers)" if n_workers == 0 else ""
            say(f"dask scheduler {scheduler}: {n_workers} workers{waiting}")
        else:
            n = workers if workers is not None else min(os.cpu_count() or 1, len(pending))
            n = check_int(n, "workers", "run_sweep", low=1)
            # non-daemonic workers may start processes of their own (eval_workers > 1); the
            # nannies read this when they (re)start a worker, so it stays set for the sweep
            stack.enter_context(dask_config.set({"distributed.worker.daemon": False}))
            cluster = stack.enter_context(
                distributed.LocalCluster(
                    n_workers=n, threads_per_worker=1, processes=True, dashboard_address=None
                )
            )
            client = stack.enter_context(_connect(distributed, cluster))
            say(f"dask local cluster: {n} workers")
        futures = {}
        for trial in pending:
            future = client.submit(
                run_trial,
                trial.config,
                str(trial.run_dir.resolve()),
                key=f"synrl-trial-{trial.name}-{token}",
                retries=retries,
                pure=False,
            )
            futures[future] = trial
        t0 = time.perf_counter()
        done = len(sweep.trials) - len(pending)
        for future in distributed.as_completed(list(futures)):
            trial = futures[future]
            done += 1
            try:
                out = future.result()
            except Exception as err:  # a failed trial must not stop the others
                sweep.status[trial.name] = "failed"
                sweep.errors[trial.name] = f"{type(err).__name__}: {err}"
                say(f"[{done}/{len(sweep.trials)}] {trial.name}: FAILED {sweep.errors[trial.name]}")
                continue
            sweep.results[trial.name] = out["result"]
            sweep.status[trial.name] = out["status"]
            if not sweep.metric:
                sweep.metric = _metric_name(sweep.spec, out["result"])
            how = out["status"]
            if how == "resumed":
                how = f"resumed from step {out['resumed_from']}"
            value = _metric_value(out["result"], sweep.metric)
            say(
                f"[{done}/{len(sweep.trials)}] {trial.name}: {sweep.metric} = {value:.6g} "
                f"({how}, {time.perf_counter() - t0:.1f} s)"
            )
            # keep the table current, so an interrupted sweep still shows its progress
            _write_table(sweep)


# -- tables and the plot ------------------------------------------------------------
def _metric_value(result: Mapping[str, Any], metric: str) -> float:
    metrics = {**result["metrics"], **result["train_metrics"]}
    value = metrics.get(metric)
    return float("nan") if value is None else float(value)


def _cell(value: Any) -> Any:
    return value if isinstance(value, (int, float, str)) else json.dumps(value)


def _write_csv(path: Path, header: list[str], rows: list[list[Any]]) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    atomic_write_text(path, buffer.getvalue())


def _write_table(sweep: SweepResult) -> Path:
    """``trials.csv``: one row per trial, finished or not, in expansion order."""
    names = list(sweep.spec.params)
    finished = [sweep.results[t.name] for t in sweep.trials if t.name in sweep.results]
    metric_keys: list[str] = []
    for result in finished:
        for key in [*result["metrics"], *result["train_metrics"]]:
            if key not in metric_keys:
                metric_keys.append(key)
    header = ["trial", *names, "seed", "status", "steps", "n_evals", *metric_keys,
              "wall_time_s"]
    rows = []
    for trial in sweep.trials:
        result = sweep.results.get(trial.name)
        status = sweep.status.get(trial.name, "pending")
        row = [trial.name, *(_cell(trial.params[n]) for n in names), trial.seed,
               "failed" if status == "failed" else ("finished" if result else status)]
        if result is None:
            row += [""] * (3 + len(metric_keys))
        else:
            metrics = {**result["metrics"], **result["train_metrics"]}
            row += [result["steps"], result["n_evals"], *(metrics.get(k, "") for k in metric_keys),
                    result["wall_time_s"]]
        rows.append(row)
    path = sweep.spec.out / "trials.csv"
    _write_csv(path, header, rows)
    return path


def summarize(sweep: SweepResult) -> list[dict[str, Any]]:
    """Mean and std (over seeds, ``ddof=0``) of the metric per parameter point.

    Returns:
        One dict per point in expansion order: the swept parameters, ``n`` (finished
        seeds), ``mean``, ``std``, ``min`` and ``max`` (NaN without finished seeds).
    """
    groups: dict[str, list[Trial]] = {}
    for trial in sweep.trials:
        groups.setdefault(trial.point, []).append(trial)
    rows = []
    for group in groups.values():
        values = np.array([
            _metric_value(sweep.results[t.name], sweep.metric)
            for t in group if t.name in sweep.results
        ])
        stats = (
            {"mean": float(values.mean()), "std": float(values.std()),
             "min": float(values.min()), "max": float(values.max())}
            if values.size else dict.fromkeys(("mean", "std", "min", "max"), float("nan"))
        )
        rows.append({**group[0].params, "n": int(values.size), **stats})
    return rows


def _write_outputs(sweep: SweepResult, plot: bool) -> list[Path]:
    files = [_write_table(sweep)]
    names = list(sweep.spec.params)
    summary = summarize(sweep)
    stats = ["n", "mean", "std", "min", "max"]
    header = [*names, "n_seeds", *(f"{sweep.metric}_{s}" for s in stats[1:])]
    rows = [[*(_cell(r[n]) for n in names), *(r[s] for s in stats)] for r in summary]
    path = sweep.spec.out / "summary.csv"
    _write_csv(path, header, rows)
    files.append(path)
    if plot and any(r["n"] for r in summary):
        files.append(plot_sweep(sweep, sweep.spec.out / "sweep.png"))
    return files


def format_summary(sweep: SweepResult, limit: int | None = None) -> str:
    """A text table of the parameter points, best first (``limit`` rows)."""
    names = list(sweep.spec.params)
    summary = summarize(sweep)
    sign = -1.0 if sweep.mode == "max" else 1.0
    summary.sort(key=lambda r: (math.isnan(r["mean"]), sign * r["mean"]))
    header = [*(n.rsplit(".", 1)[-1] for n in names), "seeds", f"{sweep.metric} (mean ± std)"]
    lines = [[*(_short(r[n]) for n in names), str(r["n"]), f"{r['mean']:.4g} ± {r['std']:.2g}"]
             for r in summary[:limit]]
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    text = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    text += [fmt.format(*line) for line in lines]
    return "\n".join(line.rstrip() for line in text)


def plot_sweep(sweep: SweepResult, path: str | os.PathLike[str]) -> Path:
    """Write the metric against each swept parameter: one panel each, mean ± std over seeds.

    In a grid of several parameters, points that share the other parameters are
    joined by a line (up to 8 lines a panel; more are drawn as unjoined markers).
    """
    from spiking_synrl.plot import _plt

    plt = _plt()
    names = list(sweep.spec.params)
    summary = [r for r in summarize(sweep) if r["n"]]
    fig, axes = plt.subplots(1, len(names), figsize=(4.2 * len(names), 3.4), squeeze=False)
    for ax, name in zip(axes[0], names, strict=True):
        values = [r[name] for r in summary]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)
        if numeric:
            xs = [float(v) for v in values]
            positive = all(x > 0 for x in xs)
            dist = sweep.spec.params[name] if sweep.spec.method == "random" else {}
            if positive and (dist.get("dist") == "loguniform" or max(xs) / min(xs) >= 10):
                ax.set_xscale("log")
        else:  # categories in the order the sweep file lists them
            param = sweep.spec.params[name]
            listed = param if isinstance(param, list) else param.get("values", [])
            present = {_short(v) for v in values}
            labels = [t for t in dict.fromkeys(map(_short, listed)) if t in present]
            xs = [float(labels.index(_short(v))) for v in values]
            ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=8)
        others = [n for n in names if n != name]
        groups: dict[str, list[int]] = {}
        for i, r in enumerate(summary):
            groups.setdefault(json.dumps([r[n] for n in others]), []).append(i)
        joined = sweep.spec.method == "grid" and len(groups) <= 8
        for key, idx in groups.items():
            idx.sort(key=lambda i: xs[i])
            label = ", ".join(f"{n.rsplit('.', 1)[-1]}={_short(v)}"
                              for n, v in zip(others, json.loads(key), strict=True))
            ax.errorbar(
                [xs[i] for i in idx], [summary[i]["mean"] for i in idx],
                yerr=[summary[i]["std"] for i in idx], fmt="o-" if joined else "o",
                capsize=3, ms=4, label=label if joined and others else None,
                color=None if joined else "C0",
            )
        ax.set_xlabel(name)
        ax.set_ylabel(f"{sweep.metric} (mean ± std over seeds)")
        ax.grid(alpha=0.3)
        if joined and others:
            ax.legend(fontsize=7)
    fig.suptitle(f"{sweep.spec.out.name}: {len(sweep.spec.seeds)} seeds per point", fontsize=9)
    fig.tight_layout()
    out = Path(path)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    atomic_write_bytes(out, buffer.getvalue())
    return out


def _format_params(params: Mapping[str, Any]) -> str:
    return ", ".join(f"{n} = {_short(v)}" for n, v in params.items())


def describe(trials: Sequence[Trial]) -> str:
    """One line per trial: its name and parameters (for ``--dry-run``)."""
    return "\n".join(f"{t.name}: {_format_params(t.params)}, seed = {t.seed}" for t in trials)
