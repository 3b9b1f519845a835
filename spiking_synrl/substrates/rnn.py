r"""Elman recurrent network (tanh hidden, linear readout), population-vectorised.

After García Fernández, Keemink & van Gerven (2024), ``models.py`` of
``jesusgf96/NP_RNNs``, with optional biases and decorrelation matrices:

.. math::

    \hat x^0_t = D^0 u_t, \qquad
    h_t = W^\top \hat x^0_t + R^\top \hat x^1_{t-1} + b + \xi^1_t, \qquad
    x^1_t = \tanh(h_t), \qquad \hat x^1_t = D^1 x^1_t, \qquad
    y_t = V^\top \hat x^1_t + c + \xi^2_t

=====================  ============================================================
symbol                 meaning (weight key / trace name)
=====================  ============================================================
:math:`u_t`            input at step t, ``(B, T, n_in)``
:math:`W, R, V`        ``"in->hid"`` ``(n_in, H)``, ``"hid->hid"`` ``(H, H)``,
                       ``"hid->out"`` ``(H, n_out)``
:math:`b, c`           ``"bias->hid"``, ``"bias->out"`` (only with ``bias=True``)
:math:`D^0, D^1`       decorrelation matrices ``"decor:in"``, ``"decor:hid"``
                       (identity at init; only when enabled). Not synapses.
:math:`h_t`            hidden pre-activation, trace ``pre:hid``
:math:`\hat x^0_t`     trace ``act:in``; :math:`\hat x^1_t` trace ``act:hid``;
                       :math:`\hat x^1_{t-1}` trace ``prev:hid`` (0 at t = 0);
                       :math:`x^1_t` trace ``raw:hid``
:math:`y_t`            output (= ``pre:out``)
:math:`\xi^l_t`        node noise :math:`\mathcal N(0,\sigma^2)`, ``noise:hid``, ``noise:out``
=====================  ============================================================

Each candidate of a population keeps its own hidden state, so noise injected into a
noisy copy propagates through time in that copy only. The backward pass is full
backpropagation through time over the whole sequence (no truncation).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from spiking_synrl.substrates.base import Substrate, broadcast_noise
from spiking_synrl.types import Forward, NoiseSite, Weights, WeightSpec
from spiking_synrl.validation import check_bool, check_float, check_int

__all__ = ["RNN", "recurrent_shapes"]


def recurrent_shapes(
    n_in: int, n_hidden: int, n_out: int, bias: bool
) -> dict[str, tuple[int, ...]]:
    """Synaptic weight shapes of a one-layer recurrent net (without decorrelation)."""
    shapes: dict[str, tuple[int, ...]] = {
        "in->hid": (n_in, n_hidden),
        "hid->hid": (n_hidden, n_hidden),
        "hid->out": (n_hidden, n_out),
    }
    if bias:
        shapes["bias->hid"] = (n_hidden,)
        shapes["bias->out"] = (n_out,)
    return shapes


class RNN(Substrate):
    """Elman RNN substrate for sequence tasks.

    Args:
        n_inputs: input size per step.
        n_hidden: number of recurrent tanh units.
        n_outputs: output size per step.
        bias: add biases to hidden and output units (the paper has none).
        decorrelation: add a hidden decorrelation matrix ``"decor:hid"``.
        input_decorrelation: add an input decorrelation matrix ``"decor:in"``.
        rec_gain: scale of the recurrent init relative to Xavier-normal.

    Examples:
        >>> import numpy as np
        >>> net = RNN(1, n_hidden=8, n_outputs=1)
        >>> w = net.init_weights(np.random.default_rng(0))
        >>> net.forward(w, np.zeros((2, 5, 1))).outputs.shape
        (2, 5, 1)
    """

    name: ClassVar[str] = "rnn"

    def __init__(
        self,
        n_inputs: int,
        n_hidden: int = 500,
        n_outputs: int = 1,
        bias: bool = False,
        decorrelation: bool = False,
        input_decorrelation: bool = False,
        rec_gain: float = 1.0,
    ) -> None:
        owner = "RNN"
        self.n_inputs = check_int(n_inputs, "n_inputs", owner, low=1)
        self.n_hidden = check_int(n_hidden, "n_hidden", owner, low=1)
        self.n_outputs = check_int(n_outputs, "n_outputs", owner, low=1)
        self.bias = check_bool(bias, "bias", owner)
        self.decorrelation = check_bool(decorrelation, "decorrelation", owner)
        self.input_decorrelation = check_bool(input_decorrelation, "input_decorrelation", owner)
        self.rec_gain = check_float(rec_gain, "rec_gain", owner, low=0.0, closed="left")
        n_in, h, n_out = self.n_inputs, self.n_hidden, self.n_outputs
        shapes = recurrent_shapes(n_in, h, n_out, self.bias)
        if self.input_decorrelation:
            shapes["decor:in"] = (n_in, n_in)
        if self.decorrelation:
            shapes["decor:hid"] = (h, h)
        self.weight_spec = WeightSpec(shapes)
        self.sizes = {"in": n_in, "hid": h, "out": n_out}
        self.capabilities = frozenset({"grads", "node_noise", "traces", "sequence"})

    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able)."""
        return {
            "n_inputs": self.n_inputs,
            "n_hidden": self.n_hidden,
            "n_outputs": self.n_outputs,
            "bias": self.bias,
            "decorrelation": self.decorrelation,
            "input_decorrelation": self.input_decorrelation,
            "rec_gain": self.rec_gain,
        }

    def init_weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Xavier-normal W, R, V (as the paper's code); biases 0; D = identity."""
        w: dict[str, np.ndarray] = {}
        for key, shape in self.weight_spec.shapes.items():
            if key.startswith("bias->"):
                w[key] = np.zeros(shape)
            elif key.startswith("decor:"):
                w[key] = np.eye(shape[0])
            else:
                std = np.sqrt(2.0 / (shape[0] + shape[1]))
                gain = self.rec_gain if key == "hid->hid" else 1.0
                w[key] = rng.normal(0.0, gain * std, size=shape)
        return w

    def forward_population(
        self,
        weights: Weights,
        inputs: np.ndarray,
        *,
        node_noise: np.ndarray | None = None,
        noise_site: NoiseSite = "pre",
        rng: np.random.Generator | None = None,
    ) -> Forward:
        """Outputs ``(K, B, T, n_out)`` and per-step traces for K candidates."""
        k, inputs, sigma = self._check_population(
            weights, inputs, node_noise, noise_site, rng, (None, None, self.n_inputs)
        )
        n_b, n_t, _ = inputs.shape
        h_n = self.n_hidden
        x0 = np.broadcast_to(inputs, (k, *inputs.shape))
        if "decor:in" in weights:
            x0 = np.einsum("kbti,kji->kbtj", x0, weights["decor:in"])
        xi1 = broadcast_noise(rng, sigma, (n_b, n_t, h_n))
        xi2 = broadcast_noise(rng, sigma, (n_b, n_t, self.n_outputs))
        drive = np.matmul(x0.reshape(k, n_b * n_t, -1), weights["in->hid"]).reshape(
            k, n_b, n_t, h_n
        )
        if self.bias:
            drive = drive + weights["bias->hid"][:, None, None, :]
        if xi1 is not None:
            drive = drive + xi1
        pre = np.empty((k, n_b, n_t, h_n))
        raw = np.empty_like(pre)
        act = np.empty_like(pre)
        rec = weights["hid->hid"]
        decor = weights.get("decor:hid")
        prev = np.zeros((k, n_b, h_n))
        for t in range(n_t):
            h = drive[:, :, t] + np.matmul(prev, rec)
            x = np.tanh(h)
            pre[:, :, t], raw[:, :, t] = h, x
            prev = x if decor is None else np.matmul(x, np.swapaxes(decor, 1, 2))
            act[:, :, t] = prev
        y = np.matmul(act.reshape(k, n_b * n_t, h_n), weights["hid->out"]).reshape(
            k, n_b, n_t, self.n_outputs
        )
        if self.bias:
            y = y + weights["bias->out"][:, None, None, :]
        if xi2 is not None:
            y = y + xi2
        prev_act = np.concatenate([np.zeros((k, n_b, 1, h_n)), act[:, :, :-1]], axis=2)
        traces = {
            "act:in": x0,
            "pre:hid": pre,
            "raw:hid": raw,
            "act:hid": act,
            "prev:hid": prev_act,
            "pre:out": y,
        }
        if xi1 is not None and xi2 is not None:
            traces["noise:hid"] = xi1
            traces["noise:out"] = xi2
        return Forward(y, traces)

    def backward(
        self,
        weights: Weights,
        fwd: Forward,
        d_outputs: np.ndarray,
        feedback: Any = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Full backpropagation through time.

        Args:
            weights: one weight set (no candidate axis).
            fwd: its forward pass (no candidate axis).
            d_outputs: ``(B, T, n_out)`` gradient of the loss w.r.t. every output.
            feedback: unused (kept for the common signature).

        Returns:
            ``(grads, deltas)`` with ``deltas["hid"]`` = ``dL/dh_t`` ``(B, T, H)``
            and ``deltas["out"]`` = ``d_outputs``.
        """
        del feedback  # feedback alignment is defined for the MLP only
        tr = fwd.traces
        n_b, n_t, h_n = tr["pre:hid"].shape
        rec, readout = weights["hid->hid"], weights["hid->out"]
        decor = weights.get("decor:hid")
        g_act = d_outputs @ readout.T  # dL/dx^1_t from the readout, (B, T, H)
        delta = np.empty((n_b, n_t, h_n))
        carry = np.zeros((n_b, h_n))  # dL/dxhat_t through h_{t+1}
        for t in range(n_t - 1, -1, -1):
            g = g_act[:, t] + carry
            if decor is not None:
                g = g @ decor
            d = g * (1.0 - tr["raw:hid"][:, t] ** 2)
            delta[:, t] = d
            carry = d @ rec.T
        flat = lambda a: a.reshape(n_b * n_t, -1)  # noqa: E731
        grads = {
            "in->hid": flat(tr["act:in"]).T @ flat(delta),
            "hid->hid": flat(tr["prev:hid"]).T @ flat(delta),
            "hid->out": flat(tr["act:hid"]).T @ flat(d_outputs),
        }
        if self.bias:
            grads["bias->hid"] = delta.sum(axis=(0, 1))
            grads["bias->out"] = d_outputs.sum(axis=(0, 1))
        return grads, {"hid": delta, "out": d_outputs}
