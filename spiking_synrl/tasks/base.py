"""The task contract: batches of inputs and targets, a loss and its gradient.

A task owns its data (generated or loaded once, from a seed, offline) and is
agnostic of the network. Static tasks give ``(B, n_in)`` inputs; sequence tasks
give ``(B, T, n_in)`` inputs with a ``(B, T)`` mask of the steps that count.

The objective of a batch is the mean over samples of the per-sample loss; for a
sequence, the per-sample loss is the mask-weighted sum of per-step losses
divided by the number of scored steps of that sample.
"""

from __future__ import annotations

from typing import ClassVar, Literal

import numpy as np

from spiking_synrl.errors import ConfigError
from spiking_synrl.losses import LOSSES, accuracy
from spiking_synrl.types import Batch
from spiking_synrl.validation import check_generator, check_int

__all__ = ["Task"]


class Task:
    """Base class of all tasks.

    Subclasses set ``name``, ``n_inputs``, ``n_outputs``, ``loss_name``
    (``"ce"`` or ``"mse"``), ``sequence`` and fill ``self.splits`` (a dict
    ``{"train": Batch, "val": Batch}`` or with ``"test"``) in ``__init__``.
    """

    name: ClassVar[str] = "task"
    sequence: ClassVar[bool] = False
    n_inputs: int
    n_outputs: int
    loss_name: Literal["ce", "mse"]
    splits: dict[str, Batch]
    #: split used for validation metrics and early stopping
    eval_split: str = "val"

    # -- data -----------------------------------------------------------------
    @property
    def n_train(self) -> int:
        """Number of training samples."""
        return len(self.splits["train"])

    def split(self, name: str) -> Batch:
        """A whole split (``"train"``, ``"val"`` or ``"test"``)."""
        if name not in self.splits:
            raise ConfigError(
                f"The 'split' parameter of {type(self).__name__}.split must be one of "
                f"{sorted(self.splits)}. Got {name!r} instead."
            )
        return self.splits[name]

    def sample_batch(self, rng: np.random.Generator, batch_size: int | None = None) -> Batch:
        """A random training batch; ``batch_size=None`` gives the whole training set."""
        train = self.splits["train"]
        if batch_size is None or batch_size >= len(train):
            return train
        check_generator(rng, f"{type(self).__name__}.sample_batch")
        check_int(batch_size, "batch_size", f"{type(self).__name__}.sample_batch", low=1)
        idx = rng.choice(len(train), size=batch_size, replace=False)
        return Batch(
            train.inputs[idx],
            train.targets[idx],
            None if train.mask is None else train.mask[idx],
        )

    # -- loss -----------------------------------------------------------------
    def step_loss(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        """Per-step loss ``(..., B, T)`` of a sequence task, mask applied."""
        fn, _ = LOSSES[self.loss_name]
        per_step = fn(outputs, batch.targets)
        return per_step * batch.mask if batch.mask is not None else per_step

    def _mask_norm(self, batch: Batch) -> np.ndarray:
        assert batch.mask is not None  # internal: sequence batches always carry one
        return np.maximum(batch.mask.sum(axis=-1), 1e-12)

    def loss(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        """Per-sample loss ``(..., B)``; leading candidate axes broadcast."""
        if self.sequence:
            return self.step_loss(outputs, batch).sum(axis=-1) / self._mask_norm(batch)
        fn, _ = LOSSES[self.loss_name]
        return fn(outputs, batch.targets)

    def loss_grad(self, outputs: np.ndarray, batch: Batch) -> np.ndarray:
        """Gradient of each sample's loss w.r.t. the outputs (same shape)."""
        _, grad = LOSSES[self.loss_name]
        g = grad(outputs, batch.targets)
        if self.sequence:
            g = g * (batch.mask / self._mask_norm(batch)[..., None])[..., None]
        return g

    # -- metrics --------------------------------------------------------------
    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        """Loss and, for classification, accuracy (of the scored steps)."""
        out = {"loss": float(np.mean(self.loss(outputs, batch)))}
        if self.loss_name == "ce" or getattr(self, "classification", False):
            targets = batch.targets
            if self.loss_name == "mse":  # one-hot regression targets (copy task)
                targets = np.argmax(targets, axis=-1)
            hit = accuracy(outputs, targets)
            if batch.mask is not None:
                out["accuracy"] = float(np.sum(hit * (batch.mask > 0)) / np.sum(batch.mask > 0))
            else:
                out["accuracy"] = float(np.mean(hit))
        return out
