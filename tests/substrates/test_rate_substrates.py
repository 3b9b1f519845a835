"""MLP and RNN substrates: shapes, population evaluation, node noise, exact gradients."""

from __future__ import annotations

import numpy as np
import pytest

from spiking_synrl.errors import ConfigError, WeightSpecError
from spiking_synrl.losses import cross_entropy, cross_entropy_grad, mse, mse_grad
from spiking_synrl.substrates import MLP, RNN
from spiking_synrl.types import stack_weights


def _finite_difference_check(net, weights, loss_fn, grads, rng, n_probe=6, eps=1e-6):
    for key, grad in grads.items():
        for _ in range(n_probe):
            idx = tuple(int(rng.integers(0, s)) for s in weights[key].shape)
            plus = {k: v.copy() for k, v in weights.items()}
            minus = {k: v.copy() for k, v in weights.items()}
            plus[key][idx] += eps
            minus[key][idx] -= eps
            numeric = (loss_fn(plus) - loss_fn(minus)) / (2 * eps)
            assert grad[idx] == pytest.approx(numeric, rel=1e-5, abs=1e-8), (key, idx)


@pytest.mark.parametrize("activation", ["tanh", "relu", "sigmoid"])
@pytest.mark.parametrize("hidden", [(), (5,), (6, 4)])
def test_mlp_backprop_matches_finite_differences(activation, hidden, rng):
    net = MLP(3, hidden, 4, activation=activation)
    w = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in net.init_weights(rng).items()}
    x, y = rng.standard_normal((7, 3)), rng.integers(0, 4, 7)

    def loss(ww):
        return cross_entropy(net.forward(ww, x).outputs, y).mean()

    fwd = net.forward(w, x)
    grads, deltas = net.backward(w, fwd, cross_entropy_grad(fwd.outputs, y) / 7)
    assert set(grads) == set(w)
    assert deltas["out"].shape == (7, 4)
    _finite_difference_check(net, w, loss, grads, rng)


@pytest.mark.parametrize("bias,decorrelation", [(False, False), (True, True)])
def test_bptt_matches_finite_differences(bias, decorrelation, rng):
    net = RNN(2, 6, 3, bias=bias, decorrelation=decorrelation, input_decorrelation=decorrelation)
    w = net.init_weights(rng)
    w = {k: v + 0.1 * rng.standard_normal(v.shape) for k, v in w.items()}
    x, y = rng.standard_normal((3, 9, 2)), rng.standard_normal((3, 9, 3))

    def loss(ww):
        return mse(net.forward(ww, x).outputs, y).sum(-1).mean()

    fwd = net.forward(w, x)
    grads, _ = net.backward(w, fwd, mse_grad(fwd.outputs, y) / 3)
    assert not any(k.startswith("decor:") for k in grads)
    _finite_difference_check(net, w, loss, grads, rng)


def test_population_equals_one_by_one(rng):
    net = MLP(4, (8,), 3)
    cands = [net.init_weights(rng) for _ in range(5)]
    x = rng.standard_normal((6, 4))
    pop = net.forward_population(stack_weights(cands), x).outputs
    for k, w in enumerate(cands):
        np.testing.assert_allclose(pop[k], net.forward(w, x).outputs, atol=1e-12)
    rnn = RNN(2, 5, 1)
    cands = [rnn.init_weights(rng) for _ in range(3)]
    xs = rng.standard_normal((2, 7, 2))
    pop = rnn.forward_population(stack_weights(cands), xs).outputs
    for k, w in enumerate(cands):
        np.testing.assert_allclose(pop[k], rnn.forward(w, xs).outputs, atol=1e-12)


def test_node_noise_only_on_noisy_candidates_and_recurrent_noise_propagates(rng):
    rnn = RNN(1, 4, 1)
    w = rnn.init_weights(rng)
    x = rng.standard_normal((2, 6, 1))
    fwd = rnn.forward_population(stack_weights([w, w]), x, node_noise=np.array([0.0, 0.1]),
                                 rng=np.random.default_rng(0))
    assert np.all(fwd.traces["noise:hid"][0] == 0)
    assert np.std(fwd.traces["noise:hid"][1]) == pytest.approx(0.1, rel=0.3)
    d_pre = fwd.traces["pre:hid"][1] - fwd.traces["pre:hid"][0]
    # after the first step the difference holds the injected noise plus its echo
    assert not np.allclose(d_pre[:, 1:], fwd.traces["noise:hid"][1][:, 1:])
    np.testing.assert_allclose(d_pre[:, 0], fwd.traces["noise:hid"][1][:, 0])


def test_post_site_noise_skips_output_layer(rng):
    net = MLP(3, (4,), 2)
    w = net.init_weights(rng)
    fwd = net.forward(w, np.ones((5, 3)), node_noise=0.5, noise_site="post", rng=rng)
    assert "noise:hid" in fwd.traces and "noise:out" not in fwd.traces


def test_feedback_matrix_replaces_transpose(rng):
    net = MLP(3, (4,), 2)
    w = net.init_weights(rng)
    x, y = rng.standard_normal((5, 3)), rng.integers(0, 2, 5)
    fwd = net.forward(w, x)
    d = cross_entropy_grad(fwd.outputs, y) / 5
    exact, _ = net.backward(w, fwd, d, feedback={"hid->out": w["hid->out"].T.copy()})
    ref, _ = net.backward(w, fwd, d)
    np.testing.assert_allclose(exact["in->hid"], ref["in->hid"])
    other, _ = net.backward(w, fwd, d, feedback={"hid->out": rng.standard_normal((2, 4))})
    assert not np.allclose(other["in->hid"], ref["in->hid"])
    np.testing.assert_allclose(other["hid->out"], ref["hid->out"])  # top layer is local
    with pytest.raises(WeightSpecError, match="must have shape"):
        net.backward(w, fwd, d, feedback={"hid->out": np.zeros((4, 2))})


def test_bad_weights_and_params_get_clear_errors(rng):
    net = MLP(3, (4,), 2)
    w = net.init_weights(rng)
    with pytest.raises(WeightSpecError, match=r"'in->hid'.*shape \(3, 4\).*\(4, 3\)"):
        net.forward({**w, "in->hid": np.zeros((4, 3))}, np.zeros((1, 3)))
    with pytest.raises(WeightSpecError, match="Missing"):
        net.forward({"in->hid": w["in->hid"]}, np.zeros((1, 3)))
    with pytest.raises(WeightSpecError, match="finite"):
        net.forward({**w, "hid->out": np.full((4, 2), np.nan)}, np.zeros((1, 3)))
    with pytest.raises(ConfigError, match=r"'inputs'.*shape"):
        net.forward(w, np.zeros((1, 5)))
    with pytest.raises(ConfigError, match=r"'activation'.*Did you mean: 'tanh'"):
        MLP(3, (4,), 2, activation="tahn")
    with pytest.raises(ConfigError, match="'n_hidden' parameter of RNN"):
        RNN(1, 0, 1)
    with pytest.raises(ConfigError, match="'rng'"):
        net.forward(w, np.zeros((1, 3)), node_noise=0.1, rng=None)
