"""Pictures of runs: learning curves over seeds, rule traces, weights, Q-policies.

Every function takes run directories written by ``synrl train`` (or arrays) and
returns a matplotlib ``Figure``; :func:`plot_runs` writes the standard set of PNGs
(``synrl plot RUN_DIR [RUN_DIR ...]``). matplotlib is imported on first use, with
the non-interactive Agg backend when no display is set.
"""

from __future__ import annotations

import json
import os
import re
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spiking_synrl.errors import ConfigError

__all__ = [
    "learning_curves",
    "load_metrics",
    "plot_policy",
    "plot_runs",
    "plot_traces",
    "plot_weight_histograms",
]

#: metric-name patterns of rule-specific traces, one figure each
TRACE_GROUPS = {
    "actions": re.compile(r"^(frac|action)[_:]"),
    "dopamine": re.compile(r"^(rpe|eta|baseline|delta)$"),
    "feedback_angle": re.compile(r"^angle:"),
    "learning_rate": re.compile(r"^(alpha_s|lr)$"),
}


def _plt() -> Any:
    import matplotlib

    if not os.environ.get("DISPLAY") and "MPLBACKEND" not in os.environ:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


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
            break
    return records


def _series(records: list[dict[str, Any]], name: str) -> tuple[np.ndarray, np.ndarray]:
    rows = [(r["step"], r[name]) for r in records if name in r and r[name] is not None]
    if not rows:
        return np.array([]), np.array([])
    x, y = zip(*rows, strict=True)
    return np.asarray(x, float), np.asarray(y, float)


def _label(run_dir: Path) -> str:
    cfg = json.loads((run_dir / "config.json").read_text())
    return f"{cfg['rule']} / {cfg['task']} ({cfg['net']} {cfg['hidden']})"


def learning_curves(
    run_dirs: Sequence[str | os.PathLike[str]], metric: str | None = None, x: str = "step"
) -> Any:
    """Mean and spread (min-max band, ±1 std line) of ``metric`` over runs that differ
    only by seed; one line per configuration.

    Args:
        metric: e.g. ``"val_accuracy"``; default: the first evaluated accuracy, NRMSE
            or loss found.
        x: ``"step"`` or ``"n_evals"`` (loss evaluations, to compare rules fairly).
    """
    plt = _plt()
    groups: dict[str, list[Path]] = defaultdict(list)
    for d in map(Path, run_dirs):
        groups[_label(d)].append(d)
    fig, ax = plt.subplots(figsize=(6.4, 4.0))
    for label, dirs in groups.items():
        curves = []
        for d in dirs:
            recs = load_metrics(d)
            name = metric or _default_metric(recs)
            steps, values = _series(recs, name)
            if x == "n_evals":
                evals = {r["step"]: r.get("n_evals", r["step"]) for r in recs}
                steps = np.asarray([evals[s] for s in steps], float)
            curves.append((steps, values))
        if not curves or not len(curves[0][0]):
            continue
        grid = curves[0][0]
        stack = np.stack([np.interp(grid, s, v) for s, v in curves])
        mean, std = stack.mean(0), stack.std(0)
        (line,) = ax.plot(grid, mean, label=f"{label}, n={len(dirs)}")
        ax.fill_between(grid, stack.min(0), stack.max(0), alpha=0.15, color=line.get_color())
        if len(dirs) > 1:
            ax.plot(grid, mean + std, ":", color=line.get_color(), lw=0.8)
            ax.plot(grid, mean - std, ":", color=line.get_color(), lw=0.8)
        ax.set_ylabel(metric or name)
    ax.set_xlabel("loss evaluations" if x == "n_evals" else "step")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def _default_metric(records: list[dict[str, Any]]) -> str:
    keys = {k for r in records for k in r}
    for suffix in ("accuracy", "nrmse", "loss"):
        for k in sorted(keys):
            if k.endswith(suffix) and not k.startswith("train"):
                return k
    return "loss"


