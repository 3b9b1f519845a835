"""The substrate contract: a network structure that is a function of its weights.

A substrate holds no weight values. The trainer owns the weights and passes them
in; a population of K candidate weight sets (arrays stacked on a leading axis)
is evaluated in one vectorised call, :meth:`Substrate.forward_population`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from spiking_synrl.types import Capability, Forward, NoiseSite, WeightSpec, Weights
from spiking_synrl.validation import check_array, check_generator, check_options

__all__ = ["ACTIVATIONS", "Substrate"]


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
        w = self.weight_spec.validate(weights)
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
        owner = f"{type(self).__name__}.forward_population"
        first = next(iter(weights.values()))
        k = int(np.shape(first)[0])
        for key, shape in self.weight_spec.shapes.items():
            if key not in weights or np.shape(weights[key]) != (k, *shape):
                from spiking_synrl.errors import WeightSpecError

                got = np.shape(weights[key]) if key in weights else "missing"
                raise WeightSpecError(
                    f"The weight {key!r} of {owner} must have shape (K, {', '.join(map(str, shape))})"
                    f" with K={k} candidates. Got {got} instead."
                )
        inputs = check_array(inputs, "inputs", owner, shape=input_shape)
        noise = np.zeros(k) if node_noise is None else np.asarray(node_noise, dtype=float)
        check_options(noise_site, "noise_site", owner, ("pre", "post"))
        if noise.shape != (k,) or np.any(noise < 0) or not np.all(np.isfinite(noise)):
            from spiking_synrl.errors import ConfigError

            raise ConfigError(
                f"The 'node_noise' parameter of {owner} must be {k} finite values >= 0, "
                f"one per candidate. Got {node_noise!r} instead."
            )
        if np.any(noise > 0):
            check_generator(rng, owner)
        return k, inputs, noise


def broadcast_noise(
    rng: np.random.Generator | None, sigma: np.ndarray, shape: tuple[int, ...]
) -> np.ndarray | None:
    """Gaussian node noise ``(K, *shape)`` with std ``sigma[k]``, or None if all 0."""
    if not np.any(sigma > 0):
        return None
    assert rng is not None  # checked in _check_population
    return rng.standard_normal((len(sigma), *shape)) * sigma.reshape((-1,) + (1,) * len(shape))


def config_from(obj: Any, names: Mapping[str, Any]) -> dict[str, Any]:
    """Plain-JSON view of constructor arguments."""
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in names.items()}
