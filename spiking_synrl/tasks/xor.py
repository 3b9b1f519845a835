r"""XOR: the four patterns of exclusive-or, as a one-output regression.

.. math::

    x \in \{0, 1\}^2, \qquad t(x) = x_1 \oplus x_2 \in \{0, 1\}, \qquad
    \ell(y, t) = \tfrac12 (y - t)^2

=========  ==========================================================
symbol     meaning
=========  ==========================================================
``x``      input pattern, rows of ``[[0, 0], [0, 1], [1, 0], [1, 1]]``
``t``      target ``[[0], [1], [1], [0]]``
``y``      the network's single output
accuracy   ``mean((y > 0.5) == t)``: 1.0 when all four patterns are right
=========  ==========================================================

The training and validation splits are the same four patterns (each repeated
``repeats`` times: a spiking network sees that many independent Poisson spike
trains per pattern, which averages out input noise), so the task is
deterministic and ``seed`` is accepted only for a uniform constructor.

Reference: the classic non-linearly-separable benchmark (Minsky & Papert,
*Perceptrons*, 1969; Rumelhart, Hinton & Williams 1986); the XOR MLP of paper 3
(Nambusubramaniyan et al., arXiv 2510.22178), see ``shared/papers.md`` §5.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from spiking_synrl.tasks.base import Task
from spiking_synrl.types import Batch
from spiking_synrl.validation import check_int

__all__ = ["XOR"]


class XOR(Task):
    """The four XOR patterns; train = val.

    Args:
        seed: accepted for a uniform interface; the data does not depend on it.
        repeats: how many times each pattern appears in a split.
    """

    name: ClassVar[str] = "xor"
    sequence: ClassVar[bool] = False
    classification: ClassVar[bool] = True

    def __init__(self, *, seed: int = 0, repeats: int = 1) -> None:
        self.seed = check_int(seed, "seed", "XOR", low=0)
        self.repeats = check_int(repeats, "repeats", "XOR", low=1)
        self.n_inputs = 2
        self.n_outputs = 1
        self.loss_name = "mse"
        inputs = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
        targets = np.array([[0.0], [1.0], [1.0], [0.0]])
        batch = Batch(np.tile(inputs, (self.repeats, 1)), np.tile(targets, (self.repeats, 1)))
        self.splits = {"train": batch, "val": batch}

    def config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {"seed": self.seed, "repeats": self.repeats}

    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        """Loss and accuracy, ``mean((outputs > 0.5) == targets)``."""
        hit = (np.asarray(outputs) > 0.5) == (batch.targets > 0.5)
        return {"loss": float(np.mean(self.loss(outputs, batch))), "accuracy": float(np.mean(hit))}