def plot_traces(run_dir: str | os.PathLike[str], pattern: str | re.Pattern[str]) -> Any | None:
    """All metrics of a run whose names match ``pattern``, against the step; None if none."""
    plt = _plt()
    regex = re.compile(pattern) if isinstance(pattern, str) else pattern
    recs = load_metrics(run_dir)
    names = sorted({k for r in recs for k in r if regex.search(k)})
    if not names:
        return None
    fig, ax = plt.subplots(figsize=(6.4, 3.6))
    for name in names:
        steps, values = _series(recs, name)
        ax.plot(steps, values, label=name, lw=1)
    if any(n in ("eta", "lr", "alpha_s") for n in names):
        ax.set_yscale("symlog", linthresh=1e-6)
    ax.set_xlabel("step")
    ax.legend(fontsize=7)
    ax.grid(alpha=0.3)
    ax.set_title(_label(Path(run_dir)), fontsize=9)
    fig.tight_layout()
    return fig


def plot_weight_histograms(run_dir: str | os.PathLike[str], bins: int = 50) -> Any:
    """Histograms of each weight array at every saved checkpoint and at the end."""
    from spiking_synrl.run import load_weights
    from spiking_synrl.training.checkpoint import list_checkpoints, load_checkpoint

    plt = _plt()
    run_dir = Path(run_dir)
    snapshots: list[tuple[str, dict[str, np.ndarray]]] = []
    for path in list_checkpoints(run_dir / "checkpoints"):
        state, _, _ = load_checkpoint(path)
        snapshots.append((f"step {state.step}", state.weights))
    if (run_dir / "final.npz").exists():
        snapshots.append(("final", load_weights(run_dir / "final.npz")))
    if not snapshots:
        raise ConfigError(f"Run {str(run_dir)!r} has no saved weights to plot.")
    keys = [k for k in snapshots[-1][1] if "->" in k]
    fig, axes = plt.subplots(1, len(keys), figsize=(3.2 * len(keys), 3.0), squeeze=False)
    for ax, key in zip(axes[0], keys, strict=True):
        for label, weights in snapshots:
            ax.hist(weights[key].ravel(), bins=bins, histtype="step", label=label)
        ax.set_title(key, fontsize=9)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    return fig


def plot_policy(q_table: np.ndarray) -> Any:
    """A SynapticQ table as a heat map: rows are states, columns the three actions.

    ``q_table`` has 243 entries (81 states x 3 actions), in any shape that
    flattens to (states, actions) with actions last.
    """
    plt = _plt()
    q = np.asarray(q_table, float)
    q = q.reshape(-1, 3) if q.shape[-1] == 3 else np.moveaxis(q, 0, -1).reshape(-1, 3)
    fig, ax = plt.subplots(figsize=(3.2, 9.0))
    im = ax.imshow(q, aspect="auto", cmap="RdBu_r",
                   vmin=-np.abs(q).max() or -1, vmax=np.abs(q).max() or 1)
    ax.set_xticks([0, 1, 2], ["-α_s", "0", "+α_s"])
    ax.set_ylabel("state (a_{t-2}, a_{t-1}, R_{t-2}, R_{t-1}) index")
    ax.plot(q.argmax(1), np.arange(len(q)), "k.", ms=3, label="greedy")
    fig.colorbar(im, ax=ax, label="Q")
    ax.legend(fontsize=7, loc="lower right")
    fig.tight_layout()
    return fig


def plot_runs(
    run_dirs: Sequence[str | os.PathLike[str]], out: str | os.PathLike[str] | None = None
) -> list[Path]:
    """Write the standard PNGs for ``run_dirs``; returns the files written.

    Learning curves of all runs together (by step and by loss evaluations) go to
    ``out`` (default: the first run directory's ``plots/``); each run's rule
    traces and weight histograms go to ``<run>/plots/``.
    """
    plt = _plt()
    dirs = [Path(d) for d in run_dirs]
    for d in dirs:
        load_metrics(d)  # clear error for a non-run directory
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
            fig = plot_traces(d, pattern)
            if fig is not None:
                save(fig, plots / f"{name}.png")
        try:
            save(plot_weight_histograms(d), plots / "weights.png")
        except ConfigError:
            pass
    return written
