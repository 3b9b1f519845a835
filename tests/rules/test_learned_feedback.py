"""Tests of LearnedFeedback (Lansdell et al. 2020) and FeedbackAlignment (Lillicrap et al. 2016)."""

from __future__ import annotations

import numpy as np
import pytest

from spiking_synrl.errors import ConfigError
from spiking_synrl.evaluate import evaluate_proposal, evaluate_weights
from spiking_synrl.rules import make_rule
from spiking_synrl.rules.learned_feedback import (
    FeedbackAlignment,
    LearnedFeedback,
    feedback_angle,
    feedback_angles,
)
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.tasks import make_task
from spiking_synrl.testing import GaussianTask, check_rule, train_steps
from spiking_synrl.training.step import TrainState, train_step

RULES = [
    FeedbackAlignment(lr=0.1),
    LearnedFeedback(lr=0.1),
    LearnedFeedback(lr=0.1, feedback_update="sgd"),
]


@pytest.mark.parametrize("rule", RULES, ids=repr)
def test_check_rule(rule):
    check_rule(rule)


def test_registry():
    assert isinstance(make_rule("learned-feedback", sigma=0.1), LearnedFeedback)
    assert isinstance(make_rule("feedback_alignment", lr=0.5), FeedbackAlignment)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"sigma": 0.0}, "'sigma' parameter of LearnedFeedback must be a float in \\(0, inf\\)"),
        ({"lr": -1.0}, "'lr' parameter of LearnedFeedback"),
        ({"feedback_update": "lsq"}, "Did you mean: 'lstsq'"),
        ({"gamma": 0}, "'gamma' parameter"),
        ({"warmup_steps": 1.5}, "'warmup_steps' parameter"),
        ({"optimizer": "rmsprop"}, "'optimizer' parameter"),
    ],
)
def test_invalid_parameters(kwargs, match):
    with pytest.raises(ConfigError, match=match):
        LearnedFeedback(**kwargs)


def test_fa_needs_positive_lr():
    with pytest.raises(ConfigError, match="'lr' parameter of FeedbackAlignment"):
        FeedbackAlignment(lr=0.0)


def test_feedback_angle():
    w = np.random.default_rng(0).standard_normal((5, 3))
    assert feedback_angle(w, w.T) == pytest.approx(0.0, abs=1e-6)
    assert feedback_angle(w, -w.T) == pytest.approx(180.0)
    assert feedback_angle(w, np.zeros((3, 5))) == 90.0


def _hidden_setup():
    net = MLP(6, (5, 4), 3, activation="sigmoid")
    task = GaussianTask(6, 3, n=16)
    rng = np.random.default_rng(0)
    return net, task, net.init_weights(rng), rng


def test_proposal_and_feedback_shapes():
    _, _, weights, rng = _hidden_setup()
    rule = LearnedFeedback(sigma=0.05)
    state = rule.init(weights, rng)
    assert sorted(state.feedback) == ["hid1->hid2", "hid2->out"]  # not the first layer's
    for key, b in state.feedback.items():
        assert b.shape == weights[key].T.shape
    proposal, _ = rule.ask(state, weights, rng)
    assert len(proposal.candidates) == 2
    assert tuple(proposal.node_noise) == (0.0, 0.05)
    assert proposal.noise_site == "post" and proposal.with_grads
    assert proposal.feedback is state.feedback
    fa_state = FeedbackAlignment().init(weights, rng)
    assert feedback_angles(weights, fa_state).keys() == state.feedback.keys()


@pytest.mark.parametrize("update", ["lstsq", "sgd"])
def test_tell_is_pure_with_hidden_layers(update):
    net, task, weights, rng = _hidden_setup()
    rule = LearnedFeedback(feedback_update=update)
    state = rule.init(weights, rng)
    proposal, state = rule.ask(state, weights, rng)
    evs = evaluate_proposal(net, task, proposal, task.split("train"), rng)
    copies = {k: v.copy() for k, v in {**state.feedback, **state.V, **state.S}.items()}
    u1, s1, m1 = rule.tell(state, proposal, evs)
    u2, s2, m2 = rule.tell(state, proposal, evs)
    assert m1 == m2
    for k in u1:
        np.testing.assert_array_equal(u1[k], u2[k])
    for k in s1.feedback:
        np.testing.assert_array_equal(s1.feedback[k], s2.feedback[k])
    for k, v in {**state.feedback, **state.V, **state.S}.items():
        np.testing.assert_array_equal(v, copies[k])  # state not mutated in place


