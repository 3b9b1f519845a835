r"""Gradient baselines: backpropagation (MLP) and backpropagation through time (RNN).

.. math::

    \Delta w = \mathrm{opt}\big(\nabla_w L\big), \qquad L = \frac1B \sum_b \ell_b

:math:`\nabla_w L` is exact: the substrate's backward pass (Rumelhart, Hinton &
Williams 1986). For the RNN it runs through the whole sequence, not truncated
(Werbos 1990). ``opt`` is SGD (with optional momentum) or Adam (Kingma & Ba 2015).
These rules are not biologically plausible; they are the yardstick.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from spiking_synrl.optim import OPTIMIZERS, Optimizer, OptState
from spiking_synrl.rules.base import LearningRule, synapse_keys
from spiking_synrl.types import Capability, Evaluation, Proposal, Weights
from spiking_synrl.validation import check_float, check_options

__all__ = ["BPTT", "Backprop", "BackpropState"]


@dataclass(frozen=True, eq=False)
class BackpropState:
    """Optimiser state of the gradient baselines."""

    opt: OptState


class Backprop(LearningRule[BackpropState]):
    """Exact gradients through the substrate's backward pass.

    Args:
        lr: learning rate :math:`\\eta`.
        optimizer: ``"sgd"`` or ``"adam"``.
        momentum: SGD momentum.

    Examples:
        >>> import numpy as np
        >>> from spiking_synrl.testing import solve
        >>> solve(Backprop(lr=0.5), steps=300) < 0.01
        True
    """

    name: ClassVar[str] = "backprop"
    requires: ClassVar[frozenset[Capability]] = frozenset({"grads"})

    def __init__(self, lr: float = 0.1, optimizer: str = "sgd", momentum: float = 0.0) -> None:
        owner = type(self).__name__
        self.lr = check_float(lr, "lr", owner, low=0.0)
        self.optimizer = check_options(optimizer, "optimizer", owner, OPTIMIZERS)
        self.momentum = check_float(momentum, "momentum", owner, low=0.0, high=1.0, closed="left")
        self._opt = Optimizer(self.optimizer, self.lr, self.momentum)

    def _init(self, weights: dict[str, np.ndarray], rng: np.random.Generator) -> BackpropState:
        return BackpropState(self._opt.init({k: weights[k] for k in synapse_keys(weights)}))

    def _ask(
        self, state: BackpropState, weights: Weights, rng: np.random.Generator
    ) -> tuple[Proposal, BackpropState]:
        return Proposal((weights,), with_grads=True), state

    def _tell(
        self, state: BackpropState, proposal: Proposal, evaluations: Sequence[Evaluation]
    ) -> tuple[dict[str, np.ndarray], BackpropState, dict[str, float]]:
        grads = evaluations[0].grads
        assert grads is not None  # internal: evaluate_proposal honours with_grads
        updates, opt = self._opt.update(grads, state.opt)
        norm = float(np.sqrt(sum(np.sum(g * g) for g in grads.values())))
        return updates, BackpropState(opt), {"grad_norm": norm}


class BPTT(Backprop):
    """Backprop through time for recurrent substrates (full, not truncated)."""

    name: ClassVar[str] = "bptt"
    requires: ClassVar[frozenset[Capability]] = frozenset({"grads", "sequence"})
