"""The learning-rule contract: pure ``init`` / ``ask`` / ``tell`` over weight dicts.

A rule stores only validated hyperparameters; everything that changes lives in an
explicit, frozen state object that ``ask`` and ``tell`` take and return (optax,
evosax). One training step is::

    proposal, state = rule.ask(state, weights, rng)        # what to evaluate
    evaluations = evaluate_proposal(substrate, task, proposal, batch, rng)
    updates, state, metrics = rule.tell(state, proposal, evaluations)
    weights = apply_updates(weights, updates)

The public ``ask``/``tell`` do the bookkeeping (checks, metrics); subclasses write
only the maths in ``_init``/``_ask``/``_tell``.

State objects are frozen dataclasses whose fields are numpy arrays, Python
scalars, ``None``, dicts of arrays, or nested state dataclasses, so that a
checkpoint needs no pickle.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from spiking_synrl.errors import ConfigError, NonFiniteLossError
from spiking_synrl.types import Capability, Evaluation, Proposal, Updates, Weights, is_synapse
from spiking_synrl.validation import check_generator

__all__ = ["LearningRule", "apply_updates", "synapse_keys"]

S = TypeVar("S")


def synapse_keys(weights: Weights) -> list[str]:
    """Sorted synaptic keys (``"a->b"``) of a weight dict."""
    return sorted(k for k in weights if is_synapse(k))


def apply_updates(weights: Weights, updates: Updates) -> dict[str, np.ndarray]:
    """``w + u`` for every key in ``updates``; other keys are copied unchanged."""
    out = {k: np.asarray(v) for k, v in weights.items()}
    for k, u in updates.items():
        out[k] = out[k] + u
    return out


class LearningRule(Generic[S]):
    """Base class of all learning rules.

    Class attributes:
        name: registry name (kebab-case), e.g. ``"weight-perturbation"``.
        requires: substrate capabilities the rule needs (``"grads"``,
            ``"node_noise"``, ``"traces"``, ``"feedback"``, ``"sequence"``).
        finite_updates: True when every update is finite by construction (a
            validated step size times a small integer), so ``tell`` skips its
            O(n_synapses) finiteness check of the updates.
    """

    name: ClassVar[str] = "rule"
    requires: ClassVar[frozenset[Capability]] = frozenset()
    finite_updates: ClassVar[bool] = False

    # -- hyperparameters (sklearn style: __init__ stores validated arguments) --
    def get_params(self) -> dict[str, Any]:
        """The constructor arguments, as stored."""
        sig = inspect.signature(type(self).__init__)
        return {p: getattr(self, p) for p in sig.parameters if p != "self"}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_params().items())
        return f"{type(self).__name__}({args})"

    # -- public API: bookkeeping, then the maths ------------------------------
    def init(self, weights: Weights, rng: np.random.Generator) -> S:
        """Initial state for these weights."""
        check_generator(rng, f"{type(self).__name__}.init")
        return self._init({k: np.asarray(v) for k, v in weights.items()}, rng)

    def ask(self, state: S, weights: Weights, rng: np.random.Generator) -> tuple[Proposal, S]:
        """Candidates to evaluate (with node noise / gradient requests)."""
        proposal, state = self._ask(state, weights, rng)
        if not proposal.candidates:
            raise ConfigError(f"{type(self).__name__}.ask proposed no candidate")
        return proposal, state

    def tell(
        self, state: S, proposal: Proposal, evaluations: Sequence[Evaluation]
    ) -> tuple[dict[str, np.ndarray], S, dict[str, float]]:
        """Weight updates from the evaluations of a proposal.

        Raises:
            NonFiniteLossError: if a loss or an update is NaN or infinite.
        """
        if len(evaluations) != len(proposal.candidates):
            raise ConfigError(
                f"{type(self).__name__}.tell needs one evaluation per candidate: "
                f"{len(proposal.candidates)} expected, got {len(evaluations)}."
            )
        for ev in evaluations:
            if not np.all(np.isfinite(ev.loss)):
                raise NonFiniteLossError(f"{type(self).__name__}: non-finite loss evaluated")
        updates, state, metrics = self._tell(state, proposal, evaluations)
        for k, u in () if self.finite_updates else updates.items():
            if not np.all(np.isfinite(u)):
                raise NonFiniteLossError(
                    f"{type(self).__name__}: non-finite update for weight {k!r}"
                )
        metrics = {"loss": evaluations[0].mean_loss, **metrics}
        return dict(updates), state, metrics

    # -- the maths: subclasses implement these --------------------------------
    def _init(self, weights: dict[str, np.ndarray], rng: np.random.Generator) -> S:
        raise NotImplementedError

    def _ask(self, state: S, weights: Weights, rng: np.random.Generator) -> tuple[Proposal, S]:
        raise NotImplementedError

    def _tell(
        self, state: S, proposal: Proposal, evaluations: Sequence[Evaluation]
    ) -> tuple[Mapping[str, np.ndarray], S, dict[str, float]]:
        raise NotImplementedError
