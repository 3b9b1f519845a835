r"""Copy task: recall a random symbol sequence after a blank delay.

With ``L = seq_len``, ``D = delay`` and ``C = n_symbols + 2`` classes
(0 blank, ``1..n_symbols`` symbols, ``C - 1`` marker), one sample of length
``T = 2 L + D`` is

.. math::

    a_{1..L} \sim \mathcal U\{1, \dots, n_{sym}\}, \qquad
    u = (a_1, \dots, a_L,\ \underbrace{0, \dots, 0}_{D},\
         \underbrace{C-1, \dots, C-1}_{L}), \qquad
    y^* = (\underbrace{0, \dots, 0}_{L + D},\ a_1, \dots, a_L)

Inputs are one-hot ``(B, T, C)``. With ``loss="mse"`` (the reference's choice)
targets are one-hot ``(B, T, C)`` (blank steps are the one-hot of class 0);
with ``loss="ce"`` they are int64 class indices ``(B, T)``.

=============  ==========================================================
symbol         meaning
=============  ==========================================================
``a``          the random sequence to remember
``seq_len``    ``L``, its length (10 here; 100 in the reference)
``delay``      ``D``, blanks between the sequence and the recall cue (5; 10)
mask           1 on the ``L`` recall steps only, or on every step with
               ``score_all=True`` (the reference scores all steps)
accuracy       argmax of the output equals the target class, over scored steps
=============  ==========================================================

The train (``n_train`` sequences) and test (``n_test``) splits are fixed, drawn
from independent child seeds of ``seed``; ``eval_split`` is ``"test"``.

Reference: Hochreiter & Schmidhuber, "Long short-term memory", Neural Comput.
9(8) (1997), experiment 2; the generator of García Fernández, Keemink & van
Gerven, Front. Neurosci. 18:1439155 (2024), code ``jesusgf96/NP_RNNs``
``datasets.py`` ``generate_copy_data`` (``shared/papers.md`` §4(c)).
"""

from __future__ import annotations

from typing import Any, ClassVar, Literal, cast

import numpy as np

from spiking_synrl.tasks.base import Task
from spiking_synrl.types import Batch
from spiking_synrl.validation import check_bool, check_int, check_options

__all__ = ["CopyTask"]


class CopyTask(Task):
    """Remember ``seq_len`` symbols over ``delay`` blanks, recall them on the markers.

    Args:
        seed: seeds both splits (independent child seeds for train and test).
        n_symbols: alphabet size; there are ``n_symbols + 2`` input/output classes.
        seq_len: symbols to remember.
        delay: blank steps between the sequence and the markers.
        loss: ``"mse"`` on one-hot targets or ``"ce"`` on class indices.
        score_all: score every step (reference) instead of the recall steps only.
        n_train: training sequences.
        n_test: test sequences.
    """

    name: ClassVar[str] = "copy"
    sequence: ClassVar[bool] = True
    classification: ClassVar[bool] = True
    eval_split = "test"

    def __init__(
        self,
        *,
        seed: int = 0,
        n_symbols: int = 8,
        seq_len: int = 10,
        delay: int = 5,
        loss: str = "mse",
        score_all: bool = False,
        n_train: int = 256,
        n_test: int = 128,
    ) -> None:
        owner = "CopyTask"
        self.seed = check_int(seed, "seed", owner, low=0)
        self.n_symbols = check_int(n_symbols, "n_symbols", owner, low=1)
        self.seq_len = check_int(seq_len, "seq_len", owner, low=1)
        self.delay = check_int(delay, "delay", owner, low=0)
        self.loss_name = cast(
            Literal["ce", "mse"], check_options(loss, "loss", owner, ("mse", "ce"))
        )
        self.score_all = check_bool(score_all, "score_all", owner)
        n_train = check_int(n_train, "n_train", owner, low=1)
        self.n_test = check_int(n_test, "n_test", owner, low=1)
        self.n_classes = self.n_symbols + 2
        self.marker = self.n_classes - 1
        self.n_inputs = self.n_classes
        self.n_outputs = self.n_classes
        rng_train, rng_test = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2)
        )
        self.splits = {
            "train": self._generate(n_train, rng_train),
            "test": self._generate(self.n_test, rng_test),
        }

    @property
    def length(self) -> int:
        """Steps per sequence, ``2 * seq_len + delay``."""
        return 2 * self.seq_len + self.delay

    def _generate(self, n: int, rng: np.random.Generator) -> Batch:
        seq = rng.integers(1, self.n_symbols + 1, size=(n, self.seq_len))
        cue = self.seq_len + self.delay  # first recall step
        u = np.zeros((n, self.length), dtype=np.int64)
        u[:, : self.seq_len] = seq
        u[:, cue:] = self.marker
        y = np.zeros((n, self.length), dtype=np.int64)
        y[:, cue:] = seq
        eye = np.eye(self.n_classes)
        targets = eye[y] if self.loss_name == "mse" else y
        mask = np.ones((n, self.length))
        if not self.score_all:
            mask[:, :cue] = 0.0
        return Batch(eye[u], targets, mask)

    def config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {
            "seed": self.seed,
            "n_symbols": self.n_symbols,
            "seq_len": self.seq_len,
            "delay": self.delay,
            "loss": self.loss_name,
            "score_all": self.score_all,
            "n_train": self.n_train,
            "n_test": self.n_test,
        }
