"""Gradient baselines: conformance, XOR, digits >= 95 %, BPTT on Mackey-Glass."""

from __future__ import annotations

import pytest

from spiking_synrl.rules.backprop import BPTT, Backprop
from spiking_synrl.substrates import MLP, RNN
from spiking_synrl.tasks import make_task
from spiking_synrl.testing import check_rule
from spiking_synrl.training import Trainer


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_conformance(optimizer):
    check_rule(Backprop(lr=0.05, optimizer=optimizer))


def test_xor_solved_for_at_least_4_of_5_seeds_in_1000_steps():
    task = make_task("xor")
    solved = 0
    for seed in range(5):
        net = MLP(2, (4,), 1, activation="tanh")
        h = Trainer(Backprop(lr=0.5), net, task, seed=seed, eval_every=1000).fit(1000)
        solved += h.final["val_accuracy"] == 1.0
    assert solved >= 4


def test_digits_mlp_reaches_95_percent():
    task = make_task("digits", seed=0)
    net = MLP(64, (32,), 10, activation="relu")
    h = Trainer(
        Backprop(lr=0.05, optimizer="adam"), net, task, seed=0, batch_size=64, eval_every=500
    ).fit(1500)
    assert h.final["val_accuracy"] >= 0.95


def test_bptt_forecasts_mackey_glass_much_better_than_the_mean():
    from spiking_synrl.tasks.mackey_glass import mean_predictor_nrmse

    task = make_task("mackey-glass", seed=0)
    net = RNN(1, 32, 1, bias=True)
    h = Trainer(
        BPTT(lr=0.01, optimizer="adam"), net, task, seed=0, batch_size=8, eval_every=150
    ).fit(150)
    baseline = mean_predictor_nrmse(task.split("test"))
    assert h.final["test_nrmse"] < 0.5 * baseline
