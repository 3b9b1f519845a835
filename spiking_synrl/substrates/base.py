"""The substrate contract: a network structure that is a function of its weights.

A substrate holds no weight values. The trainer owns the weights and passes them
in; a population of K candidate weight sets (arrays stacked on a leading axis)
is evaluated in one vectorised call, :meth:`Substrate.forward_population`.

Randomness contract: a substrate draws per-candidate noise only through
:func:`broadcast_noise` (one ``(K, ...)`` array per call) and shared draws (e.g.
the seeds of spiking inputs, common to all candidates) in amounts that do not
depend on K. Then a slice of the candidates, evaluated under
:func:`candidate_slice`, gets exactly the numbers of the whole population's call,
which is what makes parallel evaluation (:mod:`spiking_synrl.parallel`) give the
same results for any number of workers.
"""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator, Mapping
from typing import Any, ClassVar

import numpy as np

from spiking_synrl.types import Capability, Forward, NoiseSite, Weights, WeightSpec
from spiking_synrl.validation import check_array, check_float, check_generator, check_options

__all__ = ["ACTIVATIONS", "Substrate", "candidate_slice"]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 0.5 * (1.0 + np.tanh(0.5 * x))  # overflow-free logistic


#: name -> (f(pre), f'(pre))
ACTIVATIONS = {
    "tanh": (np.tanh, lambda x: 1.0 - np.tanh(x) ** 2),
    "relu": (lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)),
    "sigmoid": (_sigmoid, lambda x: _sigmoid(x) * (1.0 - _sigmoid(x))),
    "linear": (lambda x: x, np.ones_like),
}


class Substrate:
    """Base class: weight spec, capabilities and the population forward pass."""

    name: ClassVar[str] = "substrate"
    weight_spec: WeightSpec
    capabilities: frozenset[Capability] = frozenset()
    n_inputs: int
    n_outputs: int

    def init_weights(self, rng: np.random.Generator) -> dict[str, np.ndarray]:
        """Fresh weights drawn from ``rng``."""
        raise NotImplementedError

    def config(self) -> dict[str, Any]:
        """The constructor arguments, for checkpoints and ``synrl resume``."""
        raise NotImplementedError

    def forward_population(
        self,
        weights: Weights,
        inputs: np.ndarray,
        *,
        node_noise: np.ndarray | None = None,
        noise_site: NoiseSite = "pre",
        rng: np.random.Generator | None = None,
    ) -> Forward:
        """Evaluate K stacked candidates (arrays ``(K, ...)``) on the same inputs."""
        raise NotImplementedError

    def forward(
        self,
        weights: Weights,
        inputs: np.ndarray,
        *,
        node_noise: float = 0.0,
        noise_site: NoiseSite = "pre",
        rng: np.random.Generator | None = None,
    ) -> Forward:
        """Evaluate one weight set; arrays come back without the candidate axis."""
        owner = f"{type(self).__name__}.forward"
        w = self.weight_spec.validate(weights)
        node_noise = check_float(node_noise, "node_noise", owner, low=0.0, closed="left")
        stacked = {k: v[None] for k, v in w.items()}
        fwd = self.forward_population(
            stacked, inputs, node_noise=np.array([node_noise]), noise_site=noise_site, rng=rng
        )
        return fwd.candidate(0)

    def close(self) -> None:
        """Release resources (processes, build directories). No-op by default."""

    # -- shared checks --------------------------------------------------------
    def _check_population(
        self,
        weights: Weights,
        inputs: np.ndarray,
        node_noise: np.ndarray | None,
        noise_site: str,
        rng: np.random.Generator | None,
        input_shape: tuple[int | None, ...],
    ) -> tuple[int, np.ndarray, np.ndarray]:
        from spiking_synrl.errors import ConfigError, WeightSpecError

        owner = f"{type(self).__name__}.forward_population"
        shapes = self.weight_spec.shapes
        if not isinstance(weights, Mapping) or set(weights) != set(shapes):
            got = sorted(weights) if isinstance(weights, Mapping) else type(weights).__name__
            raise WeightSpecError(
                f"The weights of {owner} must be a dict with exactly the keys "
                f"{sorted(shapes)}. Got {got} instead."
            )
        k = int((np.shape(weights[next(iter(shapes))]) or (0,))[0])
        for key, shape in shapes.items():
            value = weights[key]
            if np.shape(value) != (k, *shape):
                raise WeightSpecError(
                    f"The weight {key!r} of {owner} must have shape "
                    f"(K, {', '.join(map(str, shape))}) with K={k} candidates. "
                    f"Got {np.shape(value)} instead."
                )
            if np.asarray(value).dtype.kind not in "biuf":
                raise WeightSpecError(
                    f"The weight {key!r} of {owner} must hold real numbers. Got an array "
                    f"of dtype {np.asarray(value).dtype} instead."
                )
        inputs = check_array(inputs, "inputs", owner, shape=input_shape)
        check_options(noise_site, "noise_site", owner, ("pre", "post"))
        try:
            noise = np.zeros(k) if node_noise is None else np.asarray(node_noise, dtype=float)
        except (TypeError, ValueError):
            noise = np.full(k, np.nan)  # reported below
        if noise.shape != (k,) or np.any(noise < 0) or not np.all(np.isfinite(noise)):
            raise ConfigError(
                f"The 'node_noise' parameter of {owner} must be {k} finite values >= 0, "
                f"one per candidate. Got {node_noise!r} instead."
            )
        if np.any(noise > 0):
            check_generator(rng, owner)
        return k, inputs, noise


#: set by :func:`candidate_slice` while a worker evaluates candidates ``k0:k1`` of a
#: population whose node-noise levels are ``sigma``: ``(sigma, k0, k1)``
_CANDIDATE_SLICE: contextvars.ContextVar[tuple[np.ndarray, int, int] | None] = (
    contextvars.ContextVar("candidate_slice", default=None)
)


@contextlib.contextmanager
def candidate_slice(sigma: np.ndarray, k0: int, k1: int) -> Iterator[None]:
    """Within the block, node noise is drawn as for all ``len(sigma)`` candidates and
    :func:`broadcast_noise` keeps rows ``k0:k1``.

    A worker that evaluates a slice of a population (:mod:`spiking_synrl.parallel`)
    thus consumes the generator exactly as the whole population's call would, and
    its candidates get the very numbers they would get in that call: results do
    not depend on how the population is split.
    """
    token = _CANDIDATE_SLICE.set((np.asarray(sigma, dtype=float), int(k0), int(k1)))
    try:
        yield
    finally:
        _CANDIDATE_SLICE.reset(token)


def broadcast_noise(
    rng: np.random.Generator | None, sigma: np.ndarray, shape: tuple[int, ...]
) -> np.ndarray | None:
    """Gaussian node noise ``(K, *shape)`` with std ``sigma[k]``, or None if all 0."""
    whole = _CANDIDATE_SLICE.get()
    k0, k1 = 0, len(sigma)
    if whole is not None and k1 - k0 == whole[2] - whole[1]:
        sigma, (k0, k1) = whole[0], whole[1:]
    if not np.any(sigma > 0):
        return None
    assert rng is not None  # checked in _check_population
    xi = rng.standard_normal((len(sigma), *shape)) * sigma.reshape((-1,) + (1,) * len(shape))
    return xi[k0:k1] if (k0, k1) != (0, len(sigma)) else xi


def config_from(obj: Any, names: Mapping[str, Any]) -> dict[str, Any]:
    """Plain-JSON view of constructor arguments."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in names.items()}
