"""`synrl plot` writes the right figures for every rule; the spike plots take plain arrays."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from spiking_synrl.cli import main
from spiking_synrl.errors import ConfigError
from spiking_synrl.plot import (
    _initial_state,
    learning_curves,
    plot_policy,
    plot_raster,
    plot_rate_traces,
    plot_runs,
    run_policy,
    spike_rates,
)
from spiking_synrl.policy import DEFAULT_POLICY_PATH, load_policy
from spiking_synrl.rules import RULES
from spiking_synrl.run import load_weights
from spiking_synrl.training.checkpoint import latest_checkpoint

PNG = b"\x89PNG\r\n\x1a\n"
#: every run gets these
COMMON = {"learning_curves.png", "learning_curves_by_evals.png", "weights.png"}
#: what each rule's run must show on top (a new rule must say what it plots)
EXPECTED = {
    "synaptic-q": {"actions.png", "policy.png", "learning_rate.png"},
    "dopamine": {"rpe.png", "learning_rate.png", "updates.png"},
    "weight-perturbation": {"rpe.png", "updates.png"},
    "node-perturbation": {"updates.png"},
    "anp": {"updates.png"},
    "learned-feedback": {"feedback_angle.png"},
    "feedback-alignment": {"feedback_angle.png"},
    "backprop": {"updates.png"},
    "bptt": {"updates.png"},
}
#: rules that need a sequence task (the rest train on XOR)
SEQUENCE_TASK = {"bptt": ["--task", "mackey-glass", "--hidden", "8", "--batch-size", "2"]}


def _train(out: Path, rule: str, *extra: str, steps: int = 12) -> Path:
    task = SEQUENCE_TASK.get(rule, ["--task", "xor"])
    argv = [
        "train",
        *task,
        "--rule",
        rule,
        "--steps",
        str(steps),
        "--checkpoint-every",
        "5",
        "--eval-every",
        "5",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]
    assert main(argv) == 0
    return out


def _png_names(written: list[Path]) -> set[str]:
    for path in written:
        assert path.read_bytes()[:8] == PNG, path
    return {p.name for p in written}


@pytest.mark.parametrize("rule", sorted(RULES))
def test_plot_writes_the_figures_of_every_rule(tmp_path, capsys, rule):
    assert rule in EXPECTED, f"say in EXPECTED which figures a {rule!r} run must get"
    run = _train(tmp_path / rule, rule)
    capsys.readouterr()
    assert main(["plot", str(run)]) == 0
    written = [Path(p) for p in capsys.readouterr().out.split()]
    assert COMMON | EXPECTED[rule] <= _png_names(written)


def test_learning_curves_over_seeds_one_line_per_setting(tmp_path, capsys):
    runs = [
        _train(
            tmp_path / f"{form}{seed}", "dopamine", "--seed", str(seed), "--param", f"rpe={form}"
        )
        for form in ("unperturbed", "baseline")
        for seed in (0, 1)
    ]
    capsys.readouterr()
    fig = learning_curves(runs)
    labels = sorted(t.get_text() for t in fig.axes[0].get_legend().get_texts())
    assert labels == [
        "dopamine / xor (mlp [4]) rpe=baseline, n=2",
        "dopamine / xor (mlp [4]) rpe=unperturbed, n=2",
    ]
    assert len(fig.axes[0].lines) == 2 * 3  # mean and mean ± std per setting
    assert len(learning_curves(runs, std=False).axes[0].lines) == 2
    written = plot_runs(runs, tmp_path / "figs")
    assert {"learning_curves.png", "learning_curves_by_evals.png"} <= _png_names(written)


def test_weight_histograms_start_from_the_weights_the_run_drew(tmp_path, capsys):
    run = _train(tmp_path / "zero", "backprop", "--seed", "3", steps=0)  # final = initial
    capsys.readouterr()
    init = _initial_state(run).weights
    final = load_weights(run / "final.npz")
    assert init.keys() == final.keys()
    assert all(np.array_equal(init[k], final[k]) for k in init)


def test_policy_of_a_static_run_is_its_loaded_table(tmp_path, capsys):
    run = _train(tmp_path / "static", "synaptic-q")
    capsys.readouterr()
    np.testing.assert_array_equal(run_policy(run), load_policy(DEFAULT_POLICY_PATH)[0])


def test_policy_of_an_adaptive_run_is_its_final_learned_table(tmp_path, capsys):
    run = _train(tmp_path / "adaptive", "synaptic-q", "--param", "mode=adaptive", steps=30)
    capsys.readouterr()
    q = run_policy(run)
    _, state, _, _ = latest_checkpoint(run / "checkpoints")
    assert state.step == 30
    np.testing.assert_array_equal(q, state.rule_state.q)
    assert np.abs(q).sum() > 0  # learned: adaptive tables start from zeros
    fig = plot_policy(q, title="adaptive")
    assert fig.axes[0].images[0].get_array().shape == (3, 81)


def test_policy_needs_a_synaptic_q_run(tmp_path, capsys):
    run = _train(tmp_path / "bp", "backprop")
    with pytest.raises(ConfigError, match=r"synaptic-q run"):
        run_policy(run)


def test_plot_refuses_a_non_run_directory(tmp_path):
    with pytest.raises(ConfigError, match=r"metrics.jsonl"):
        plot_runs([tmp_path])


# -- spikes -------------------------------------------------------------------------------
def test_raster_draws_every_spike_in_its_group():
    times = np.array([0.001, 0.002, 0.010, 0.020, 0.030])
    neurons = np.array([0, 1, 2, 2, 3])
    fig = plot_raster(times, neurons, groups={"in": (0, 2), "hid": (2, 4)}, duration_s=0.05)
    ax = fig.axes[0]
    by_group = {line.get_label(): line for line in ax.lines if not line.get_label().startswith("_")}
    np.testing.assert_allclose(by_group["in"].get_xdata(), [1.0, 2.0])  # ms
    np.testing.assert_array_equal(by_group["hid"].get_ydata(), [2, 2, 3])
    assert ax.get_xlim() == (0.0, 50.0)
    assert ax.get_ylim() == (3.5, -0.5)  # neuron 0 on top


def test_raster_keeps_rows_for_silent_neurons_of_a_group():
    fig = plot_raster([0.001], [0], groups={"in": (0, 2), "out": (2, 3)})
    assert fig.axes[0].get_ylim() == (2.5, -0.5)


def test_raster_rejects_mismatched_or_negative_input():
    with pytest.raises(ConfigError, match=r"'spike_indices'.*shape"):
        plot_raster([0.1, 0.2], [0])
    with pytest.raises(ConfigError, match=r"'spike_times'.*>= 0"):
        plot_raster([-0.1], [0])
    with pytest.raises(ConfigError, match=r"'n_neurons'"):
        plot_raster([0.1], [5], n_neurons=3)


def test_spike_rates_count_spikes_per_bin():
    t, rates = spike_rates([0.001, 0.002, 0.015, 0.019], [0, 0, 1, 0], 3, duration_s=0.02)
    np.testing.assert_allclose(t, [0.005, 0.015])
    np.testing.assert_allclose(rates, [[200.0, 0.0, 0.0], [100.0, 100.0, 0.0]])
    with pytest.raises(ConfigError, match=r"below n_neurons"):
        spike_rates([0.001], [3], 3, duration_s=0.02)


def test_rate_traces_lines_for_few_neurons_heat_map_for_many():
    t = np.linspace(0.0, 0.1, 11)
    few = plot_rate_traces(t, np.ones((11, 3)), labels=["a", "b", "c"])
    assert len(few.axes[0].lines) == 3
    many = plot_rate_traces(t, np.arange(11 * 40.0).reshape(11, 40), max_lines=12)
    assert many.axes[0].images[0].get_array().shape == (40, 11)
    with pytest.raises(ConfigError, match=r"'rates'.*T = len\(times\) = 11"):
        plot_rate_traces(t, np.ones((10, 2)))
