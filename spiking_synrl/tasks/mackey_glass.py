r"""Mackey-Glass: forecast a chaotic delay-differential series ``horizon`` steps ahead.

The series (Mackey & Glass 1977) solves

.. math::

    \frac{dx}{dt} = \beta \frac{x(t - \tau)}{1 + x(t - \tau)^{n}} - \gamma\, x(t),
    \qquad \tau = 17,\ \beta = 0.2,\ \gamma = 0.1,\ n = 10,

integrated with forward Euler, ``dt = 0.1`` (10 sub-steps per sample, so the
delay is ``tau / dt = 170`` sub-steps), from a random initial history
``x = 1.2 + 0.2 (U(0, 1) - 0.5)`` over the 170 sub-steps before ``t = 0`` and
``x(0) = 1.2``. One sample is kept every 10 sub-steps, squashed with
``tanh(x - 1)``; the first ``DISCARD = 100`` samples (the generator's transient)
are dropped and the training series' mean is subtracted from both series:

.. math::

    s_t = \tanh(x(t) - 1) - \bar s_{\mathrm{train}}, \qquad
    \text{input } u_t = s_t, \qquad \text{target } y^*_t = s_{t+h}

=============  ==========================================================
symbol         meaning
=============  ==========================================================
``s``          the centred series; ``series["train"]``, ``series["test"]``
``h``          ``horizon``, forecast distance in samples (15)
``n_train``    input/target steps of the training series (5,000)
``n_test``     input/target steps of the test series (5,000)
``window``     length of a training window (100); an epoch covers the
               training series once: ``n_train // window`` windows
``washout``    first steps of every window/sequence not scored (mask 0),
               so the network's state can settle (20)
NRMSE          ``sqrt(mean (y - y*)^2) / std(y*)`` over scored steps;
               predicting the mean scores about 1
=============  ==========================================================

Train and test are two independently initialised series (child seeds of
``seed``), as in the reference code (``n_samples = 2 * n_batches``).

Deviation from the reference code (``shared/papers.md`` §4(f).3): it pairs input
``s[t + 15]`` with target ``s[t]`` (a lag); this task *forecasts*, input
``s[t]`` -> target ``s[t + h]``. The reference also removes one mean computed
over train and test together; here only the training mean is used (no test
information leaks into the preprocessing).

Reference: M. C. Mackey & L. Glass, "Oscillation and chaos in physiological
control systems", *Science* 197:287-289 (1977); the generator of García
Fernández, Keemink & van Gerven, Front. Neurosci. 18:1439155 (2024), code
``jesusgf96/NP_RNNs`` ``datasets.py`` (``shared/papers.md`` §4(c)).
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np

from spiking_synrl.errors import ConfigError
from spiking_synrl.tasks.base import Task
from spiking_synrl.types import Batch
from spiking_synrl.validation import check_generator, check_int

__all__ = ["MackeyGlass", "mackey_glass_series", "mean_predictor_nrmse", "nrmse"]

TAU = 17  #: delay, in samples
BETA = 0.2
GAMMA = 0.1
POWER = 10  #: the exponent n
SUBSTEPS = 10  #: Euler sub-steps per sample (dt = 1 / SUBSTEPS)
DISCARD = 100  #: samples of generator transient dropped from the start


def mackey_glass_series(
    length: int,
    rng: np.random.Generator,
    *,
    tau: int = TAU,
    beta: float = BETA,
    gamma: float = GAMMA,
    power: int = POWER,
    substeps: int = SUBSTEPS,
    discard: int = DISCARD,
) -> np.ndarray:
    """``length`` samples of ``tanh(x - 1)`` for the Mackey-Glass series (not centred).

    Args:
        length: number of samples returned (after the ``discard`` transient).
        rng: draws the initial history.
        tau: delay in samples; the history spans ``tau * substeps`` sub-steps.
        beta, gamma, power: the equation's constants.
        substeps: Euler sub-steps per sample, ``dt = 1 / substeps``.
        discard: samples dropped from the start.

    Returns:
        A float64 array of shape ``(length,)``.
    """
    delay = tau * substeps
    # buf[k] is x at sub-step k - delay: the random history, then x(0) = 1.2
    buf = (1.2 + 0.2 * (rng.random(delay) - 0.5)).tolist()
    buf.append(1.2)
    n_steps = (length + discard) * substeps
    append = buf.append
    for k in range(n_steps):  # plain floats: ~10x faster than numpy scalars here
        x_tau = buf[k]
        x = buf[k + delay]
        # dividing by substeps (not multiplying by dt) matches the reference bit for bit
        append(x + (beta * x_tau / (1.0 + x_tau**power) - gamma * x) / substeps)
    samples = np.asarray(buf[delay + substeps :: substeps], dtype=np.float64)
    return np.tanh(samples - 1.0)[discard:]


def nrmse(outputs: np.ndarray, batch: Batch) -> float:
    """Normalised RMSE over the scored steps: ``sqrt(mean (y - y*)^2) / std(y*)``."""
    outputs = np.asarray(outputs, dtype=np.float64)
    scored = np.ones(batch.targets.shape[:-1], dtype=bool) if batch.mask is None else batch.mask > 0
    sq = (outputs - batch.targets) ** 2  # (..., B, T, n_out)
    sel = np.broadcast_to(scored[..., None], sq.shape)
    rmse = math.sqrt(float(np.mean(sq[sel])))
    return rmse / float(np.std(batch.targets[scored]))


def mean_predictor_nrmse(batch: Batch, mean: float = 0.0) -> float:
    """NRMSE of always predicting ``mean`` (the training mean, 0 after centring); about 1."""
    return nrmse(np.full_like(batch.targets, mean), batch)


class MackeyGlass(Task):
    """Forecast the Mackey-Glass series ``horizon`` steps ahead (1 input, 1 output, MSE).

    Splits: ``"train"`` is the whole training series as one sequence
    (``(1, n_train, 1)``) and ``"test"`` the whole test series; both have mask 0
    on their first ``washout`` steps. :meth:`sample_batch` cuts training
    windows of ``window`` steps.

    Args:
        seed: seeds both series (independent child seeds for train and test).
        horizon: forecast distance ``h`` in samples.
        n_train: steps of the training series.
        n_test: steps of the test series.
        window: steps of a training window.
        washout: leading steps of each window or sequence left unscored.
    """

    name: ClassVar[str] = "mackey-glass"
    sequence: ClassVar[bool] = True
    eval_split = "test"

    def __init__(
        self,
        *,
        seed: int = 0,
        horizon: int = 15,
        n_train: int = 5000,
        n_test: int = 5000,
        window: int = 100,
        washout: int = 20,
    ) -> None:
        owner = "MackeyGlass"
        self.seed = check_int(seed, "seed", owner, low=0)
        self.horizon = check_int(horizon, "horizon", owner, low=1)
        self.train_length = check_int(n_train, "n_train", owner, low=1)
        self.window = check_int(window, "window", owner, low=1)
        self.washout = check_int(washout, "washout", owner, low=0)
        self.test_length = check_int(n_test, "n_test", owner, low=1)
        # bounds that tie two parameters together: each message names both
        if self.window > self.train_length:
            raise ConfigError(
                f"The 'window' parameter of {owner} must be an int in [1, "
                f"{self.train_length}] (at most 'n_train'). Got {self.window} instead."
            )
        for name, bound in (("window", self.window), ("n_test", self.test_length)):
            if self.washout >= bound:
                raise ConfigError(
                    f"The 'washout' parameter of {owner} must be an int in [0, {bound - 1}] "
                    f"(less than {name!r}). Got {self.washout} instead."
                )
        self.n_inputs = 1
        self.n_outputs = 1
        self.loss_name = "mse"

        rng_train, rng_test = (
            np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(2)
        )
        raw_train = mackey_glass_series(self.train_length + self.horizon, rng_train)
        raw_test = mackey_glass_series(self.test_length + self.horizon, rng_test)
        mean = float(np.mean(raw_train))
        #: the centred series, ``n + horizon`` samples each
        self.series = {"train": raw_train - mean, "test": raw_test - mean}
        self.splits = {name: self._whole(s) for name, s in self.series.items()}

    def _whole(self, s: np.ndarray) -> Batch:
        n = s.size - self.horizon
        mask = np.ones((1, n))
        mask[:, : self.washout] = 0.0
        return Batch(s[None, :n, None], s[None, self.horizon :, None], mask)

    def config(self) -> dict[str, Any]:
        """The constructor arguments."""
        return {
            "seed": self.seed,
            "horizon": self.horizon,
            "n_train": self.train_length,
            "n_test": self.test_length,
            "window": self.window,
            "washout": self.washout,
        }

    # -- windows ----------------------------------------------------------------
    @property
    def n_windows(self) -> int:
        """Non-overlapping training windows: ``n_train // window``."""
        return self.train_length // self.window

    @property
    def n_train(self) -> int:
        """Training samples per epoch: the number of windows (not the series length)."""
        return self.n_windows

    def steps_per_epoch(self, batch_size: int | None = None) -> int:
        """Batches that cover the training series once: ``ceil(n_windows / batch_size)``."""
        if batch_size is None:
            return 1
        check_int(batch_size, "batch_size", "MackeyGlass.steps_per_epoch", low=1)
        return math.ceil(self.n_windows / batch_size)

    def _windows(self, starts: np.ndarray) -> Batch:
        train = self.splits["train"]
        idx = starts[:, None] + np.arange(self.window)
        mask = np.ones((starts.size, self.window))
        mask[:, : self.washout] = 0.0
        return Batch(train.inputs[0, idx], train.targets[0, idx], mask)

    def sample_batch(self, rng: np.random.Generator, batch_size: int | None = None) -> Batch:
        """``batch_size`` windows at uniformly random offsets of the training series.

        ``batch_size=None`` gives all ``n_windows`` non-overlapping windows, in order.
        Each window's first ``washout`` steps have mask 0.
        """
        if batch_size is None:
            return self._windows(np.arange(self.n_windows) * self.window)
        check_generator(rng, "MackeyGlass.sample_batch")
        check_int(batch_size, "batch_size", "MackeyGlass.sample_batch", low=1)
        starts = rng.integers(0, self.train_length - self.window + 1, size=batch_size)
        return self._windows(starts)

    # -- metrics ----------------------------------------------------------------
    def metrics(self, outputs: np.ndarray, batch: Batch) -> dict[str, float]:
        """Loss and NRMSE over the scored steps."""
        out = super().metrics(outputs, batch)
        out["nrmse"] = nrmse(outputs, batch)
        return out
