"""Tests of Dopamine (reconstruction): contract, rate adaptation, XOR, digits vs WP."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from spiking_synrl.errors import ConfigError
from spiking_synrl.evaluate import evaluate_proposal, evaluate_weights
from spiking_synrl.rules import make_rule
from spiking_synrl.rules.dopamine import RPE_FORMS, Dopamine, DopamineState
from spiking_synrl.rules.weight_perturbation import WeightPerturbation
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.tasks import make_task
from spiking_synrl.testing import (
    check_rule,
    rnn_mackey_glass_run,
    toy_problem,
    xor_steps_to_solve,
)
from spiking_synrl.training.step import TrainState, train_step
from spiking_synrl.types import Evaluation, Forward

# Tuned on XOR (2-4-1 tanh, full batch): all 10 seeds 0-9 solved within 140 steps.
XOR_DOPAMINE = {"sigma": 1e-3, "eta0": 0.1}
XOR_STEPS = 500


def _fake(losses: tuple[float, float]) -> list[Evaluation]:
    """Evaluations of the unperturbed and the perturbed candidate with given mean losses."""
    return [Evaluation(np.full(4, loss), Forward(np.zeros((4, 2)))) for loss in losses]


def _drive(rule: Dopamine, losses: list[tuple[float, float]]) -> list[float]:
    """Feed (L0, L1) pairs to ``tell``; the rate after each step."""
    _, _, weights = toy_problem()
    rng = np.random.default_rng(0)
    state = rule.init(weights, rng)
    etas = []
    for pair in losses:
        proposal, state = rule.ask(state, weights, rng)
        _, state, _ = rule.tell(state, proposal, _fake(pair))
        etas.append(state.eta)
    return etas


@pytest.mark.parametrize("rpe", RPE_FORMS)
@pytest.mark.parametrize("cap", [True, False])
def test_check_rule(rpe: str, cap: bool) -> None:
    check_rule(Dopamine(sigma=1e-3, eta0=0.01, rpe=rpe, cap=cap))


def test_registry_name_and_state_fields() -> None:
    rule = make_rule("dopamine", rpe="baseline", kappa=0.5)
    assert isinstance(rule, Dopamine)
    assert rule.name == "dopamine" and rule.evals_per_step == 2
    state = rule.init({"a->b": np.zeros(2)}, np.random.default_rng(0))
    assert isinstance(state, DopamineState) and state.eta == rule.eta0 and state.loss is None


@pytest.mark.parametrize("rpe", ["unperturbed", "baseline"])
def test_better_than_expected_raises_rate(rpe: str) -> None:
    """The unperturbed loss keeps falling faster than predicted: the rate rises."""
    rule = Dopamine(sigma=1e-3, eta0=0.03, beta=0.1, rpe=rpe)
    etas = _drive(rule, [(1.0 - 0.01 * t, 1.0 - 0.01 * t - 1e-5) for t in range(10)])
    assert etas[0] == pytest.approx(0.03)  # nothing to compare with at the first step
    assert all(b > a for a, b in itertools.pairwise(etas[1:]))
    assert etas[-1] == pytest.approx(0.03 * np.exp(0.1 * 9), rel=0.05)


@pytest.mark.parametrize("rpe", ["unperturbed", "baseline"])
def test_worse_than_expected_lowers_rate(rpe: str) -> None:
    """The unperturbed loss rises after each step: the rate falls."""
    rule = Dopamine(sigma=1e-3, eta0=0.03, beta=0.1, rpe=rpe)
    etas = _drive(rule, [(1.0 + 0.01 * t, 1.0 + 0.01 * t - 1e-5) for t in range(10)])
    assert all(b < a for a, b in itertools.pairwise(etas[1:]))
    assert etas[-1] < 0.03 * np.exp(-0.1 * 8)


def test_probe_form_follows_the_perturbation() -> None:
    """The literal guess: a helpful perturbation (L1 < L0) raises eta, a bad one lowers it."""
    rule = Dopamine(sigma=1e-3, eta0=0.03, beta=1.0, rpe="probe", cap=False)
    up = _drive(rule, [(1.0, 0.9)] * 5)
    down = _drive(rule, [(1.0, 1.1)] * 5)
    assert up == sorted(up) and up[-1] > 0.03
    assert down == sorted(down, reverse=True) and down[-1] < 0.03


def test_rate_stays_in_bounds() -> None:
    rule = Dopamine(sigma=1e-3, eta0=0.03, beta=1.0, eta_min=0.01, eta_max=0.05, cap=False)
    up = _drive(rule, [(1.0 - 0.01 * t, 1.0 - 0.01 * t - 1e-5) for t in range(10)])
    down = _drive(rule, [(1.0 + 0.01 * t, 1.0 + 0.01 * t - 1e-5) for t in range(10)])
    assert max(up) == pytest.approx(0.05) and min(down) == pytest.approx(0.01)


def test_cap_bounds_the_promised_gain() -> None:
    """A cliff (huge delta) gives a step whose linear prediction is at most the loss."""
    _, _, weights = toy_problem()
    rule = Dopamine(sigma=1e-3, eta0=1.0)
    rng = np.random.default_rng(0)
    proposal, state = rule.ask(rule.init(weights, rng), weights, rng)
    updates, state, metrics = rule.tell(state, proposal, _fake((0.5, 0.4)))
    delta, eta = 0.1, metrics["eta"]
    assert eta * delta**2 / 1e-3**2 == pytest.approx(0.5)  # = L0
    assert state.eta == pytest.approx(eta)
    xi = proposal.private["xi"]["in->out"][0]
    np.testing.assert_allclose(updates["in->out"], eta * delta / 1e-3 * xi)


def test_rate_finds_the_curvature_scale() -> None:
    """On a quadratic the rate climbs to ~1/tr(H), the best weight-perturbation rate."""
    net, task, weights = toy_problem()
    x = task.split("train").inputs
    best = 1.0 / (2.0 * np.mean(np.sum(x * x, axis=1)))  # H = E[x x^T] (x) I_2
    rule = Dopamine(sigma=1e-3, eta0=0.01, beta=0.1)
    rng = np.random.default_rng(0)
    state = TrainState(0, weights, rule.init(weights, rng))
    etas = []
    for _ in range(120):
        state, metrics = train_step(rule, net, task, state, rng)
        etas.append(metrics["eta"])
    assert 0.5 * best < max(etas) < 2.0 * best


def test_tell_is_pure_and_leaves_inputs_alone() -> None:
    net, task, weights = toy_problem()
    rule = Dopamine(sigma=1e-3, eta0=0.01, rpe="baseline")
    rng = np.random.default_rng(0)
    state = rule.init(weights, rng)
    for _ in range(3):  # reach a state with a pending expectation and baselines
        proposal, state = rule.ask(state, weights, rng)
        evaluations = evaluate_proposal(net, task, proposal, task.split("train"), rng)
        _, state, _ = rule.tell(state, proposal, evaluations)
        weights = {k: v + 0.01 for k, v in weights.items()}
    before = dict(vars(state))
    xi = proposal.private["xi"]["in->out"].copy()
    u1, s1, m1 = rule.tell(state, proposal, evaluations)
    u2, s2, m2 = rule.tell(state, proposal, evaluations)
    assert dict(vars(state)) == before
    np.testing.assert_array_equal(proposal.private["xi"]["in->out"], xi)
    np.testing.assert_array_equal(u1["in->out"], u2["in->out"])
    assert vars(s1) == vars(s2) and m1 == m2
    assert set(m1) >= {"rpe", "eta", "baseline", "delta", "update_norm", "loss"}


def test_deterministic() -> None:
    def trajectory() -> tuple[np.ndarray, float]:
        net, task, weights = toy_problem()
        rule = Dopamine(sigma=1e-3, eta0=0.01)
        rng = np.random.default_rng(7)
        state = TrainState(0, weights, rule.init(weights, rng))
        for _ in range(30):
            state, _ = train_step(rule, net, task, state, rng)
        return state.weights["in->out"], state.rule_state.eta

    (w1, e1), (w2, e2) = trajectory(), trajectory()
    np.testing.assert_array_equal(w1, w2)
    assert e1 == e2


def test_rnn_learns_and_leaves_decorrelation_alone() -> None:
    weights, final, start, end = rnn_mackey_glass_run(Dopamine(sigma=1e-3, eta0=0.05))
    np.testing.assert_array_equal(final["decor:hid"], weights["decor:hid"])
    assert end < 0.5 * start


def test_solves_xor() -> None:
    """2-4-1 tanh MLP: all four patterns right for >= 4 of 5 seeds within 500 steps."""
    steps = [xor_steps_to_solve(Dopamine(**XOR_DOPAMINE), seed, max_steps=XOR_STEPS)
             for seed in range(5)]
    assert sum(s is not None for s in steps) >= 4, steps


@pytest.mark.parametrize(
    ("params", "match"),
    [
        ({"sigma": -0.1}, r"The 'sigma' parameter of Dopamine must be a float in \(0, inf\)"),
        ({"eta0": 0.0}, "'eta0'"),
        ({"beta": -1.0}, r"'beta' parameter .* \[0, inf\)"),
        ({"kappa": 0.0}, r"'kappa' parameter .* \(0, 1\]"),
        ({"kappa": 1.5}, "'kappa'"),
        ({"eta0": 1.0, "eta_max": 0.5}, r"'eta0' parameter of Dopamine must lie in \[eta_min"),
        ({"eta0": 1e-3, "eta_min": 0.01}, "'eta0'"),
        ({"rpe": "baseln"}, "Did you mean: 'baseline'"),
        ({"cap": 1}, "'cap' parameter .* bool"),
    ],
)
def test_bad_params(params: dict, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        Dopamine(**params)


# Tuned on digits, full batch, 64-32-10 tanh MLP, with the same grid effort for both
# (benchmarks/compare_dopamine_wp.py): WP eta in {0.02, 0.03, 0.05} x sigma in
# {1e-3, 1e-2} -> eta 0.03, sigma 1e-3; Dopamine eta0 in {0.01, 0.03, 0.1} x beta in
# {0.1, 0.3} -> eta0 0.03, beta 0.1.
DIGITS_WP = {"sigma": 1e-3, "eta": 0.03}
DIGITS_DOPAMINE = {"sigma": 1e-3, "eta0": 0.03, "beta": 0.1}
DIGITS_EVALS = 6000


def _digits_val_loss(rule: Dopamine | WeightPerturbation, seed: int) -> tuple[float, float]:
    task = make_task("digits", seed=0)
    net = MLP(64, (32,), 10, activation="tanh")
    rng = np.random.default_rng(seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    while state.n_evals < DIGITS_EVALS:
        state, _ = train_step(rule, net, task, state, rng)
    assert state.n_evals == DIGITS_EVALS  # 2 evaluations per step for both rules
    val = evaluate_weights(net, task, state.weights, "val")["loss"]
    return val, evaluate_weights(net, task, state.weights, "train")["loss"]


@pytest.mark.slow
def test_beats_weight_perturbation_on_digits_at_equal_evaluations() -> None:
    """6,000 loss evaluations, full batch: lower validation loss for each of 3 seeds."""
    wp = [_digits_val_loss(WeightPerturbation(**DIGITS_WP), seed) for seed in range(3)]
    dop = [_digits_val_loss(Dopamine(**DIGITS_DOPAMINE), seed) for seed in range(3)]
    for (wp_val, wp_train), (dop_val, dop_train) in zip(wp, dop, strict=True):
        assert dop_val < wp_val - 0.01, (wp, dop)
        assert dop_train < 0.9 * wp_train, (wp, dop)
    assert np.mean([d[0] for d in dop]) < np.mean([w[0] for w in wp]) - 0.02, (wp, dop)
