r"""Rate-coded multi-layer perceptron, evaluated for a population of weight sets.

.. math::

    x^0 = u, \qquad h^l = x^{l-1} W^l + b^l + \xi^l_{pre}, \qquad
    x^l = f_l(h^l) + \xi^l_{post}, \qquad y = h^L \ (\text{or } f_L(h^L))

=====================  ==============================================================
symbol                 meaning
=====================  ==============================================================
:math:`u`              input, one row per sample ``(B, n_in)``
:math:`W^l, b^l`       weights ``"<l-1>-><l>"`` ``(n_{l-1}, n_l)``, bias ``"bias-><l>"``
:math:`h^l`            pre-activation of layer ``l`` (trace ``pre:<l>``)
:math:`x^l`            activity sent downstream (trace ``act:<l>``)
:math:`f_l`            tanh, relu, sigmoid or linear (the output layer is linear
                       by default: logits for cross-entropy, values for MSE)
:math:`\xi^l`          node noise :math:`\mathcal N(0, \sigma^2)`, on pre-activations of
                       every layer (node perturbation) or on hidden outputs only
                       (Lansdell et al. 2020), trace ``noise:<l>``
=====================  ==============================================================

Backward pass (``Differentiable``): :math:`\delta^L = \partial\ell/\partial y \odot f_L'(h^L)`,
:math:`\delta^{l} = (\delta^{l+1} B^{l+1}) \odot f_l'(h^l)` with
:math:`B^{l+1} = (W^{l+1})^\top` for backprop or a given feedback matrix (feedback
alignment, learned feedback); :math:`\partial L/\partial W^l = (x^{l-1})^\top \delta^l`.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from spiking_synrl.errors import ConfigError, WeightSpecError
from spiking_synrl.substrates.base import ACTIVATIONS, Substrate, broadcast_noise
from spiking_synrl.types import Forward, NoiseSite, Weights, WeightSpec
from spiking_synrl.validation import check_bool, check_float, check_int, check_options

__all__ = ["MLP", "feedforward_shapes", "layer_names"]


def layer_names(n_hidden_layers: int) -> list[str]:
    """``["in", "hid", "out"]``, ``["in", "hid1", "hid2", "out"]``, ``["in", "out"]``."""
    if n_hidden_layers == 1:
        return ["in", "hid", "out"]
    return ["in", *[f"hid{i + 1}" for i in range(n_hidden_layers)], "out"]


def feedforward_shapes(
    layers: list[str], sizes: dict[str, int], bias: bool
) -> dict[str, tuple[int, ...]]:
    """Weight shapes of a layered net: ``"<pre>-><post>"`` and, with bias, ``"bias-><post>"``."""
    shapes: dict[str, tuple[int, ...]] = {}
    for pre, post in itertools.pairwise(layers):
        shapes[f"{pre}->{post}"] = (sizes[pre], sizes[post])
        if bias:
            shapes[f"bias->{post}"] = (sizes[post],)
    return shapes


class MLP(Substrate):
    """Feed-forward rate network of any depth.

    Args:
        n_inputs: input size.
        hidden: sizes of the hidden layers (``()`` = no hidden layer).
        n_outputs: output size.
        activation: hidden non-linearity, ``"tanh"``, ``"relu"``, ``"sigmoid"``.
        output_activation: ``"linear"`` (default) or one of the above.
        bias: whether each non-input layer has a bias weight.
        init: ``"auto"`` (He for relu, Xavier otherwise, normal), or
            ``"uniform"`` (U(-init_scale, init_scale), biases 0, as Bhargava et al.).
        init_scale: half-width for ``init="uniform"``.

    Examples:
        >>> import numpy as np
        >>> net = MLP(2, hidden=(3,), n_outputs=1)
        >>> w = net.init_weights(np.random.default_rng(0))
        >>> sorted(w)
        ['bias->hid', 'bias->out', 'hid->out', 'in->hid']
        >>> net.forward(w, np.zeros((4, 2))).outputs.shape
        (4, 1)
    """

    name: ClassVar[str] = "mlp"

    def __init__(
        self,
        n_inputs: int,
        hidden: tuple[int, ...] | list[int] = (32,),
        n_outputs: int = 10,
        activation: str = "tanh",
        output_activation: str = "linear",
        bias: bool = True,
        init: str = "auto",
        init_scale: float = 0.1,
    ) -> None:
        owner = "MLP"
        self.n_inputs = check_int(n_inputs, "n_inputs", owner, low=1)
        self.n_outputs = check_int(n_outputs, "n_outputs", owner, low=1)
        if isinstance(hidden, (int, np.integer)):
            hidden = (int(hidden),)
        if not isinstance(hidden, (tuple, list)):
            raise ConfigError(
                f"The 'hidden' parameter of {owner} must be a list of layer sizes. "
                f"Got {hidden!r} instead."
            )
        self.hidden = tuple(check_int(h, "hidden", owner, low=1) for h in hidden)
        self.activation = check_options(activation, "activation", owner, ACTIVATIONS)
        self.output_activation = check_options(
            output_activation, "output_activation", owner, ACTIVATIONS
        )
        self.bias = check_bool(bias, "bias", owner)
        self.init = check_options(init, "init", owner, ("auto", "uniform"))
        self.init_scale = check_float(init_scale, "init_scale", owner, low=0.0)
        self.layers = layer_names(len(self.hidden))
        self.sizes = dict(
            zip(self.layers, (self.n_inputs, *self.hidden, self.n_outputs), strict=True)
        )
        self.weight_spec = WeightSpec(feedforward_shapes(self.layers, self.sizes, self.bias))
        self.capabilities = frozenset({"grads", "node_noise", "traces", "feedback"})

    # -- structure ------------------------------------------------------------
    def config(self) -> dict[str, Any]:
        """Constructor arguments (JSON-able)."""
        return {
            "n_inputs": self.n_inputs,
            "hidden": list(self.hidden),
            "n_outputs": self.n_outputs,
            "activation": self.activation,
            "output_activation": self.output_activation,
            "bias": self.bias,
            "init": self.init,
            "init_scale": self.init_scale,
        }

    def _act(self, layer: str) -> str:
        return self.output_activation if layer == "out" else self.activation

    def init_weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """He (relu) or Xavier (otherwise) normal init; or uniform; biases 0."""
        w: dict[str, np.ndarray] = {}
        for key, shape in self.weight_spec.shapes.items():
            if key.startswith("bias->"):
                w[key] = np.zeros(shape)
            elif self.init == "uniform":
                w[key] = rng.uniform(-self.init_scale, self.init_scale, size=shape)
            else:
                fan_in, fan_out = shape
                post = key.split("->")[1]
                if self._act(post) == "relu":
                    std = np.sqrt(2.0 / fan_in)
                else:
                    std = np.sqrt(2.0 / (fan_in + fan_out))
                w[key] = rng.normal(0.0, std, size=shape)
        return w

    # -- forward --------------------------------------------------------------
    def forward_population(
        self,
        weights: Weights,
        inputs: np.ndarray,
        *,
        node_noise: np.ndarray | None = None,
        noise_site: NoiseSite = "pre",
        rng: np.random.Generator | None = None,
    ) -> Forward:
        """Outputs ``(K, B, n_out)`` and traces ``(K, B, n)`` for K candidates."""
        k, inputs, sigma = self._check_population(
            weights, inputs, node_noise, noise_site, rng, (None, self.n_inputs)
        )
        n_samples = inputs.shape[0]
        traces: dict[str, np.ndarray] = {"act:in": np.broadcast_to(inputs, (k, *inputs.shape))}
        x = inputs
        for pre, post in zip(self.layers[:-1], self.layers[1:], strict=True):
            h = np.matmul(x, weights[f"{pre}->{post}"])  # (K, B, n_post)
            if self.bias:
                h = h + weights[f"bias->{post}"][:, None, :]
            perturb = noise_site == "pre" or post != "out"
            xi = broadcast_noise(rng, sigma, (n_samples, self.sizes[post])) if perturb else None
            if xi is not None and noise_site == "pre":
                h = h + xi
            f, _ = ACTIVATIONS[self._act(post)]
            x = f(h)
            if xi is not None and noise_site == "post":
                x = x + xi
            traces[f"pre:{post}"] = h
            traces[f"act:{post}"] = x
            if xi is not None:
                traces[f"noise:{post}"] = xi
        return Forward(x, traces)

    # -- backward -------------------------------------------------------------
    def backward(
        self,
        weights: Weights,
        fwd: Forward,
        d_outputs: np.ndarray,
        feedback: Mapping[str, np.ndarray] | None = None,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
        """Gradients of ``sum(d_outputs * outputs)`` and the errors ``dL/dpre``.

        Args:
            weights: one weight set (no candidate axis).
            fwd: that weight set's :class:`Forward` (no candidate axis).
            d_outputs: ``(B, n_out)``, the loss gradient w.r.t. the outputs (already
                divided by B for a mean loss).
            feedback: optional ``{"<l>-><l+1>": B}`` with ``B`` of shape
                ``(n_{l+1}, n_l)`` sending errors down instead of ``W.T``.

        Returns:
            ``(grads, deltas)``: grads by weight key; ``deltas["<l>"]`` = ``dL/dh^l``.
        """
        feedback = feedback or {}
        grads: dict[str, np.ndarray] = {}
        deltas: dict[str, np.ndarray] = {}
        _, df = ACTIVATIONS[self.output_activation]
        delta = d_outputs * df(fwd.traces["pre:out"])
        for pre, post in reversed(list(zip(self.layers[:-1], self.layers[1:], strict=True))):
            key = f"{pre}->{post}"
            deltas[post] = delta
            grads[key] = fwd.traces[f"act:{pre}"].T @ delta
            if self.bias:
                grads[f"bias->{post}"] = delta.sum(axis=0)
            if pre == "in":
                break
            back = feedback.get(key)
            if back is None:
                back = weights[key].T
            elif back.shape != (self.sizes[post], self.sizes[pre]):
                raise WeightSpecError(
                    f"The feedback matrix for {key!r} must have shape "
                    f"{(self.sizes[post], self.sizes[pre])} (that of W.T). Got {back.shape}."
                )
            _, df = ACTIVATIONS[self.activation]
            delta = (delta @ back) * df(fwd.traces[f"pre:{pre}"])
        return grads, deltas
