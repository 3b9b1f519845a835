r"""Weight perturbation: a finite-difference estimate of the gradient from loss probes.

.. math::

    \xi_k \sim \mathcal N(0, I), \qquad
    L_0 = L(w), \qquad L_k = L(w + \sigma \xi_k), \qquad k = 1..K

    \hat g = \frac1K \sum_{k=1}^K \frac{L_k - L_0}{\sigma}\, \xi_k
    \quad\text{or, antithetic,}\quad
    \hat g = \frac1K \sum_{k=1}^K \frac{L(w + \sigma\xi_k) - L(w - \sigma\xi_k)}{2\sigma}\, \xi_k

    \Delta w = -\eta\, \hat g \quad (\text{or } \mathrm{Adam}(\hat g))

=====================  ==========================================================
symbol                 meaning (code name)
=====================  ==========================================================
:math:`w`              all synaptic weights (keys containing ``"->"``)
:math:`\xi_k`          standard normal direction over all synapses, ``private["xi"]``
:math:`\sigma`         perturbation size ``sigma`` (the perturbation is
                       :math:`\sigma\xi \sim \mathcal N(0, \sigma^2 I)`)
:math:`K`              ``n_perturbations`` (directions per step)
:math:`L_0, L_k`       mean loss of the unperturbed / perturbed candidates
:math:`\eta`           learning rate ``eta``
:math:`\hat g`         gradient estimate: :math:`E[\hat g] = \nabla L + O(\sigma^2)`
=====================  ==========================================================

Every candidate is evaluated on the same batch in one vectorised substrate call.
A step costs :math:`K + 1` loss evaluations (:math:`2K` with antithetic pairs,
which need no unperturbed candidate and cancel the even terms of the Taylor series).

Scaling: with :math:`\Xi = \sigma\xi \sim \mathcal N(0, \sigma^2 I)`, the step
:math:`-\eta\,(\delta L/\sigma)\,\xi` equals :math:`-\eta\,(\delta L/\sigma^2)\,\Xi`
(the textbook form). The code of García Fernández et al. (2024, ``NP_RNNs``,
``shared/papers.md`` §4(a)) writes :math:`-\eta_{code}\,(\delta L/\sigma)\,\Xi`,
so :math:`\eta_{code} = \eta / \sigma`.

References: Jabri & Flower (1992), *Weight perturbation: an optimal architecture
and learning technique for analog VLSI feedforward and recurrent multilayer
networks*, IEEE TNN 3(1); Züge, Klos & Memmesheimer (2023), *Weight versus node
perturbation learning in temporally extended tasks*, PLOS Comput Biol;
antithetic sampling as in Salimans et al. (2017), arXiv 1703.03864.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from spiking_synrl.optim import OPTIMIZERS, Optimizer, OptState
from spiking_synrl.rules.base import LearningRule, synapse_keys
from spiking_synrl.types import Evaluation, Proposal, Weights
from spiking_synrl.validation import check_bool, check_float, check_int, check_options

__all__ = [
    "WeightPerturbation",
    "WeightPerturbationState",
    "global_norm",
    "perturb",
    "sample_directions",
]


def sample_directions(weights: Weights, n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """``n`` standard-normal directions over the synaptic weights, ``(n, *shape)`` per key.

    Keys are drawn in sorted order so the same ``rng`` state gives the same
    directions whatever the dict's insertion order.
    """
    return {k: rng.standard_normal((n, *np.shape(weights[k]))) for k in synapse_keys(weights)}


def perturb(
    weights: Weights, xi: dict[str, np.ndarray], k: int, scale: float
) -> dict[str, np.ndarray]:
    """``w + scale * xi[k]`` on the synapses; other keys (``"decor:*"``) unchanged."""
    out = dict(weights)
    for key, directions in xi.items():
        out[key] = np.asarray(weights[key]) + scale * directions[k]
    return out


def global_norm(arrays: dict[str, np.ndarray]) -> float:
    """Euclidean norm of all arrays together."""
    return float(np.sqrt(sum(np.sum(a * a) for a in arrays.values())))


@dataclass(frozen=True, eq=False)
class WeightPerturbationState:
    """State of :class:`WeightPerturbation`: the optimiser's moments."""

    opt: OptState


