r"""Per-sample losses and their gradients with respect to the outputs.

.. math::

    \ell_{CE}(y, c) = -\log \mathrm{softmax}(y)_c, \qquad
    \partial \ell_{CE}/\partial y = \mathrm{softmax}(y) - \mathrm{onehot}(c)

    \ell_{MSE}(y, t) = \tfrac{1}{2}\sum_i (y_i - t_i)^2, \qquad
    \partial \ell_{MSE}/\partial y = y - t

``y`` are the network's outputs (logits for CE), ``c`` a class index, ``t`` a
target vector. Leading axes (candidates ``K``, samples ``B``, steps ``T``)
broadcast; the class / feature axis is the last one.
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "LOSSES",
    "accuracy",
    "cross_entropy",
    "cross_entropy_grad",
    "mse",
    "mse_grad",
    "softmax",
]


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis."""
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def _onehot(labels: np.ndarray, n: int) -> np.ndarray:
    return np.eye(n)[np.asarray(labels, dtype=int)]


def cross_entropy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Softmax cross-entropy per sample; ``labels`` broadcast against ``logits[..., 0]``."""
    z = logits - logits.max(axis=-1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=-1))
    labels = np.broadcast_to(np.asarray(labels, dtype=int), logits.shape[:-1])
    picked = np.take_along_axis(z, labels[..., None], axis=-1)[..., 0]
    return log_norm - picked


def cross_entropy_grad(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Per-sample gradient of :func:`cross_entropy` w.r.t. the logits."""
    labels = np.broadcast_to(np.asarray(labels, dtype=int), logits.shape[:-1])
    return softmax(logits) - _onehot(labels, logits.shape[-1])


def mse(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Half the squared error, summed over the output axis."""
    return 0.5 * np.sum((outputs - targets) ** 2, axis=-1)


def mse_grad(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Per-sample gradient of :func:`mse` w.r.t. the outputs."""
    return outputs - np.broadcast_to(targets, outputs.shape)


def accuracy(logits: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """1.0 where the largest output is the labelled class, else 0.0."""
    return (np.argmax(logits, axis=-1) == labels).astype(float)


LOSSES = {
    "ce": (cross_entropy, cross_entropy_grad),
    "mse": (mse, mse_grad),
}
