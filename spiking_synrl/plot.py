"""Pictures of runs and of spiking networks, as matplotlib figures.

Run directories (written by ``synrl train`` / :func:`spiking_synrl.run.train_run`):

=============================  ===========================================================
function                       figure
=============================  ===========================================================
:func:`learning_curves`        an evaluated metric over steps or loss evaluations: mean,
                               min-max band and ±1 std over runs that differ only by seed
:func:`plot_traces`            rule metrics matching a pattern, one panel each (RPE,
                               learning rate, B-vs-W^T angle, update norms)
:func:`plot_action_frequencies`  SynapticQ: share of -/0/+ moves and the mean global
                               reward over time
:func:`plot_weight_histograms` each weight array at initialisation, at every kept
                               checkpoint and at the end
:func:`plot_policy`            a SynapticQ Q-table as a heat map (state x action);
                               :func:`run_policy` gives the table a run used
:func:`plot_runs`              all of the above that apply, written as PNGs
                               (``synrl plot RUN_DIR [RUN_DIR ...]``)
=============================  ===========================================================

Plain arrays (spikes in seconds, as a recording of a Brian network gives them):
:func:`plot_raster` (spike times against neuron index), :func:`spike_rates`
(binned firing rates) and :func:`plot_rate_traces` (rates over time).

Every function returns a ``Figure``; matplotlib is imported on first use, with the
non-interactive Agg backend when no display is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spiking_synrl.errors import ConfigError, SynRLError
from spiking_synrl.validation import check_array, check_float, check_int

__all__ = [
    "TRACE_GROUPS",
    "learning_curves",
    "load_metrics",
    "plot_action_frequencies",
    "plot_policy",
    "plot_raster",
    "plot_rate_traces",
    "plot_runs",
    "plot_traces",
    "plot_weight_histograms",
    "run_policy",
    "spike_rates",
]

#: metric-name patterns of rule-specific traces: ``plot_runs`` writes ``<name>.png``
#: for each group a run logged (``actions`` gets :func:`plot_action_frequencies`)
TRACE_GROUPS = {
    "actions": re.compile(r"^(frac|action)[_:]"),  # SynapticQ
    "rpe": re.compile(r"^(rpe|delta|baseline)$"),  # Dopamine, WeightPerturbation
    "learning_rate": re.compile(r"^(eta|alpha_s|lr)$"),  # Dopamine, SynapticQ
    "feedback_angle": re.compile(r"^angle:"),  # LearnedFeedback, FeedbackAlignment
    "updates": re.compile(r"^(update_norm|grad_norm|delta_loss)$"),
}
_RATE_NAMES = ("eta", "lr", "alpha_s")
_ALPHA_S = "\u03b1_s"  # α_s, the synaptic step
_ACTIONS = (("frac_dec", f"-{_ALPHA_S}"), ("frac_null", "0"), ("frac_inc", f"+{_ALPHA_S}"))


def _plt() -> Any:
    import matplotlib

    if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


# -- reading runs ---------------------------------------------------------------------
def load_metrics(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The records of a run's ``metrics.jsonl`` (complete lines only)."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        raise ConfigError(
            f"The 'run_dir' parameter must be a run directory with a metrics.jsonl. "
            f"Got {str(run_dir)!r}, which has none."
        )
    records = []
    for line in path.read_text().splitlines():
        try:
            records.append(json.loads(line))
        except ValueError:
            break  # a line cut by a kill: everything before it is good
    return records


def _series(records: list[dict[str, Any]], name: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [(r["step"], r[name]) for r in records if name in r and r[name] is not None]
    if not rows:
        return np.array([]), np.array([])
    x, y = zip(*rows, strict=True)
    return np.asarray(x, float), np.asarray(y, float)


def _config(run_dir: Path) -> dict[str, Any]:
    path = run_dir / "config.json"
    if not path.is_file():
        raise ConfigError(
            f"The 'run_dir' parameter must be a run directory written by `synrl train` "
            f"(with a config.json). Got {str(run_dir)!r}, which has none."
        )
    config: dict[str, Any] = json.loads(path.read_text())
    return config


def _label(run_dir: Path) -> str:
    return _base_label(_config(run_dir))


def _base_label(cfg: dict[str, Any]) -> str:
    return f"{cfg['rule']} / {cfg['task']} ({cfg['net']} {cfg['hidden']})"


def _flat(cfg: dict[str, Any]) -> dict[str, str]:
    """``{name: value as text}`` of a config, the parameter tables flattened, no seed."""

    def text(v: Any) -> str:
        return v if isinstance(v, str) else json.dumps(v, default=str)

    out = {}
    for key, value in cfg.items():
        if isinstance(value, dict):
            out.update({k: text(v) for k, v in value.items()})
        elif key != "seed":
            out[key] = text(value)
    return out


def _group_runs(run_dirs: Sequence[Path]) -> dict[str, list[Path]]:
    """Runs by configuration (all but the seed), labelled by what tells them apart."""
    groups: dict[str, list[Path]] = {}
    configs: dict[str, dict[str, Any]] = {}
    for d in run_dirs:
        cfg = _config(d)
        key = json.dumps({k: v for k, v in cfg.items() if k != "seed"}, sort_keys=True, default=str)
        groups.setdefault(key, []).append(d)
        configs[key] = cfg
    bases = {key: _base_label(cfg) for key, cfg in configs.items()}
    labels = {}
    for key, base in bases.items():
        twins = [_flat(configs[k]) for k, b in bases.items() if b == base]
        if len(twins) > 1:  # same rule, task and net: name the settings that differ
            names = sorted({n for t in twins for n in t if len({u.get(n) for u in twins}) > 1})
            own = _flat(configs[key])
            base += " " + ", ".join(f"{n}={own.get(n, '-')}" for n in names)
        labels[key] = base
    return {labels[k]: v for k, v in groups.items()}


def _moving_mean(y: np.ndarray, window: int) -> np.ndarray:
    """Trailing mean over ``window`` points (fewer at the start); same length as ``y``."""
    if window <= 1 or len(y) < 2:
        return y
    csum = np.cumsum(np.insert(y, 0, 0.0))
    idx = np.arange(1, len(y) + 1)
    lo = np.maximum(idx - window, 0)
    return np.asarray((csum[idx] - csum[lo]) / (idx - lo))


def _auto_window(n: int) -> int:
    return max(1, n // 40) if n > 100 else 1


# -- learning curves ------------------------------------------------------------------
def learning_curves(
    run_dirs: Sequence[str | os.PathLike[str]] | Mapping[str, Sequence[str | os.PathLike[str]]],
    metric: str | None = None,
    x: str = "step",
    *,
    smooth: int = 1,
    std: bool = True,
    ax: Any = None,
) -> Any:
    """Mean and spread (min-max band, ±1 std dotted) of ``metric`` over seeds.

    Args:
        run_dirs: run directories, grouped automatically by configuration (runs that
            differ only by seed form one line, labelled by the settings that tell the
            lines apart), or ``{label: [run_dir, ...]}`` to choose the lines.
        metric: e.g. ``"val_accuracy"``; default: the first evaluated accuracy, NRMSE
            or loss found.
        x: ``"step"`` or ``"n_evals"`` (loss evaluations, to compare rules fairly).
        smooth: trailing moving mean over this many points (for per-step metrics
            such as the training ``"loss"``).
        std: also draw mean ± 1 std as dotted lines (leave them out for log axes).
        ax: draw into these axes instead of a new figure.
    """
    plt = _plt()
    if x not in ("step", "n_evals"):
        raise ConfigError(
            f"The 'x' parameter of learning_curves must be one of 'step', "
            f"'n_evals'. Got {x!r} instead."
        )
    smooth = check_int(smooth, "smooth", "learning_curves", low=1)
    if isinstance(run_dirs, Mapping):
        groups = {label: [Path(d) for d in dirs] for label, dirs in run_dirs.items()}
    else:
        groups = _group_runs([Path(d) for d in run_dirs])
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.4, 4.0))
    names = set()
    for label, dirs in groups.items():
        curves = []
        for d in dirs:
            recs = load_metrics(d)
            name = metric or _default_metric(recs)
            names.add(name)
            steps, values = _series(recs, name)
            if x == "n_evals":
                evals = {r["step"]: r.get("n_evals", r["step"]) for r in recs}
                steps = np.asarray([evals[s] for s in steps], float)
            if len(steps):
                curves.append((steps, _moving_mean(values, smooth)))
        if not curves:
            continue
        # the shortest run sets the grid: no curve is extrapolated past its end
        grid = min((s for s, _ in curves), key=lambda s: s[-1])
        stack = np.stack([np.interp(grid, s, v) for s, v in curves])
        mean, sd = stack.mean(0), stack.std(0)
        (line,) = ax.plot(grid, mean, label=f"{label}, n={len(curves)}")
        if len(curves) > 1:
            ax.fill_between(grid, stack.min(0), stack.max(0), alpha=0.15, color=line.get_color())
            if std:
                ax.plot(grid, mean + sd, ":", color=line.get_color(), lw=0.8)
                ax.plot(grid, mean - sd, ":", color=line.get_color(), lw=0.8)
    ax.set_ylabel(metric or ", ".join(sorted(names)))
    ax.set_xlabel("loss evaluations" if x == "n_evals" else "step")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _default_metric(records: list[dict[str, Any]]) -> str:
    keys = {k for r in records for k in r}
    for suffix in ("accuracy", "nrmse", "loss"):
        for k in sorted(keys):
            if k.endswith(f"_{suffix}") and k.startswith(("val_", "test_")):
                return k
    return "loss"


# -- rule traces ----------------------------------------------------------------------
def plot_traces(
    run_dir: str | os.PathLike[str],
    pattern: str | re.Pattern[str],
    *,
    smooth: int | None = None,
) -> Any | None:
    """Every metric of a run whose name matches ``pattern``, one panel each; None if none.

    Args:
        run_dir: a run directory.
        pattern: regular expression searched in the metric names (see
            :data:`TRACE_GROUPS`).
        smooth: window of the moving mean drawn over the raw trace (default: about
            1/40 of the run for runs over 100 steps, else none).
    """
    plt = _plt()
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    recs = load_metrics(run_dir)
    # the headline metrics (the RPE, the rate) first, the rest alphabetically
    names = sorted(
        {k for r in recs for k in r if regex.search(k)},
        key=lambda n: (n not in ("rpe", *_RATE_NAMES), n),
    )
    if not names:
        return None
    fig, axes = plt.subplots(
        len(names), 1, figsize=(6.4, 1.2 + 1.6 * len(names)), sharex=True, squeeze=False
    )
    for ax, name in zip(axes[:, 0], names, strict=True):
        steps, values = _series(recs, name)
        window = smooth or _auto_window(len(values))
        raw = ax.plot(steps, values, lw=0.6, alpha=0.4 if window > 1 else 1.0)[0]
        if window > 1:
            ax.plot(
                steps,
                _moving_mean(values, window),
                color=raw.get_color(),
                lw=1.4,
                label=f"mean of {window}",
            )
            ax.legend(fontsize=7, loc="best")
        if name in _RATE_NAMES and np.all(values > 0) and values.max() > 3 * values.min():
            ax.set_yscale("log")
        ax.set_ylabel(name, fontsize=8)
        ax.grid(alpha=0.3)
    axes[-1, 0].set_xlabel("step")
    axes[0, 0].set_title(_label(Path(run_dir)), fontsize=9)
    fig.tight_layout()
    return fig


def plot_action_frequencies(
    run_dir: str | os.PathLike[str], *, smooth: int | None = None
) -> Any | None:
    """SynapticQ: the share of synapses taking each action, and the mean reward, over time.

    The top panel stacks the (smoothed) fractions of -α_s / 0 / +α_s moves; the
    bottom one is the moving mean of the global reward (+1: the loss fell, -1: it
    did not). None if the run logged no action fractions.
    """
    plt = _plt()
    recs = load_metrics(run_dir)
    if not any("frac_dec" in r for r in recs):
        return None
    steps, _ = _series(recs, "frac_dec")
    window = smooth or _auto_window(len(steps))
    fracs = [_moving_mean(_series(recs, name)[1], window) for name, _ in _ACTIONS]
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(6.4, 4.6), sharex=True, height_ratios=(2, 1))
    top.stackplot(
        steps,
        *fracs,
        labels=[label for _, label in _ACTIONS],
        colors=("tab:blue", "0.8", "tab:red"),
        alpha=0.85,
    )
    top.set_ylim(0, 1)
    top.set_ylabel("share of synapses")
    top.legend(fontsize=7, loc="upper right", title="action", title_fontsize=7)
    top.set_title(
        f"{_label(Path(run_dir))}" + (f", mean of {window} steps" if window > 1 else ""), fontsize=9
    )
    r_steps, reward = _series(recs, "reward")
    if len(r_steps):
        bottom.plot(r_steps, _moving_mean(reward, max(window, 5)), color="k", lw=1)
        bottom.axhline(0, color="0.6", lw=0.8)
    bottom.set_ylabel("mean reward", fontsize=8)
    bottom.set_xlabel("step")
    bottom.grid(alpha=0.3)
    fig.tight_layout()
    return fig


# -- weights and policies ---------------------------------------------------------------
def _initial_state(run_dir: Path) -> Any | None:
    """The state the run started from (rebuilt from its config and seed), or None.

    Uses the Trainer's own initialisation, so the weights are exactly those the run
    drew; None when the network cannot be built here (e.g. brian2 missing).
    """
    from spiking_synrl.run import build_run, read_config
    from spiking_synrl.training import Trainer

    try:
        config = read_config(run_dir)
        run = build_run(config)
    except SynRLError:
        return None
    try:
        trainer = Trainer(run.rule, run.substrate, run.task, seed=config["seed"])
        return trainer.init_state()
    finally:
        run.substrate.close()


def plot_weight_histograms(run_dir: str | os.PathLike[str], bins: int = 50) -> Any:
    """Histograms of each weight array over training, on shared bins per array.

    Snapshots: the initial weights (rebuilt from the run's seed), every kept
    checkpoint and the final weights (when they differ from the last checkpoint),
    coloured from light (early) to dark (late).
    """
    from spiking_synrl.run import load_weights
    from spiking_synrl.training.checkpoint import list_checkpoints, load_checkpoint

    plt = _plt()
    bins = check_int(bins, "bins", "plot_weight_histograms", low=1)
    run_dir = Path(run_dir)
    snapshots: list[tuple[str, dict[str, np.ndarray]]] = []
    init = _initial_state(run_dir)
    if init is not None:
        snapshots.append(("init", init.weights))
    for path in list_checkpoints(run_dir / "checkpoints"):
        try:
            state, _, _ = load_checkpoint(path)
        except SynRLError:
            continue  # a damaged checkpoint: plot the others
        snapshots.append((f"step {state.step}", state.weights))
    if (run_dir / "final.npz").exists():
        final = load_weights(run_dir / "final.npz")
        last = snapshots[-1][1] if snapshots else {}
        if not (
            final.keys() == last.keys() and all(np.array_equal(final[k], last[k]) for k in final)
        ):
            snapshots.append(("final", final))
    if not snapshots:
        raise ConfigError(f"Run {str(run_dir)!r} has no saved weights to plot.")
    keys = [k for k in snapshots[-1][1] if "->" in k]
    ncols = min(len(keys), 4)
    nrows = -(-len(keys) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.2 * ncols, 2.8 * nrows), squeeze=False)
    colors = plt.get_cmap("viridis_r")(np.linspace(0.15, 1.0, len(snapshots)))
    for ax, key in zip(axes.ravel(), keys, strict=False):
        values = [np.asarray(w[key], float).ravel() for _, w in snapshots if key in w]
        lo, hi = min(v.min() for v in values), max(v.max() for v in values)
        # few weights, few bins: a 4-weight array in 50 bins is a row of spikes
        n_bins = min(bins, max(8, int(2 * np.sqrt(values[0].size))))
        edges = np.linspace(lo, hi if hi > lo else lo + 1e-12, n_bins + 1)
        for (label, w), color in zip(snapshots, colors, strict=True):
            if key in w:
                ax.hist(np.ravel(w[key]), bins=edges, histtype="step", color=color, label=label)
        ax.set_title(key, fontsize=9)
    for ax in axes.ravel()[len(keys) :]:
        ax.set_visible(False)
    axes[0][0].legend(fontsize=7)
    fig.suptitle(_label(run_dir), fontsize=9)
    fig.tight_layout()
    return fig


def run_policy(run_dir: str | os.PathLike[str]) -> np.ndarray:
    """The ``(81, 3)`` Q-table a SynapticQ run used: its final one.

    That is the table in the rule state of the newest good checkpoint (static mode:
    the loaded policy, unchanged; adaptive mode: the table learned so far), or,
    without checkpoints, the table the run started from.

    Raises:
        ConfigError: if the run's rule is not ``synaptic-q``.
    """
    from spiking_synrl.training.checkpoint import latest_checkpoint

    run_dir = Path(run_dir)
    rule = _config(run_dir)["rule"]
    if rule != "synaptic-q":
        raise ConfigError(
            f"The 'run_dir' parameter of run_policy must be a synaptic-q run. Got "
            f"{str(run_dir)!r}, a {rule!r} run."
        )
    found = latest_checkpoint(run_dir / "checkpoints")
    state = found[1] if found is not None else _initial_state(run_dir)
    if state is None:
        raise ConfigError(f"Run {str(run_dir)!r} has no checkpoint and cannot be rebuilt here.")
    return np.asarray(state.rule_state.q, float)


def plot_policy(q_table: np.ndarray, *, title: str | None = None) -> Any:
    """A SynapticQ table as a heat map: rows the three actions, columns the 81 states.

    States ``s = 27 r_2 + 9 r_1 + 3 a_2 + a_1`` are grouped by the two last rewards
    ``(R_{t-2}, R_{t-1})`` (9 blocks) and labelled by the two last actions
    ``(a_{t-2}, a_{t-1})``; black dots mark the greedy action of every state whose
    actions are not all tied (a tied state, never visited while learning, decrements).

    Args:
        q_table: 243 values, in any shape that flattens to (states, actions) with
            actions last (``(81, 3)`` or ``(3, 3, 3, 3, 3)``).
        title: a title, e.g. where the table comes from.
    """
    plt = _plt()
    q = check_array(q_table, "q_table", "plot_policy")
    if q.size != 243:
        raise ConfigError(
            f"The 'q_table' parameter of plot_policy must hold 81 x 3 = 243 "
            f"values. Got shape {q.shape} instead."
        )
    q = q.reshape(81, 3)
    sym = {0: "-", 1: "0", 2: "+"}
    fig, ax = plt.subplots(figsize=(11.0, 3.0))
    vmax = float(np.abs(q).max()) or 1.0
    im = ax.imshow(
        q.T, aspect="auto", cmap="RdBu_r", vmin=-vmax, vmax=vmax, interpolation="nearest"
    )
    ax.set_yticks([0, 1, 2], [label for _, label in _ACTIONS])
    ax.set_xticks(np.arange(81), [f"{sym[s // 3 % 3]}{sym[s % 3]}" for s in range(81)], fontsize=5)
    ax.set_xlabel(
        "state: last actions (a_{t-2} a_{t-1}) in blocks of last rewards "
        "(R_{t-2}, R_{t-1}); dots: greedy action",
        fontsize=8,
    )
    for block in range(1, 9):
        ax.axvline(block * 9 - 0.5, color="k", lw=0.8)
    top = ax.secondary_xaxis("top")
    top.set_xticks(
        np.arange(9) * 9 + 4, [f"R=({sym[b // 3]},{sym[b % 3]})" for b in range(9)], fontsize=7
    )
    top.tick_params(length=0)
    decided = q.max(1) > q.min(1)
    ax.plot(np.flatnonzero(decided), q.argmax(1)[decided], "k.", ms=4)
    ax.set_ylim(2.5, -0.5)
    fig.colorbar(im, ax=ax, label="Q", fraction=0.03, pad=0.01)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    return fig


# -- spikes -------------------------------------------------------------------------------
def _spikes(spike_times: Any, spike_indices: Any, owner: str) -> tuple[np.ndarray, np.ndarray]:
    times = check_array(spike_times, "spike_times", owner, shape=(None,))
    indices = check_array(spike_indices, "spike_indices", owner, shape=(len(times),))
    if np.any(times < 0):
        raise ConfigError(
            f"The 'spike_times' parameter of {owner} must be times >= 0 in "
            f"seconds. Got a minimum of {times.min()!r} instead."
        )
    if np.any(indices < 0) or np.any(indices != np.round(indices)):
        raise ConfigError(
            f"The 'spike_indices' parameter of {owner} must be neuron indices "
            f"(integers >= 0). Got {indices[:5].tolist()}... instead."
        )
    return times, indices.astype(np.int64)


def plot_raster(
    spike_times: Any,
    spike_indices: Any,
    *,
    n_neurons: int | None = None,
    duration_s: float | None = None,
    groups: Mapping[str, tuple[int, int]] | None = None,
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Spike raster: one dot per spike, time (ms) against neuron index.

    Args:
        spike_times: ``(n_spikes,)`` spike times in seconds.
        spike_indices: ``(n_spikes,)`` index of the neuron that fired each spike.
        n_neurons: number of neurons (rows); default: the largest index + 1, or the
            end of the last group.
        duration_s: length of the time axis; default: the last spike.
        groups: ``{name: (start, stop)}`` index ranges (e.g. layers), coloured
            separately and named at the right edge.
        title: figure title.
        ax: draw into these axes instead of a new figure.

    Examples:
        >>> fig = plot_raster([0.001, 0.004, 0.002], [0, 0, 2], duration_s=0.01)
        >>> [float(v) for v in fig.axes[0].get_xlim()], fig.axes[0].get_xlabel()
        ([0.0, 10.0], 'time (ms)')
    """
    owner = "plot_raster"
    times, indices = _spikes(spike_times, spike_indices, owner)
    top = int(indices.max()) + 1 if len(indices) else 1
    if groups:  # silent neurons of a group still get their rows
        top = max([top, *(int(stop) for _, stop in groups.values())])
    n = top if n_neurons is None else check_int(n_neurons, "n_neurons", owner, low=top)
    plt = _plt()
    fig, ax = (
        (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.4, min(1.6 + 0.08 * n, 6.0)))
    )
    spans = dict(groups) if groups else {"": (0, n)}
    for name, (start, stop) in spans.items():
        check_int(start, f"groups[{name!r}] start", owner, low=0, high=n)
        check_int(stop, f"groups[{name!r}] stop", owner, low=start, high=n)
        sel = (indices >= start) & (indices < stop)
        ax.plot(
            1e3 * times[sel], indices[sel], "|", ms=max(2.0, 200.0 / n), mew=1.0, label=name or None
        )
        if groups:
            if start > 0:
                ax.axhline(start - 0.5, color="0.6", lw=0.6)
            # the group's name at the right edge, level with its rows
            ax.text(
                1.01,
                (start + stop - 1) / 2,
                name,
                transform=ax.get_yaxis_transform(),
                fontsize=7,
                va="center",
                ha="left",
                color=ax.lines[-1].get_color(),
            )
    end = (
        check_float(duration_s, "duration_s", owner, low=0.0)
        if duration_s is not None
        else float(times.max())
        if len(times)
        else 1.0
    )
    ax.set_xlim(0.0, 1e3 * end)
    ax.set_ylim(n - 0.5, -0.5)
    ax.set_xlabel("time (ms)")
    ax.set_ylabel("neuron")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


