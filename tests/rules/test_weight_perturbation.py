"""Tests of WeightPerturbation: contract, gradient estimate, XOR, RNN, errors."""

from __future__ import annotations

import numpy as np
import pytest

from spiking_synrl.errors import ConfigError
from spiking_synrl.evaluate import evaluate_proposal
from spiking_synrl.rules import make_rule
from spiking_synrl.rules.weight_perturbation import WeightPerturbation
from spiking_synrl.substrates.rnn import RNN
from spiking_synrl.testing import (
    check_rule,
    rnn_mackey_glass_run,
    toy_problem,
    xor_steps_to_solve,
)
from spiking_synrl.training.step import TrainState, train_step
from spiking_synrl.types import Proposal

# Tuned on XOR (2-4-1 tanh, full batch): all 10 seeds 0-9 solved within 360 steps.
XOR_WP = {"sigma": 1e-3, "eta": 0.1}
XOR_STEPS = 500


@pytest.mark.parametrize(
    "params",
    [
        {"eta": 0.05},
        {"eta": 0.05, "antithetic": True},
        {"eta": 0.05, "n_perturbations": 3},
        {"eta": 0.05, "n_perturbations": 2, "antithetic": True},
        {"eta": 0.05, "optimizer": "adam"},
    ],
    ids=["plain", "antithetic", "k3", "antithetic-k2", "adam"],
)
def test_check_rule(params: dict) -> None:
    check_rule(WeightPerturbation(**params))


def test_registry_name() -> None:
    rule = make_rule("weight_perturbation", sigma=0.01, antithetic=True)
    assert isinstance(rule, WeightPerturbation)
    assert rule.name == "weight-perturbation"


@pytest.mark.parametrize(("antithetic", "k", "n"), [(False, 1, 2), (False, 3, 4), (True, 2, 4)])
def test_candidates(antithetic: bool, k: int, n: int) -> None:
    _, _, weights = toy_problem()
    rule = WeightPerturbation(sigma=0.1, n_perturbations=k, antithetic=antithetic)
    rng = np.random.default_rng(0)
    proposal, _ = rule.ask(rule.init(weights, rng), weights, rng)
    assert len(proposal.candidates) == n == rule.evals_per_step
    xi = proposal.private["xi"]["in->out"]
    if antithetic:
        for i in range(k):
            np.testing.assert_allclose(proposal.candidates[2 * i]["in->out"], 0.1 * xi[i])
            np.testing.assert_allclose(proposal.candidates[2 * i + 1]["in->out"], -0.1 * xi[i])
    else:
        np.testing.assert_array_equal(proposal.candidates[0]["in->out"], weights["in->out"])
        np.testing.assert_allclose(proposal.candidates[k]["in->out"], 0.1 * xi[k - 1])


@pytest.mark.parametrize("antithetic", [False, True])
def test_gradient_estimate_matches_backprop(antithetic: bool) -> None:
    """Averaged over many directions, the estimate is the gradient (cosine > 0.98)."""
    net, task, _ = toy_problem()
    weights = {"in->out": np.random.default_rng(3).normal(size=(4, 2))}
    batch = task.split("train")
    rng = np.random.default_rng(0)
    exact = evaluate_proposal(net, task, Proposal((weights,), with_grads=True), batch, rng)
    grad = exact[0].grads["in->out"]
    rule = WeightPerturbation(sigma=1e-4, eta=1.0, n_perturbations=4000, antithetic=antithetic)
    proposal, state = rule.ask(rule.init(weights, rng), weights, rng)
    updates, _, metrics = rule.tell(
        state, proposal, evaluate_proposal(net, task, proposal, batch, rng)
    )
    estimate = -updates["in->out"]
    cosine = np.sum(estimate * grad) / np.linalg.norm(estimate) / np.linalg.norm(grad)
    assert cosine > 0.98
    assert np.linalg.norm(estimate) == pytest.approx(np.linalg.norm(grad), rel=0.1)
    assert metrics["update_norm"] == pytest.approx(np.linalg.norm(updates["in->out"]))


