"""Conformance checks and toy problems for rules and substrates.

``check_rule`` (after Gymnasium's ``check_env``) runs the contract every rule must
meet: ``tell`` is pure (same inputs, same outputs), updates have the weights' keys
and shapes, and the rule lowers the loss of a small linear-regression problem.
``solve`` trains a rule on that problem and returns the final loss.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from spiking_synrl.evaluate import evaluate_proposal
from spiking_synrl.rules.base import LearningRule
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.tasks.base import Task
from spiking_synrl.training.step import TrainState, train_step
from spiking_synrl.types import Batch

__all__ = ["ToyRegression", "check_rule", "solve", "toy_problem"]


class ToyRegression(Task):
    """Linear teacher ``y = x A`` with 4 inputs and 2 outputs; 64 samples, MSE."""

    name = "toy-regression"

    def __init__(self, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.n_inputs, self.n_outputs, self.loss_name = 4, 2, "mse"
        x = rng.standard_normal((64, 4))
        a = rng.standard_normal((4, 2)) * 0.5
        batch = Batch(x, x @ a)
        self.splits = {"train": batch, "val": batch}


def toy_problem(seed: int = 0) -> tuple[MLP, ToyRegression, dict[str, np.ndarray]]:
    """A 4-2 linear network (no hidden layer), its task and zero weights."""
    net = MLP(4, hidden=(), n_outputs=2, bias=False)
    weights = {k: np.zeros(s) for k, s in net.weight_spec.shapes.items()}
    return net, ToyRegression(seed), weights


def solve(rule: LearningRule[Any], steps: int = 200, seed: int = 0) -> float:
    """Train ``rule`` on :func:`toy_problem` for ``steps`` steps; final mean loss."""
    net, task, weights = toy_problem(seed)
    rng = np.random.default_rng(seed)
    state = TrainState(0, weights, rule.init(weights, rng))
    for _ in range(steps):
        state, _ = train_step(rule, net, task, state, rng)
    batch = task.split("train")
    return float(np.mean(task.loss(net.forward(state.weights, batch.inputs).outputs, batch)))


def check_rule(rule: LearningRule[Any], steps: int = 300, seed: int = 0) -> None:
    """Raise AssertionError if ``rule`` breaks the rule contract.

    Checks: ``tell`` is a pure function of its inputs; the updates carry only
    weight keys with matching shapes; training lowers the toy loss by half.
    """
    net, task, weights = toy_problem(seed)
    rng = np.random.default_rng(seed)
    state = rule.init(weights, rng)
    proposal, state = rule.ask(state, weights, rng)
    batch = task.split("train")
    evaluations = evaluate_proposal(net, task, proposal, batch, np.random.default_rng(1))
    u1, _, m1 = rule.tell(state, proposal, evaluations)
    u2, _, m2 = rule.tell(state, proposal, evaluations)
    assert set(u1) <= set(weights), f"unknown update keys {set(u1) - set(weights)}"
    for k, u in u1.items():
        assert u.shape == weights[k].shape, f"update {k!r} has shape {u.shape}"
        assert np.array_equal(u, u2[k]), f"tell is not pure: update {k!r} differs"
    assert m1.keys() == m2.keys()
    start = float(np.mean(task.loss(net.forward(weights, batch.inputs).outputs, batch)))
    final = solve(rule, steps=steps, seed=seed)
    assert final < 0.5 * start, f"{rule!r} did not halve the toy loss: {start:.4g} -> {final:.4g}"
