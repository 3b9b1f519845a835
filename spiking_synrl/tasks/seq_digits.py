r"""Sequential digits: 8x8 digits fed one pixel per step in a fixed permutation.

.. math::

    u_t = x_{\pi(t)} / 16, \quad t = 1, \dots, 64, \qquad
    \ell = -\log \mathrm{softmax}(y_{64})_c

=========  ==============================================================
symbol     meaning
=========  ==============================================================
``x``      the 64 pixels of a ``load_digits`` image (0..16)
``pi``     a fixed permutation, ``np.random.default_rng(0).permutation(64)``,
           the same whatever the task's ``seed`` (:data:`PERMUTATION`)
``c``      the digit; targets are ``(B, 64)`` int64, ``c`` repeated
mask       ``(B, 64)``, 1 at the last step only: only ``y_64`` is scored
=========  ==============================================================

Inputs are ``(B, 64, 1)``; the train/val split is the stratified 75/25 split of
:mod:`spiking_synrl.tasks.digits` (``random_state=seed``).

The offline substitute for permuted sequential MNIST (784 steps, paper 4,
``shared/papers.md`` §4(c), §5): the same sequential-classification structure
with much shorter sequences.

Reference: Le, Jaitly & Hinton, "A simple way to initialize recurrent networks
of rectified linear units", arXiv 1504.00941 (2015) (psMNIST); García
Fernández, Keemink & van Gerven, Front. Neurosci. 18:1439155 (2024).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from spiking_synrl.tasks.base import Task
from spiking_synrl.tasks.digits import load_digits_split
from spiking_synrl.types import Batch
from spiking_synrl.validation import check_int

__all__ = ["PERMUTATION", "SeqDigits"]

#: pixel order, fixed whatever the task's seed
PERMUTATION = np.random.default_rng(0).permutation(64)


def _as_sequence(images: np.ndarray, labels: np.ndarray) -> Batch:
    n, steps = images.shape
    mask = np.zeros((n, steps))
    mask[:, -1] = 1.0
    targets = np.repeat(labels[:, None], steps, axis=1).astype(np.int64)
    return Batch(images[:, PERMUTATION, None], targets, mask)


class SeqDigits(Task):
    """Classify an 8x8 digit read pixel by pixel (1 input, 10 outputs, CE at the last step).

    Args:
        seed: seeds the stratified train/val split (not the pixel permutation).
    """

    name: ClassVar[str] = "seq-digits"
    sequence: ClassVar[bool] = True

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = check_int(seed, "seed", "SeqDigits", low=0, high=2**32 - 1)
        self.n_inputs = 1
        self.n_outputs = 10
        self.loss_name = "ce"
        x_train, x_val, c_train, c_val = load_digits_split(self.seed)
        self.splits = {"train": _as_sequence(x_train, c_train), "val": _as_sequence(x_val, c_val)}

    def config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {"seed": self.seed}