def test_tell_is_pure_and_leaves_inputs_alone() -> None:
    net, task, weights = toy_problem()
    rule = WeightPerturbation(eta=0.05, optimizer="adam", n_perturbations=2)
    rng = np.random.default_rng(0)
    state = rule.init(weights, rng)
    proposal, state = rule.ask(state, weights, rng)
    evaluations = evaluate_proposal(net, task, proposal, task.split("train"), rng)
    xi = {k: v.copy() for k, v in proposal.private["xi"].items()}
    mu = {k: v.copy() for k, v in state.opt.mu.items()}
    u1, s1, m1 = rule.tell(state, proposal, evaluations)
    u2, s2, m2 = rule.tell(state, proposal, evaluations)
    for k in xi:
        np.testing.assert_array_equal(proposal.private["xi"][k], xi[k])
        np.testing.assert_array_equal(state.opt.mu[k], mu[k])
        np.testing.assert_array_equal(u1[k], u2[k])
        np.testing.assert_array_equal(s1.opt.nu[k], s2.opt.nu[k])
    assert m1 == m2
    assert state.opt.count == 0 and s1.opt.count == 1


def test_rpe_metric_sign() -> None:
    """rpe = L0 - L1 > 0 when the perturbation lowered the loss."""
    net, task, weights = toy_problem()
    rule = WeightPerturbation(sigma=0.1)
    rng = np.random.default_rng(0)
    proposal, state = rule.ask(rule.init(weights, rng), weights, rng)
    evaluations = evaluate_proposal(net, task, proposal, task.split("train"), rng)
    _, _, metrics = rule.tell(state, proposal, evaluations)
    losses = [ev.mean_loss for ev in evaluations]
    assert metrics["rpe"] == pytest.approx(losses[0] - losses[1])
    assert metrics["loss"] == pytest.approx(losses[0])


def test_deterministic() -> None:
    def trajectory() -> dict[str, np.ndarray]:
        net, task, weights = toy_problem()
        rule = WeightPerturbation(eta=0.05, n_perturbations=2, antithetic=True)
        rng = np.random.default_rng(7)
        state = TrainState(0, weights, rule.init(weights, rng))
        for _ in range(20):
            state, _ = train_step(rule, net, task, state, rng)
        return state.weights

    a, b = trajectory(), trajectory()
    np.testing.assert_array_equal(a["in->out"], b["in->out"])


def test_rnn_leaves_non_synapses_alone_and_learns() -> None:
    """Generic over the weight dict: decorrelation matrices are not perturbed."""
    rule = WeightPerturbation(sigma=1e-3, eta=0.05, antithetic=True)
    rng = np.random.default_rng(0)
    weights = RNN(1, n_hidden=8, n_outputs=1, decorrelation=True).init_weights(rng)
    proposal, _ = rule.ask(rule.init(weights, rng), weights, rng)
    assert "decor:hid" not in proposal.private["xi"]
    for cand in proposal.candidates:
        np.testing.assert_array_equal(cand["decor:hid"], weights["decor:hid"])
    weights, final, start, end = rnn_mackey_glass_run(rule)
    np.testing.assert_array_equal(final["decor:hid"], weights["decor:hid"])
    assert end < 0.5 * start


def test_solves_xor() -> None:
    """2-4-1 tanh MLP: all four patterns right for >= 4 of 5 seeds within 500 steps."""
    steps = [xor_steps_to_solve(WeightPerturbation(**XOR_WP), seed, max_steps=XOR_STEPS)
             for seed in range(5)]
    assert sum(s is not None for s in steps) >= 4, steps


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"sigma": -0.1}, r"The 'sigma' parameter of WeightPerturbation must be a float in \(0"),
        ({"sigma": 0.0}, "'sigma'"),
        ({"eta": float("nan")}, "'eta'"),
        ({"n_perturbations": 0}, r"'n_perturbations' parameter .* int in \[1, inf\)"),
        ({"n_perturbations": 1.5}, "'n_perturbations'"),
        ({"antithetic": "yes"}, "'antithetic' parameter .* bool"),
        ({"optimizer": "adma"}, "Did you mean: 'adam'"),
    ],
)
def test_bad_params(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        WeightPerturbation(**params)
