"""The data that flows between tasks, substrates and learning rules.

Conventions (the whole contract, see ``../shared/STYLE.md`` §2.2):

* **Weights** are a plain ``dict[str, ndarray]``. Synaptic keys read
  ``"<pre>-><post>"`` with shape ``(n_pre, n_post)`` (``"in->hid"``,
  ``"hid->hid"``, ``"hid->out"``); biases are synapses from a constant unit,
  ``"bias-><post>"`` with shape ``(n_post,)``. Keys without ``"->"`` (such as
  the decorrelation matrices ``"decor:hid"``) are not synapses: perturbation and
  Q rules leave them alone.
* A **population** of candidate weight sets stacks each array along a new
  leading axis ``K``; substrates evaluate a population in one vectorised call.
* **loss** is lower-is-better everywhere; ``reward = -loss`` exists only inside
  rules.
* **Traces** returned by a forward pass, per layer ``<l>`` (arrays carry the
  sample axis ``B`` and, for recurrent substrates, the time axis ``T``):

  ``act:<l>``   activity a layer sends downstream (``act:in`` = the input);
  ``pre:<l>``   pre-activation (noise included when it is injected there);
  ``noise:<l>`` the node noise that was injected into that layer, if any;
  ``prev:<l>``  (recurrent) the previous step's activity fed back, ``x_{t-1}``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from spiking_synrl.errors import WeightSpecError
from spiking_synrl.validation import real_array

__all__ = [
    "Batch",
    "Capability",
    "Evaluation",
    "Forward",
    "Proposal",
    "Updates",
    "WeightSpec",
    "Weights",
    "is_synapse",
    "stack_weights",
    "unstack_weights",
]

Weights = Mapping[str, np.ndarray]
Updates = Mapping[str, np.ndarray]
Capability = Literal["grads", "node_noise", "traces", "feedback", "sequence", "stepwise"]
NoiseSite = Literal["pre", "post"]


def is_synapse(key: str) -> bool:
    """True for synaptic weight keys (``"in->hid"``, ``"bias->out"``)."""
    return "->" in key


@dataclass(frozen=True)
class WeightSpec:
    """Names and shapes of a substrate's weights; owned by the substrate.

    Attributes:
        shapes: expected shape of every weight array, by key.
        masks: optional 0/1 arrays of fixed sparsity; ``project`` zeroes the rest.
    """

    shapes: Mapping[str, tuple[int, ...]]
    masks: Mapping[str, np.ndarray] = field(default_factory=dict)

    @property
    def n_synapses(self) -> int:
        """Number of synaptic weights (the rules' agents)."""
        return int(sum(np.prod(s) for k, s in self.shapes.items() if is_synapse(k)))

    def validate(self, weights: Any, owner: str = "weights") -> dict[str, np.ndarray]:
        """Check keys, shapes and finiteness; return float64 copies-as-arrays.

        Raises:
            WeightSpecError: naming the key, the expected and the given shape.
        """
        if not isinstance(weights, Mapping):
            raise WeightSpecError(
                f"The {owner!r} must be a dict of arrays with keys "
                f"{sorted(self.shapes)}. Got {type(weights).__name__} instead."
            )
        missing = sorted(set(self.shapes) - set(weights))
        extra = sorted(set(weights) - set(self.shapes))
        if missing or extra:
            raise WeightSpecError(
                f"The {owner!r} must have exactly the keys {sorted(self.shapes)}. "
                f"Missing {missing}, unexpected {extra}."
            )
        out = {}
        for key, shape in self.shapes.items():
            arr = real_array(weights[key])
            if arr is None:
                raise WeightSpecError(
                    f"The weight {key!r} in {owner!r} must be an array of real numbers. Got "
                    f"{type(weights[key]).__name__} {weights[key]!r:.60} instead."
                )
            if arr.shape != tuple(shape):
                raise WeightSpecError(
                    f"The weight {key!r} in {owner!r} must have shape {tuple(shape)}. "
                    f"Got shape {arr.shape} instead."
                )
            if not np.all(np.isfinite(arr)):
                raise WeightSpecError(
                    f"The weight {key!r} in {owner!r} must be finite. Got "
                    f"{int(np.sum(~np.isfinite(arr)))} NaN or infinite values."
                )
            out[key] = arr
        return out

    def project(self, weights: Weights) -> dict[str, np.ndarray]:
        """Apply fixed masks (sparsity) after an update."""
        return {k: (v * self.masks[k] if k in self.masks else v) for k, v in weights.items()}


def stack_weights(candidates: tuple[Weights, ...] | list[Weights]) -> dict[str, np.ndarray]:
    """Stack K weight dicts into one dict of ``(K, ...)`` arrays."""
    keys = candidates[0].keys()
    return {k: np.stack([np.asarray(c[k], dtype=float) for c in candidates]) for k in keys}


def unstack_weights(stacked: Weights, k: int) -> dict[str, np.ndarray]:
    """Candidate ``k`` of a stacked population."""
    return {key: np.asarray(v[k]) for key, v in stacked.items()}


@dataclass(frozen=True, eq=False)
class Batch:
    """Inputs and targets of one batch.

    Attributes:
        inputs: ``(B, n_in)`` for static tasks, ``(B, T, n_in)`` for sequences.
        targets: class indices ``(B,)`` / ``(B, T)`` for classification, values
            ``(B, n_out)`` / ``(B, T, n_out)`` for regression.
        mask: for sequences, ``(B, T)`` weights of each step in the loss
            (0 = not scored, e.g. a wash-out or the blank part of a copy task).
    """

    inputs: np.ndarray
    targets: np.ndarray
    mask: np.ndarray | None = None

    def __len__(self) -> int:
        return int(self.inputs.shape[0])


@dataclass(frozen=True, eq=False)
class Forward:
    """Result of running a substrate: outputs plus the traces rules read.

    ``outputs`` is ``(B, n_out)`` (static) or ``(B, T, n_out)`` (sequence), with
    a leading candidate axis ``K`` when a population was evaluated.
    """

    outputs: np.ndarray
    traces: dict[str, np.ndarray] = field(default_factory=dict)

    def candidate(self, k: int) -> Forward:
        """The ``k``-th candidate of a population forward."""
        return Forward(self.outputs[k], {n: t[k] for n, t in self.traces.items()})


@dataclass(frozen=True, eq=False)
class Proposal:
    """What a rule asks to have evaluated this step.

    Attributes:
        candidates: weight sets to evaluate on the same batch, in one call.
        node_noise: std of the Gaussian node noise, one per candidate (0 = clean).
        noise_site: ``"pre"`` adds the noise to pre-activations (node
            perturbation), ``"post"`` to the layer outputs (Lansdell et al.).
        with_grads: ask the substrate for the loss gradient of candidate 0.
        feedback: matrices that replace ``W.T`` in that backward pass, by
            weight key (feedback alignment / learned feedback).
        private: data only this rule reads back in ``tell`` (noise, actions).
    """

    candidates: tuple[Weights, ...]
    node_noise: tuple[float, ...] | None = None
    noise_site: NoiseSite = "pre"
    with_grads: bool = False
    feedback: Mapping[str, np.ndarray] | None = None
    private: Mapping[str, Any] = field(default_factory=dict)

    def noise_levels(self) -> np.ndarray:
        """Per-candidate node noise as an array of length K."""
        if self.node_noise is None:
            return np.zeros(len(self.candidates))
        return np.asarray(self.node_noise, dtype=float)


@dataclass(frozen=True, eq=False)
class Evaluation:
    """One candidate's result on the batch.

    Attributes:
        loss: per-sample loss ``(B,)``; the objective is its mean.
        forward: outputs and traces of this candidate.
        step_loss: per-sample, per-step loss ``(B, T)`` for sequence tasks
            (already multiplied by the batch mask), else None.
        grads: gradient of the mean loss by weight key (``with_grads`` only).
        deltas: backpropagated errors ``dL/dpre`` by layer (``with_grads`` only).
    """

    loss: np.ndarray
    forward: Forward
    step_loss: np.ndarray | None = None
    grads: dict[str, np.ndarray] | None = None
    deltas: dict[str, np.ndarray] | None = None

    @property
    def mean_loss(self) -> float:
        """The scalar objective: mean over samples."""
        return float(np.mean(self.loss))
