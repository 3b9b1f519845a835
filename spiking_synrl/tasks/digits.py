r"""Digits: 8x8 handwritten digits (scikit-learn's bundled UCI set), 10-way softmax.

.. math::

    x = \mathrm{pixels} / 16 \in [0, 1]^{64}, \qquad c \in \{0, \dots, 9\}, \qquad
    \ell(y, c) = -\log \mathrm{softmax}(y)_c

=========  ==============================================================
symbol     meaning
=========  ==============================================================
``x``      the 64 pixel intensities (0..16 in the data) scaled to [0, 1]
``c``      the digit, an int64 class index
``y``      the network's 10 logits
split      stratified 75 % train / 25 % val (1,347 / 450 of 1,797 images),
           ``train_test_split(..., stratify=c, random_state=seed)``
=========  ==============================================================

The offline substitute for notMNIST (paper 1, Bhargava et al. 2022) and MNIST
(paper 2, Lansdell et al. 2020): small grayscale glyphs, 10 classes, the
paper's 75/25 split (``shared/papers.md`` §1(c), §5).

Reference: Alpaydin & Kaynak (1998), UCI "Optical Recognition of Handwritten
Digits"; ``sklearn.datasets.load_digits``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from spiking_synrl.tasks.base import Task
from spiking_synrl.types import Batch
from spiking_synrl.validation import check_int

__all__ = ["Digits", "load_digits_split"]

#: fraction of the images held out for validation (as in paper 1)
VAL_FRACTION = 0.25


def load_digits_split(
    seed: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The stratified 75/25 split of ``load_digits``, pixels scaled to [0, 1].

    Args:
        seed: ``random_state`` of ``train_test_split`` (an int in [0, 2**32 - 1]).

    Returns:
        ``(x_train, x_val, c_train, c_val)``: float64 ``(n, 64)`` images and
        int64 ``(n,)`` labels.
    """
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    data = load_digits()
    images = np.asarray(data.data, dtype=np.float64) / 16.0
    labels = np.asarray(data.target, dtype=np.int64)
    x_train, x_val, c_train, c_val = train_test_split(
        images, labels, test_size=VAL_FRACTION, stratify=labels, random_state=seed
    )
    return x_train, x_val, c_train, c_val


class Digits(Task):
    """Static 10-way classification of 8x8 digits (64 inputs, 10 outputs, CE).

    Args:
        seed: seeds the stratified train/val split.
    """

    name: ClassVar[str] = "digits"
    sequence: ClassVar[bool] = False

    def __init__(self, *, seed: int = 0) -> None:
        self.seed = check_int(seed, "seed", "Digits", low=0, high=2**32 - 1)
        self.n_inputs = 64
        self.n_outputs = 10
        self.loss_name = "ce"
        x_train, x_val, c_train, c_val = load_digits_split(self.seed)
        self.splits = {"train": Batch(x_train, c_train), "val": Batch(x_val, c_val)}

    def config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {"seed": self.seed}