def spike_rates(
    spike_times: Any,
    spike_indices: Any,
    n_neurons: int,
    *,
    duration_s: float,
    bin_s: float = 0.01,
) -> tuple[np.ndarray, np.ndarray]:
    """Firing rates in time bins: ``(bin centres in s (T,), rates in Hz (T, n_neurons))``.

    Examples:
        >>> t, r = spike_rates([0.001, 0.002, 0.015], [0, 0, 1], 2, duration_s=0.02)
        >>> t.tolist(), r.tolist()
        ([0.005, 0.015], [[200.0, 0.0], [0.0, 100.0]])
    """
    owner = "spike_rates"
    times, indices = _spikes(spike_times, spike_indices, owner)
    n_neurons = check_int(n_neurons, "n_neurons", owner, low=1)
    duration_s = check_float(duration_s, "duration_s", owner, low=0.0)
    bin_s = check_float(bin_s, "bin_s", owner, low=0.0, high=duration_s, closed="right")
    if len(indices) and indices.max() >= n_neurons:
        raise ConfigError(
            f"The 'spike_indices' parameter of {owner} must be below n_neurons "
            f"= {n_neurons}. Got {int(indices.max())} instead."
        )
    n_bins = max(1, round(duration_s / bin_s))
    edges = np.linspace(0.0, n_bins * bin_s, n_bins + 1)
    counts, _, _ = np.histogram2d(times, indices, bins=(edges, np.arange(n_neurons + 1)))
    return 0.5 * (edges[:-1] + edges[1:]), counts / bin_s


