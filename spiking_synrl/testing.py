"""Conformance checks and toy problems for rules and substrates.

``check_rule`` (after Gymnasium's ``check_env``) runs the contract every rule must
meet: ``tell`` is pure (same inputs, same outputs), updates have the weights' keys
and shapes, and the rule lowers the loss of a small linear-regression problem.
``solve`` trains a rule on that problem and returns the final loss;
``train_steps``, ``xor_steps_to_solve`` and ``rnn_mackey_glass_run`` are the shared
learning checks of the rule tests, ``GaussianTask`` their well-conditioned regression.
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

__all__ = [
    "GaussianTask",
    "ToyRegression",
    "check_rule",
    "rnn_mackey_glass_run",
    "solve",
    "toy_problem",
    "train_steps",
    "xor_steps_to_solve",
]


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


class GaussianTask(Task):
    """Gaussian inputs and independent Gaussian targets (MSE): well-conditioned errors."""

    name = "gaussian"

    def __init__(self, n_inputs: int, n_outputs: int, n: int = 1024, seed: int = 0) -> None:
        rng = np.random.default_rng(seed)
        self.n_inputs, self.n_outputs, self.loss_name = n_inputs, n_outputs, "mse"
        batch = Batch(rng.standard_normal((n, n_inputs)), rng.standard_normal((n, n_outputs)))
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


def train_steps(
    rule: LearningRule[Any],
    net: Any,
    task: Task,
    steps: int,
    seed: int = 0,
    batch_size: int | None = None,
) -> TrainState:
    """``steps`` steps of ``rule`` from ``net.init_weights`` (one generator of ``seed``)."""
    rng = np.random.default_rng(seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    for _ in range(steps):
        state, _ = train_step(rule, net, task, state, rng, batch_size=batch_size)
    return state


def xor_steps_to_solve(
    rule: LearningRule[Any], seed: int, hidden: int = 4, max_steps: int = 500
) -> int | None:
    """Steps until a 2-``hidden``-1 tanh MLP gets all four XOR patterns right, or None."""
    from spiking_synrl.tasks import make_task

    task = make_task("xor")
    net = MLP(2, (hidden,), 1, activation="tanh")
    rng = np.random.default_rng(seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    batch = task.split("train")
    for step in range(1, max_steps + 1):
        state, _ = train_step(rule, net, task, state, rng)
        if task.metrics(net.forward(state.weights, batch.inputs).outputs, batch)["accuracy"] == 1:
            return step
    return None


def rnn_mackey_glass_run(
    rule: LearningRule[Any], steps: int = 150, seed: int = 0
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], float, float]:
    """Train an 8-unit RNN with decorrelation on short Mackey-Glass windows (full batch).

    Returns ``(initial weights, final weights, initial loss, final loss)`` on the
    training windows.
    """
    from spiking_synrl.substrates.rnn import RNN
    from spiking_synrl.tasks import make_task

    task = make_task("mackey-glass", n_train=600, n_test=300, window=50, washout=10)
    net = RNN(1, n_hidden=8, n_outputs=1, decorrelation=True)
    rng = np.random.default_rng(seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    batch = task.split("train")
    start = task.metrics(net.forward(weights, batch.inputs).outputs, batch)["loss"]
    for _ in range(steps):
        state, _ = train_step(rule, net, task, state, rng, batch=batch)
    end = task.metrics(net.forward(state.weights, batch.inputs).outputs, batch)["loss"]
    return weights, state.weights, start, end
