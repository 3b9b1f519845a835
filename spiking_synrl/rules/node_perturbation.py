r"""Node perturbation (NP) and activity-based node perturbation (ANP), static and in time.

Each step evaluates the same weights twice on the same batch: a clean copy and a
copy with Gaussian noise on every non-input unit's pre-activation (``noise_site
"pre"``). Recurrent substrates run the two copies with their own hidden states,
so the noise injected at step :math:`s` propagates to later steps of the noisy
copy only. The loss difference :math:`\delta L = \tilde L - L` is then
correlated with a per-unit signal :math:`e^l` and the presynaptic activity.

**Static (MLP)**, per sample :math:`b` of a batch of :math:`B`:

.. math::

    \Delta W^l = -\eta \frac1B \sum_b x^{l-1}_b \, {e^l_b}^\top,
    \qquad \Delta b^l = -\eta \frac1B \sum_b e^l_b

.. math::

    e^l_b = \frac{\delta L_b}{\sigma^2}\,\xi^l_b \ \text{(NP)}, \qquad
    e^l_b = \sqrt{N}\,\delta L_b \frac{\delta h^l_b}{\lVert \delta h^l_b \rVert^2}
    \ \text{(ANP)}, \qquad \delta h^l_b = \tilde h^l_b - h^l_b

**In time (RNN)**, per sample and step :math:`t` of a window of :math:`T` steps,
with the per-step loss difference :math:`\delta L_{b,t} = \tilde\ell_{b,t} - \ell_{b,t}`
(``Evaluation.step_loss``, mask applied) and :math:`e^l_{b,t}` as above with
:math:`\xi^l_{b,t}` or :math:`\delta h^l_{b,t}`:

.. math::

    \Delta W = -\frac{\eta}{BT} \sum_{b,t} \hat x^0_{b,t} {e^1_{b,t}}^\top, \quad
    \Delta R = -\frac{\eta}{BT} \sum_{b,t} \hat x^1_{b,t-1} {e^1_{b,t}}^\top, \quad
    \Delta V = -\frac{\eta}{BT} \sum_{b,t} \hat x^1_{b,t} {e^2_{b,t}}^\top

(:math:`\hat x^1_{b,-1} = 0`, so ``R`` learns from :math:`t > 0` only.) The
per-step terms are *averaged* over the :math:`T` steps of the window (the paper's
code sums them): the same :math:`\eta` then means the same step size whatever the
window length. Unscored (wash-out) steps have a masked step loss of 0 and add
nothing. Each loss difference is paired with the same step's noise only, as in
the reference code: NP-in-time estimates the gradient carried by the direct
(same-step) path, which is exact for ``V`` and a one-step truncation for ``W``
and ``R``. ``NodePerturbation(credit="future")`` pairs the noise of step :math:`t`
with :math:`\sum_{s \ge t} \delta L_{b,s}` instead (noise can only change later
losses), an unbiased estimate of the full BPTT gradient with a larger variance.

**Decorrelation** (optional, ``decorrelation_lr`` :math:`\eta_D > 0`; the rule
owns the ``"decor:<l>"`` matrices of an ``RNN(..., decorrelation=True)``):

.. math::

    D^l \leftarrow D^l - \eta_D\, \mathrm{offdiag}\big(\langle \hat x^l \hat x^{l\top}
    \rangle_{b,t}\big)\, D^l

with :math:`\hat x^l` the clean copy's decorrelated activity (``act:<l>``),
averaged over samples and all steps. See :func:`decorrelation_update`.

=========================  ========================================================
symbol                     code
=========================  ========================================================
:math:`\eta`               ``eta``
:math:`\sigma`             ``sigma`` (std of the node noise)
:math:`\xi^l`              trace ``noise:<l>`` of the noisy copy
:math:`h^l,\tilde h^l`     trace ``pre:<l>`` of the clean / noisy copy
:math:`x^{l-1}`            trace ``act:<pre>`` of the clean copy (``prev:<l>`` for a
                           recurrent key ``"<l>-><l>"``); 1 for ``"bias-><l>"``
:math:`\delta L`           ``noisy.loss - clean.loss`` / ``noisy.step_loss - clean.step_loss``
:math:`e^l`                per-unit learning signal, ``signals[l]``
:math:`N`                  ``n_units``: default for sequences (RNN) the sum of all
                           layer sizes *including the input* (reference code:
                           ``N = sum(net_structure)``, 1 + 500 + 1 = 502); for static
                           networks the number of perturbed (non-input) units
:math:`\eta_D, D^l`        ``decorrelation_lr``, weights ``"decor:<l>"``
=========================  ========================================================

Scale of NP: ``scale="sigma2"`` (default) divides by :math:`\sigma^2`, which makes
NP an unbiased estimate of the (direct-path) gradient for small :math:`\sigma`;
``scale="sigma"`` divides by :math:`\sigma` as the reference code does
(``shared/papers.md`` §4(f)1), which multiplies the effective rate by
:math:`\sigma` (1000x smaller at :math:`\sigma = 10^{-3}`).

ANP normalisation: per sample (and per step), per layer. With ``B = 1`` it equals the
reference code's batch-Frobenius form :math:`\delta h / \lVert\delta h\rVert_F^2`;
for ``B > 1`` the reference divides the whole batch by one norm and sums over it,
here each sample is normalised by its own norm and the batch is averaged.

References:
    J. García Fernández, S. Keemink, M. van Gerven, *Gradient-free training of
    recurrent neural networks using random perturbations*, Front. Neurosci.
    18:1439155 (2024); code ``jesusgf96/NP_RNNs`` (``models.py``), see
    ``shared/papers.md`` §4. ANP: S. Dalm, M. van Gerven, N. Ahmad, arXiv 2310.00965
    (2023). NP: R. J. Williams (1992); I. R. Fiete & H. S. Seung, PRL 97:048104 (2006).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from spiking_synrl.errors import ConfigError
from spiking_synrl.optim import OPTIMIZERS, Optimizer, OptState
from spiking_synrl.rules.base import LearningRule, synapse_keys
from spiking_synrl.types import Capability, Evaluation, Forward, Proposal, Weights
from spiking_synrl.validation import check_float, check_int, check_options

__all__ = [
    "ActivityNodePerturbation",
    "NodePerturbation",
    "NodePerturbationState",
    "decorrelation_update",
    "offdiagonal_correlation",
]

DECOR_PREFIX = "decor:"


def offdiagonal_correlation(activity: np.ndarray) -> float:
    """Mean squared off-diagonal entry of the second-moment matrix ``<x x^T>``.

    Args:
        activity: ``(..., n)``; every leading axis (samples, steps) is averaged over.

    Returns:
        A scalar, 0 when the units are uncorrelated (a diagnostic for decorrelation).
    """
    x = np.asarray(activity, dtype=float).reshape(-1, np.shape(activity)[-1])
    corr = x.T @ x / x.shape[0]
    n = corr.shape[0]
    if n < 2:
        return 0.0
    off = corr[~np.eye(n, dtype=bool)]
    return float(np.mean(off * off))


def decorrelation_update(activity: np.ndarray, decor: np.ndarray, eta_d: float) -> np.ndarray:
    r"""The decorrelation step :math:`-\eta_D\,\mathrm{offdiag}(\langle\hat x\hat x^\top\rangle)D`.

    A local, unsupervised rule (Ahmad, Schrader & van Gerven 2023; used by García
    Fernández et al. 2024) that drives the off-diagonal second moments of the
    decorrelated activity :math:`\hat x = D x` towards zero. Any rule can call it.

    Args:
        activity: decorrelated activity :math:`\hat x`, shape ``(..., n)``; leading
            axes (samples, steps) are averaged over.
        decor: the current matrix :math:`D`, shape ``(n, n)`` (``xhat = D x``).
        eta_d: the rate :math:`\eta_D`.

    Returns:
        The update ``dD`` to *add* to ``decor`` (a new array).

    Examples:
        >>> import numpy as np
        >>> x = np.array([[1.0, 1.0], [-1.0, -1.0]])  # perfectly correlated units
        >>> decorrelation_update(x, np.eye(2), 0.1)
        array([[ 0. , -0.1],
               [-0.1,  0. ]])
    """
    x = np.asarray(activity, dtype=float)
    x = x.reshape(-1, x.shape[-1])
    corr = x.T @ x / x.shape[0]
    np.fill_diagonal(corr, 0.0)
    return -eta_d * (corr @ np.asarray(decor, dtype=float)) + 0.0  # + 0.0: no "-0." entries


@dataclass(frozen=True, eq=False)
class NodePerturbationState:
    """State of :class:`NodePerturbation` and :class:`ActivityNodePerturbation`.

    Attributes:
        step: number of completed updates.
        opt: optimiser state over the synaptic keys (moments for momentum / Adam).
    """

    step: int
    opt: OptState


class NodePerturbation(LearningRule[NodePerturbationState]):
    """Node perturbation: loss change times injected node noise times presynaptic rate.

    Works on static substrates (``MLP``) and, step by step through time, on recurrent
    ones (``RNN``); see the module docstring for the equations.

    Args:
        eta: learning rate :math:`\\eta`.
        sigma: std :math:`\\sigma` of the node noise on pre-activations.
        scale: ``"sigma2"`` (textbook :math:`1/\\sigma^2`) or ``"sigma"`` (the
            reference code's :math:`1/\\sigma`). NP only.
        decorrelation_lr: :math:`\\eta_D` for the ``"decor:<l>"`` matrices (0 = off).
        optimizer: ``"sgd"`` (the papers' plain update) or ``"adam"``, applied to
            the gradient estimate.
        momentum: SGD momentum.
        credit: in time, the loss change paired with step t's noise: ``"step"``,
            that step's own (the reference code; unbiased for the same-step path,
            i.e. one-step-truncated BPTT), or ``"future"``, the sum over steps
            :math:`\\ge t` (unbiased for the full BPTT gradient, noisier). Static
            networks ignore it.

    Examples:
        >>> from spiking_synrl.testing import solve
        >>> solve(NodePerturbation(eta=0.05, sigma=0.01), steps=300) < 0.05
        True
    """

    name: ClassVar[str] = "node-perturbation"
    requires: ClassVar[frozenset[Capability]] = frozenset({"node_noise", "traces"})

    def __init__(
        self,
        eta: float = 0.01,
        sigma: float = 0.01,
        scale: str = "sigma2",
        decorrelation_lr: float = 0.0,
        optimizer: str = "sgd",
        momentum: float = 0.0,
        credit: str = "step",
    ) -> None:
        owner = type(self).__name__
        self.eta = check_float(eta, "eta", owner, low=0.0)
        self.sigma = check_float(sigma, "sigma", owner, low=0.0)
        self.scale = check_options(scale, "scale", owner, ("sigma2", "sigma"))
        self.decorrelation_lr = check_float(
            decorrelation_lr, "decorrelation_lr", owner, low=0.0, closed="left"
        )
        self.optimizer = check_options(optimizer, "optimizer", owner, OPTIMIZERS)
        self.momentum = check_float(momentum, "momentum", owner, low=0.0, high=1.0, closed="left")
        self.credit = check_options(credit, "credit", owner, ("step", "future"))
        self._opt = Optimizer(self.optimizer, self.eta, self.momentum)

    # -- the rule's own part: the per-unit learning signal ---------------------
    def _signal(
        self, layer: str, d_loss: np.ndarray, clean: Forward, noisy: Forward, n_units: int
    ) -> np.ndarray:
        """:math:`e^l = \\delta L\\,\\xi^l / \\sigma^2` (or :math:`/\\sigma`)."""
        del clean, n_units  # NP reads the injected noise, not the activity change
        key = f"noise:{layer}"
        if key not in noisy.traces:
            raise ConfigError(
                f"{type(self).__name__} needs the trace {key!r} of the noisy copy; the "
                "substrate must inject node noise on pre-activations (noise_site='pre') "
                "and return its 'noise:<layer>' traces."
            )
        div = self.sigma**2 if self.scale == "sigma2" else self.sigma
        return d_loss[..., None] * noisy.traces[key] / div

    # -- the protocol ---------------------------------------------------------
    def _init(
        self, weights: dict[str, np.ndarray], rng: np.random.Generator
    ) -> NodePerturbationState:
        return NodePerturbationState(
            0, self._opt.init({k: weights[k] for k in synapse_keys(weights)})
        )

    def _ask(
        self, state: NodePerturbationState, weights: Weights, rng: np.random.Generator
    ) -> tuple[Proposal, NodePerturbationState]:
        # candidate 0 is clean, candidate 1 the noisy copy of the same weights
        return Proposal((weights, weights), node_noise=(0.0, self.sigma), noise_site="pre"), state

    def _tell(
        self,
        state: NodePerturbationState,
        proposal: Proposal,
        evaluations: Sequence[Evaluation],
    ) -> tuple[Mapping[str, np.ndarray], NodePerturbationState, dict[str, float]]:
        clean, noisy = evaluations
        weights = proposal.candidates[0]
        sequence = clean.step_loss is not None
        if sequence:
            assert noisy.step_loss is not None  # internal: both copies see the same task
            d_loss = noisy.step_loss - clean.step_loss  # (B, T)
            if self.credit == "future":
                # noise at step t can only change losses at steps >= t
                d_loss = np.flip(np.cumsum(np.flip(d_loss, axis=-1), axis=-1), axis=-1)
        else:
            d_loss = noisy.loss - clean.loss  # (B,)
        n_avg = d_loss.size  # B (static) or B*T (in time): mean over samples and steps
        keys = synapse_keys(weights)
        n_units = _count_units(weights, keys, sequence)
        posts = sorted({k.split("->")[1] for k in keys})
        signals = {
            post: self._signal(post, d_loss, clean.forward, noisy.forward, n_units)
            for post in posts
        }
        grads: dict[str, np.ndarray] = {}
        for key in keys:
            pre, post = key.split("->")
            sig = signals[post]
            if pre == "bias":
                grads[key] = sig.reshape(-1, sig.shape[-1]).sum(axis=0) / n_avg
                continue
            x = _presynaptic(clean.forward, pre, post)
            grads[key] = x.reshape(-1, x.shape[-1]).T @ sig.reshape(-1, sig.shape[-1]) / n_avg
        updates, opt = self._opt.update(grads, state.opt)
        if self.decorrelation_lr > 0.0:
            for key in weights:
                if key.startswith(DECOR_PREFIX):
                    layer = key[len(DECOR_PREFIX) :]
                    act = clean.forward.traces[f"act:{layer}"]
                    updates[key] = decorrelation_update(act, weights[key], self.decorrelation_lr)
        metrics = {
            "delta_loss": float(np.mean(np.abs(d_loss))),
            "update_norm": float(np.sqrt(sum(np.sum(updates[k] ** 2) for k in keys))),
        }
        return updates, NodePerturbationState(state.step + 1, opt), metrics


class ActivityNodePerturbation(NodePerturbation):
    """Activity-based node perturbation (ANP), static or in time.

    Like :class:`NodePerturbation`, but the learning signal is the *measured*
    change of each layer's pre-activation between the noisy and the clean copy,
    normalised by its squared norm: :math:`e^l = \\sqrt N\\,\\delta L\\,\\delta h^l
    / \\lVert\\delta h^l\\rVert^2`. In time, :math:`\\delta h_t` includes the noise
    that propagated from earlier steps through the recurrence.

    Args:
        eta: learning rate :math:`\\eta`.
        sigma: std :math:`\\sigma` of the node noise.
        n_units: :math:`N` in :math:`\\sqrt N`; None = all layers including the
            input for sequences (reference code), the perturbed units for static nets.
        decorrelation_lr: :math:`\\eta_D` for the ``"decor:<l>"`` matrices (0 = off).
        optimizer: ``"sgd"`` (the paper's) or ``"adam"``.
        momentum: SGD momentum.

    Examples:
        >>> from spiking_synrl.testing import solve
        >>> solve(ActivityNodePerturbation(eta=0.02, sigma=0.01), steps=300) < 0.05
        True
    """

    name: ClassVar[str] = "anp"

    def __init__(
        self,
        eta: float = 0.01,
        sigma: float = 0.01,
        n_units: int | None = None,
        decorrelation_lr: float = 0.0,
        optimizer: str = "sgd",
        momentum: float = 0.0,
    ) -> None:
        # ANP pairs each step's loss change with that step's activity change only:
        # with "future" credit the output signal divides unrelated loss changes by a
        # small activity change (a heavy-tailed, ratio-of-Gaussians estimate)
        super().__init__(eta, sigma, "sigma2", decorrelation_lr, optimizer, momentum, "step")
        self.n_units = (
            None if n_units is None else check_int(n_units, "n_units", type(self).__name__, low=1)
        )

    def _signal(
        self, layer: str, d_loss: np.ndarray, clean: Forward, noisy: Forward, n_units: int
    ) -> np.ndarray:
        """:math:`e^l = \\sqrt N\\,\\delta L\\,\\delta h^l / \\lVert\\delta h^l\\rVert^2`."""
        dh = noisy.traces[f"pre:{layer}"] - clean.traces[f"pre:{layer}"]
        norm2 = np.sum(dh * dh, axis=-1, keepdims=True)
        # a unit whose activity did not change carries no information: signal 0
        unit = np.divide(dh, norm2, out=np.zeros_like(dh), where=norm2 > 0.0)
        n = self.n_units if self.n_units is not None else n_units
        return np.sqrt(n) * d_loss[..., None] * unit


def _count_units(weights: Weights, keys: list[str], sequence: bool) -> int:
    """Default :math:`N`: layer sizes from the weight shapes (see the module docstring)."""
    sizes: dict[str, int] = {}
    for key in keys:
        pre, post = key.split("->")
        shape = np.shape(weights[key])
        sizes[post] = int(shape[-1])
        if pre != "bias":
            sizes[pre] = int(shape[0])
    if not sequence:
        sizes.pop("in", None)
    return int(sum(sizes.values()))


def _presynaptic(fwd: Forward, pre: str, post: str) -> np.ndarray:
    """The activity a synapse ``pre -> post`` sees: ``prev:<l>`` for recurrent keys."""
    name = f"prev:{post}" if pre == post else f"act:{pre}"
    if name not in fwd.traces:
        raise ConfigError(
            f"Node perturbation needs the trace {name!r} for the weight '{pre}->{post}'; "
            f"the substrate returned {sorted(fwd.traces)}."
        )
    return fwd.traces[name]