def plot_rate_traces(
    times: Any,
    rates: Any,
    *,
    labels: Sequence[str] | None = None,
    max_lines: int = 12,
    ylabel: str = "rate (Hz)",
    title: str | None = None,
    ax: Any = None,
) -> Any:
    """Firing rates over time: one line per neuron, or a heat map for many neurons.

    Args:
        times: ``(T,)`` times in seconds (e.g. bin centres from :func:`spike_rates`).
        rates: ``(T,)`` or ``(T, n_neurons)`` rates.
        labels: one name per neuron (lines only).
        max_lines: above this many neurons draw a neuron x time heat map instead.
        ylabel: what the values are.
        title: figure title.
        ax: draw into these axes instead of a new figure.

    Examples:
        >>> fig = plot_rate_traces([0.0, 0.01, 0.02], [[5.0, 1.0], [6.0, 2.0], [7.0, 3.0]])
        >>> len(fig.axes[0].lines)
        2
    """
    owner = "plot_rate_traces"
    t = check_array(times, "times", owner, shape=(None,))
    r = check_array(rates, "rates", owner)
    if r.ndim == 1:
        r = r[:, None]
    if r.ndim != 2 or r.shape[0] != len(t):
        raise ConfigError(
            f"The 'rates' parameter of {owner} must have shape (T,) or "
            f"(T, n_neurons) with T = len(times) = {len(t)}. Got shape "
            f"{np.shape(rates)} instead."
        )
    max_lines = check_int(max_lines, "max_lines", owner, low=1)
    if labels is not None and len(labels) != r.shape[1]:
        raise ConfigError(
            f"The 'labels' parameter of {owner} must name each of the "
            f"{r.shape[1]} neurons. Got {len(labels)} names instead."
        )
    plt = _plt()
    fig, ax = (ax.figure, ax) if ax is not None else plt.subplots(figsize=(6.4, 3.4))
    if r.shape[1] <= max_lines:
        for j in range(r.shape[1]):
            ax.plot(1e3 * t, r[:, j], lw=1, label=None if labels is None else labels[j])
        ax.set_ylabel(ylabel)
        if labels is not None:
            ax.legend(fontsize=7, ncols=1 + r.shape[1] // 6)
        ax.grid(alpha=0.3)
    else:
        step = float(np.median(np.diff(t))) if len(t) > 1 else 1.0
        im = ax.imshow(
            r.T,
            aspect="auto",
            origin="lower",
            cmap="magma",
            interpolation="nearest",
            extent=(1e3 * (t[0] - step / 2), 1e3 * (t[-1] + step / 2), -0.5, r.shape[1] - 0.5),
        )
        fig.colorbar(im, ax=ax, label=ylabel)
        ax.set_ylabel("neuron")
    ax.set_xlabel("time (ms)")
    if title:
        ax.set_title(title, fontsize=9)
    fig.tight_layout()
    return fig


# -- everything for a set of runs -------------------------------------------------------
def plot_runs(
    run_dirs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Write the standard PNGs for ``run_dirs``; returns the files written.

    Learning curves of all runs together (by step and by loss evaluations) go to
    ``out`` (default: the first run directory's ``plots/``). Each run gets, in
    ``<run>/plots/``: ``weights.png`` (histograms over training) and, for what it
    logged, one ``<group>.png`` per :data:`TRACE_GROUPS` entry (``actions``,
    ``rpe``, ``learning_rate``, ``feedback_angle``, ``updates``); SynapticQ runs
    also get ``policy.png`` (:func:`run_policy`).
    """
    plt = _plt()
    dirs = [Path(d) for d in run_dirs]
    for d in dirs:
        load_metrics(d)  # clear error for a non-run directory
        _config(d)
    out_dir = Path(out) if out is not None else dirs[0] / "plots"
    out_dir.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []

    def save(fig: Any, path: Path) -> None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)

    save(learning_curves(dirs), out_dir / "learning_curves.png")
    save(learning_curves(dirs, x="n_evals"), out_dir / "learning_curves_by_evals.png")
    for d in dirs:
        plots = d / "plots"
        plots.mkdir(exist_ok=True)
        for name, pattern in TRACE_GROUPS.items():
            fig = plot_action_frequencies(d) if name == "actions" else plot_traces(d, pattern)
            if fig is not None:
                save(fig, plots / f"{name}.png")
        with contextlib.suppress(ConfigError):  # nothing saved yet
            save(plot_weight_histograms(d), plots / "weights.png")
        if _config(d)["rule"] == "synaptic-q":
            with contextlib.suppress(ConfigError):  # no checkpoint, network not buildable
                save(
                    plot_policy(run_policy(d), title=f"Q-table used by {_label(d)}"),
                    plots / "policy.png",
                )
    return written
