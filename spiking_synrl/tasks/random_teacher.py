r"""Random teacher: match the outputs of a fixed random tanh MLP (decision-boundary matching).

A teacher network with layer sizes ``(n_inputs, *teacher_hidden, n_outputs)``
and tanh on *every* layer (output included, as in the reference) labels random
inputs:

.. math::

    h^0 = x, \qquad h^{l} = \tanh\!\big(h^{l-1} W^{l} + b^{l}\big), \qquad
    y^* = h^{L}, \qquad W^{l}_{ij} \sim \mathcal U(-1, 1), \qquad
    x \sim \mathcal U(-s, s)^{n_{in}}

and the student is scored with ``mse``, ``\ell = \tfrac12 \lVert y - y^* \rVert^2``.

================  ==========================================================
symbol            meaning
================  ==========================================================
``W^l``, ``b^l``  teacher weights ``U(-1, 1)``; biases are 0 as in the
                  reference (``zero_bias=true``) unless ``teacher_bias=True``,
                  which draws them from ``U(-1, 1)`` too
``s``             ``input_scale`` (1.0)
``n_samples``     samples in each of the train and val splits (200)
================  ==========================================================

Deviation: the reference draws ``x ~ U(-10, 10)^DIM`` (``X_RANGE = 10``); with
``U(-1, 1)`` weights a tanh unit then sees pre-activations of order 10 and
saturates, so the teacher is close to a sign function of random hyperplanes.
``input_scale=1.0`` keeps the teacher in its smooth range; pass
``input_scale=10.0`` for the reference setting. ``W_RANGE = 1`` and
``DIM = 10`` are the reference's header constants (its exact notebook shapes are
unknown, ``shared/papers.md`` §1(c)). The loss is the half squared error, not
the reference's ``‖y - y*‖ / N``.

Reference: Bhargava, Rezaei & Lankarany, "Gradient-free neural network training
via synaptic-level reinforcement learning", AppliedMath 2(2):185-195 (2022);
code ``amanb2000/SynRL`` ``src/SynRLv1.jl`` (``match_network``,
``generate_network``, ``generate_data``).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np

from spiking_synrl.errors import ConfigError
from spiking_synrl.tasks.base import Task
from spiking_synrl.types import Batch
from spiking_synrl.validation import check_bool, check_float, check_int

__all__ = ["RandomTeacher", "teacher_forward"]


def teacher_forward(layers: Sequence[tuple[np.ndarray, np.ndarray]], x: np.ndarray) -> np.ndarray:
    """Outputs of a tanh MLP given as ``[(W, b), ...]`` with ``W`` of shape ``(n_pre, n_post)``."""
    h = np.asarray(x, dtype=np.float64)
    for w, b in layers:
        h = np.tanh(h @ w + b)
    return h


def _check_hidden(value: Any, owner: str) -> tuple[int, ...]:
    sizes = (value,) if isinstance(value, (int, np.integer)) else value
    ok = isinstance(sizes, (tuple, list)) and all(
        isinstance(s, (int, np.integer)) and not isinstance(s, bool) and s >= 1 for s in sizes
    )
    if not ok:
        raise ConfigError(
            f"The 'teacher_hidden' parameter of {owner} must be a tuple of ints in "
            f"[1, inf) (the hidden layer sizes; () for none). Got {value!r} instead."
        )
    return tuple(int(s) for s in sizes)


class RandomTeacher(Task):
    """Regress the outputs of a random tanh MLP teacher (MSE).

    Args:
        seed: seeds the teacher's weights and the inputs.
        n_inputs: input dimension (``DIM``).
        teacher_hidden: hidden layer sizes of the teacher, e.g. ``(10,)``.
        n_outputs: output dimension.
        input_scale: inputs are ``U(-input_scale, input_scale)``.
        n_samples: samples in each split (train and val).
        teacher_bias: draw the teacher's biases from ``U(-1, 1)`` (else 0).
    """

    name: ClassVar[str] = "random-teacher"
    sequence: ClassVar[bool] = False

    def __init__(
        self,
        *,
        seed: int = 0,
        n_inputs: int = 10,
        teacher_hidden: Sequence[int] = (10,),
        n_outputs: int = 1,
        input_scale: float = 1.0,
        n_samples: int = 200,
        teacher_bias: bool = False,
    ) -> None:
        owner = "RandomTeacher"
        self.seed = check_int(seed, "seed", owner, low=0)
        self.n_inputs = check_int(n_inputs, "n_inputs", owner, low=1)
        self.teacher_hidden = _check_hidden(teacher_hidden, owner)
        self.n_outputs = check_int(n_outputs, "n_outputs", owner, low=1)
        self.input_scale = check_float(input_scale, "input_scale", owner, low=0.0)
        self.n_samples = check_int(n_samples, "n_samples", owner, low=1)
        self.teacher_bias = check_bool(teacher_bias, "teacher_bias", owner)
        self.loss_name = "mse"

        rng = np.random.default_rng(self.seed)
        sizes = (self.n_inputs, *self.teacher_hidden, self.n_outputs)
        #: the teacher as ``[(W, b), ...]``, ``W`` of shape ``(n_pre, n_post)``
        self.teacher: list[tuple[np.ndarray, np.ndarray]] = []
        for n_pre, n_post in itertools.pairwise(sizes):
            w = rng.uniform(-1.0, 1.0, size=(n_pre, n_post))
            b = rng.uniform(-1.0, 1.0, size=n_post) if self.teacher_bias else np.zeros(n_post)
            self.teacher.append((w, b))
        self.splits = {}
        for split in ("train", "val"):
            x = rng.uniform(
                -self.input_scale, self.input_scale, size=(self.n_samples, self.n_inputs)
            )
            self.splits[split] = Batch(x, teacher_forward(self.teacher, x))

    def config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {
            "seed": self.seed,
            "n_inputs": self.n_inputs,
            "teacher_hidden": self.teacher_hidden,
            "n_outputs": self.n_outputs,
            "input_scale": self.input_scale,
            "n_samples": self.n_samples,
            "teacher_bias": self.teacher_bias,
        }