def test_warmup_learns_feedback_only():
    net, task, weights, _ = _hidden_setup()
    rule = LearnedFeedback(lr=0.5, warmup_steps=3)
    rng = np.random.default_rng(1)
    state = TrainState(0, weights, rule.init(weights, rng))
    for _ in range(3):
        state, _ = train_step(rule, net, task, state, rng)
    for k, w in weights.items():
        np.testing.assert_array_equal(state.weights[k], w)
    assert np.linalg.norm(state.rule_state.feedback["hid2->out"]) > 0
    state, _ = train_step(rule, net, task, state, rng)
    assert not np.array_equal(state.weights["in->hid1"], weights["in->hid1"])


def test_feedback_alignment_keeps_feedback_fixed():
    net, task, weights, _ = _hidden_setup()
    rule = FeedbackAlignment(lr=0.5)
    rng = np.random.default_rng(2)
    state = TrainState(0, weights, rule.init(weights, rng))
    b0 = {k: v.copy() for k, v in state.rule_state.feedback.items()}
    for _ in range(5):
        state, metrics = train_step(rule, net, task, state, rng)
    for k, b in b0.items():
        np.testing.assert_array_equal(state.rule_state.feedback[k], b)
    assert set(metrics) >= {"angle:hid1->hid2", "angle:hid2->out"}


# -- learning claims -------------------------------------------------------------------
@pytest.mark.parametrize(
    "rule",
    [
        FeedbackAlignment(lr=0.3),
        LearnedFeedback(lr=0.3),
        LearnedFeedback(lr=0.3, feedback_update="sgd", feedback_lr=0.1),
    ],
    ids=repr,
)
def test_solves_xor(rule):
    """Solves XOR (2-8-1 tanh, full batch) for >= 4 of 5 seeds within 300 steps."""
    task = make_task("xor")
    net = MLP(2, (8,), 1, activation="tanh")
    solved = 0
    for seed in range(5):
        state = train_steps(rule, net, task, 300, seed)
        solved += evaluate_weights(net, task, state.weights)["accuracy"] == 1.0
    assert solved >= 4


@pytest.mark.parametrize(
    ("rule", "steps"),
    [
        (LearnedFeedback(lr=0.0, sigma=0.01), 300),
        (LearnedFeedback(lr=0.0, sigma=0.01, feedback_update="sgd", feedback_lr=0.01), 1000),
    ],
    ids=["lstsq", "sgd"],
)
def test_fixed_w_top_feedback_aligns(rule, steps):
    """Fixed W, 64-50-20-10 sigmoid, Gaussian data, batch 32: angle(B, W^T) < 20 deg
    for the output layer's feedback (10.6 and 13.6 deg measured), at W's scale."""
    net = MLP(64, (50, 20), 10, activation="sigmoid")
    state = train_steps(rule, net, GaussianTask(64, 10), steps, seed=0, batch_size=32)
    angles = feedback_angles(state.weights, state.rule_state)
    assert angles["hid2->out"] < 20.0
    # Per-sample estimates and per-sample errors: B has W's scale, not B-times it.
    ratio = np.linalg.norm(state.rule_state.feedback["hid2->out"]) / np.linalg.norm(
        state.weights["hid2->out"]
    )
    assert 0.8 < ratio < 1.25


def test_fixed_w_all_feedback_aligns_lstsq():
    """Fixed W, 64-50-20-10 tanh, batch 128: every B within 20 deg of W^T in 2,000 steps
    (measured 14.2 / 2.3 deg; the deeper matrix sees noise from both layers)."""
    net = MLP(64, (50, 20), 10, activation="tanh")
    rule = LearnedFeedback(lr=0.0, sigma=0.01)
    state = train_steps(rule, net, GaussianTask(64, 10), 2000, seed=0, batch_size=128)
    angles = feedback_angles(state.weights, state.rule_state)
    assert max(angles.values()) < 20.0, angles


def test_digits_at_least_as_good_as_feedback_alignment():
    """Digits, 64-50-20-10 sigmoid, CE, batch 32, 1,500 steps, seeds 0-2, each rule at
    its tuned SGD rate: LearnedFeedback's mean val accuracy >= FA's - 0.01 and its val
    loss lower (measured 0.958 / 0.134 vs 0.950 / 0.175)."""
    net = MLP(64, (50, 20), 10, activation="sigmoid")
    scores = {}
    for name, rule in {
        "lf": LearnedFeedback(lr=1.0),
        "fa": FeedbackAlignment(lr=2.0),
    }.items():
        runs = []
        for seed in range(3):
            task = make_task("digits", seed=seed)
            state = train_steps(rule, net, task, 1500, seed, batch_size=32)
            m = evaluate_weights(net, task, state.weights)
            runs.append((m["accuracy"], m["loss"]))
        scores[name] = np.mean(runs, axis=0)
    assert scores["lf"][0] >= scores["fa"][0] - 0.01, scores
    assert scores["lf"][1] < scores["fa"][1], scores
