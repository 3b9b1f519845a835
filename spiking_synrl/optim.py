r"""First-order optimisers as pure ``init``/``update`` pairs over weight dicts.

SGD with momentum :math:`\mu`: :math:`m \leftarrow \mu m + g`, :math:`\Delta w = -\eta m`.
Adam (Kingma & Ba 2015): :math:`m \leftarrow \beta_1 m + (1-\beta_1) g`,
:math:`v \leftarrow \beta_2 v + (1-\beta_2) g^2`,
:math:`\Delta w = -\eta\, \hat m / (\sqrt{\hat v} + \epsilon)` with bias-corrected
:math:`\hat m, \hat v`. ``g`` is a gradient or any gradient estimate.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from spiking_synrl.validation import check_float, check_options

__all__ = ["OPTIMIZERS", "OptState", "Optimizer"]

OPTIMIZERS = ("sgd", "adam")


@dataclass(frozen=True, eq=False)
class OptState:
    """Optimiser state: step count and first/second moments by weight key."""

    count: int
    mu: dict[str, np.ndarray]
    nu: dict[str, np.ndarray]


@dataclass(frozen=True)
class Optimizer:
    """``sgd`` (with optional momentum) or ``adam`` over dicts of arrays."""

    name: str = "sgd"
    lr: float = 0.01
    momentum: float = 0.0
    b1: float = 0.9
    b2: float = 0.999
    eps: float = 1e-8

    def __post_init__(self) -> None:
        check_options(self.name, "optimizer", "Optimizer", OPTIMIZERS)
        check_float(self.lr, "lr", "Optimizer", low=0.0)
        check_float(self.momentum, "momentum", "Optimizer", low=0.0, high=1.0, closed="left")

    def init(self, keys: Mapping[str, np.ndarray]) -> OptState:
        """Zero moments for every key of ``keys``."""
        zeros = {k: np.zeros_like(np.asarray(v, dtype=float)) for k, v in keys.items()}
        nu = {k: v.copy() for k, v in zeros.items()} if self.name == "adam" else {}
        return OptState(0, zeros, nu)

    def update(
        self, grads: Mapping[str, np.ndarray], state: OptState
    ) -> tuple[dict[str, np.ndarray], OptState]:
        """Updates to add to the weights (descent direction) and the new state."""
        count = state.count + 1
        if self.name == "sgd":
            if self.momentum == 0.0:
                return {k: -self.lr * g for k, g in grads.items()}, OptState(count, state.mu, {})
            mu = {k: self.momentum * state.mu[k] + g for k, g in grads.items()}
            return {k: -self.lr * m for k, m in mu.items()}, OptState(count, mu, {})
        mu = {k: self.b1 * state.mu[k] + (1 - self.b1) * g for k, g in grads.items()}
        nu = {k: self.b2 * state.nu[k] + (1 - self.b2) * g * g for k, g in grads.items()}
        c1, c2 = 1 - self.b1**count, 1 - self.b2**count
        updates = {
            k: -self.lr * (mu[k] / c1) / (np.sqrt(nu[k] / c2) + self.eps) for k in grads
        }
        return updates, OptState(count, mu, nu)