class WeightPerturbation(LearningRule[WeightPerturbationState]):
    """Weight perturbation with a fixed learning rate (the Dopamine rule's baseline).

    Args:
        sigma: perturbation size :math:`\\sigma` (std of each weight's perturbation).
        eta: learning rate :math:`\\eta` (of SGD, or of Adam).
        n_perturbations: directions :math:`K` per step.
        antithetic: evaluate :math:`w \\pm \\sigma\\xi_k` (2K candidates) instead of
            :math:`w` and :math:`w + \\sigma\\xi_k` (K + 1 candidates).
        optimizer: ``"sgd"`` or ``"adam"``, applied to the gradient estimate.

    Metrics:
        ``rpe``: :math:`L_0 - \\bar L_k`, positive when the perturbations helped
        (antithetic: :math:`\\overline{(L^- - L^+)}/2`); ``update_norm``: the
        step's norm. ``loss`` is :math:`L_0` (antithetic: the mean of all
        candidates, :math:`L(w) + O(\\sigma^2)`).

    Examples:
        >>> from spiking_synrl.testing import solve
        >>> solve(WeightPerturbation(sigma=1e-3, eta=0.05), steps=300) < 0.05
        True
    """

    name: ClassVar[str] = "weight-perturbation"

    def __init__(
        self,
        sigma: float = 1e-3,
        eta: float = 0.01,
        n_perturbations: int = 1,
        antithetic: bool = False,
        optimizer: str = "sgd",
    ) -> None:
        owner = type(self).__name__
        self.sigma = check_float(sigma, "sigma", owner, low=0.0)
        self.eta = check_float(eta, "eta", owner, low=0.0)
        self.n_perturbations = check_int(n_perturbations, "n_perturbations", owner, low=1)
        self.antithetic = check_bool(antithetic, "antithetic", owner)
        self.optimizer = check_options(optimizer, "optimizer", owner, OPTIMIZERS)
        self._opt = Optimizer(self.optimizer, self.eta)

    @property
    def evals_per_step(self) -> int:
        """Loss evaluations (candidates) per step: K + 1, or 2K if antithetic."""
        k = self.n_perturbations
        return 2 * k if self.antithetic else k + 1

    def _init(
        self, weights: dict[str, np.ndarray], rng: np.random.Generator
    ) -> WeightPerturbationState:
        return WeightPerturbationState(
            self._opt.init({k: weights[k] for k in synapse_keys(weights)})
        )

    def _ask(
        self, state: WeightPerturbationState, weights: Weights, rng: np.random.Generator
    ) -> tuple[Proposal, WeightPerturbationState]:
        k = self.n_perturbations
        xi = sample_directions(weights, k, rng)
        if self.antithetic:
            candidates = tuple(
                perturb(weights, xi, i, sign * self.sigma) for i in range(k) for sign in (1, -1)
            )
        else:
            perturbed = (perturb(weights, xi, i, self.sigma) for i in range(k))
            candidates = (dict(weights), *perturbed)
        return Proposal(candidates, private={"xi": xi}), state

    def _tell(
        self,
        state: WeightPerturbationState,
        proposal: Proposal,
        evaluations: Sequence[Evaluation],
    ) -> tuple[dict[str, np.ndarray], WeightPerturbationState, dict[str, float]]:
        xi: dict[str, np.ndarray] = proposal.private["xi"]
        losses = np.array([ev.mean_loss for ev in evaluations])
        if self.antithetic:
            plus, minus = losses[0::2], losses[1::2]
            coeff = (plus - minus) / (2.0 * self.sigma)  # directional derivatives
            rpe = float(np.mean(minus - plus) / 2.0)
            loss = float(np.mean(losses))
        else:
            coeff = (losses[1:] - losses[0]) / self.sigma
            rpe = float(losses[0] - np.mean(losses[1:]))
            loss = float(losses[0])
        grads = {key: np.tensordot(coeff, d, axes=1) / len(coeff) for key, d in xi.items()}
        updates, opt = self._opt.update(grads, state.opt)
        metrics = {"loss": loss, "rpe": rpe, "update_norm": global_norm(updates)}
        return updates, WeightPerturbationState(opt), metrics
