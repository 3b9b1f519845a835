r"""Feedback weights learned by node perturbation, and fixed random feedback.

Errors travel down through feedback matrices :math:`B^{l+1}` instead of
:math:`(W^{l+1})^\top` (the substrate's backward pass with ``feedback``):

.. math::

    \delta^L = \partial \ell / \partial y \odot f_L'(h^L), \qquad
    \delta^l = (\delta^{l+1} B^{l+1}) \odot f_l'(h^l), \qquad
    \Delta W^l = \mathrm{opt}\big((x^{l-1})^\top \delta^l\big)

**Feedback alignment** (Lillicrap et al. 2016) keeps :math:`B` fixed and random.
**Learned feedback** (Lansdell, Prakash & Kording 2020) learns :math:`B` so that it
predicts the loss gradient at each hidden layer's output. Each step evaluates
the batch twice with the same weights, once clean and once with noise
:math:`\xi^l \sim \mathcal N(0, \sigma^2 I)` added to every hidden layer's output.
The node-perturbation estimate of :math:`\partial \ell_b / \partial x^l_b`, per
sample, is then regressed on the error arriving from above,
:math:`e^{l+1}_b = \partial \ell_b / \partial h^{l+1}_b` (clean pass):

.. math::

    \hat\lambda^l_b = (\tilde\ell_b - \ell_b)\, \xi^l_b / \sigma^2, \qquad
    \min_B \sum_b \lVert \hat\lambda^l_b - e^{l+1}_b B^{l+1} \rVert^2

    \text{sgd:}\quad B \leftarrow B + \frac{\eta_B}{n_b}\, (e^{l+1})^\top
        \big(\hat\lambda^l - e^{l+1} B\big)

    \text{lstsq:}\quad V \leftarrow V + (e^{l+1})^\top e^{l+1}, \quad
    S \leftarrow S + (e^{l+1})^\top \hat\lambda^l, \quad B = V^{-1} S,
    \quad V_0 = \gamma I, \ S_0 = 0

Since :math:`\mathbb E[\hat\lambda^l_b] = e^{l+1}_b (W^{l+1})^\top` to first order
in :math:`\sigma`, the regression drives :math:`B^{l+1}` towards
:math:`(W^{l+1})^\top`; ``feedback_angles`` measures how close it is.

==============================  =======================  ===================================
symbol                          code                     meaning
==============================  =======================  ===================================
:math:`W^{l+1}`                 ``weights[key]``         forward weights ``"<l>-><l+1>"``,
                                                         shape ``(n_l, n_l+1)``
:math:`B^{l+1}`                 ``state.feedback[key]``  its feedback, shape of ``W.T``
:math:`\xi^l`                   ``noise:<l>`` trace      node noise on hidden output ``l``
:math:`\sigma`                  ``sigma``                std of the node noise
:math:`\ell_b, \tilde\ell_b`    ``evaluations[k].loss``  clean / noisy per-sample loss
:math:`e^{l+1}`                 ``e``                    ``deltas[<l+1>] * n_b``: per-sample
                                                         error of the clean pass
:math:`\hat\lambda^l`           ``lam``                  node-perturbation estimate
:math:`\eta, \eta_B`            ``lr, feedback_lr``      forward / feedback (sgd) rates
:math:`V, S`                    ``state.V, state.S``     least-squares statistics
:math:`\gamma`                  ``gamma``                ridge prior, :math:`V_0 = \gamma I`
:math:`n_b`                     ``n_b``                  batch size
==============================  =======================  ===================================

For the first ``warmup_steps`` steps only :math:`B` learns (forward rate 0), as the
paper's one-epoch warm-up. The first layer's weights send nothing down, so they
have no feedback matrix. As in the paper's code, the noise perturbs all hidden
layers at once and the estimate is per sample (``*_CorrectBatch``); ``lstsq``
starts from :math:`B = 0` (:math:`S_0 = 0`), ``sgd`` and feedback alignment from a
random :math:`B` with the RMS of :math:`W`.

Notes:
    Directions that the errors :math:`e^{l+1}` never take are not learned: with
    softmax cross-entropy :math:`e^L \perp \mathbf 1`, so the component of
    :math:`B^L` along :math:`\mathbf 1` stays at its start (it does not affect
    the error signal :math:`e^L B^L`). Deeper matrices see the noise of every
    layer in :math:`\tilde\ell - \ell` and converge more slowly, by the square of
    :math:`f'` (sigmoid: :math:`\le 1/4`).

References:
    Lansdell, Prakash & Kording, "Learning to solve the credit assignment problem",
    ICLR 2020 (arXiv:1906.00889); code ``benlansdell/synthfeedback``,
    ``models/npmodels.py`` (``NPModel4_ExactLsq_CorrectBatch``). Lillicrap, Cownden,
    Tweed & Akerman, "Random synaptic feedback weights support error backpropagation
    for deep learning", Nature Communications 7:13276 (2016).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from spiking_synrl.optim import OPTIMIZERS, Optimizer, OptState
from spiking_synrl.rules.base import LearningRule, synapse_keys
from spiking_synrl.types import Capability, Evaluation, Proposal, Weights
from spiking_synrl.validation import check_float, check_int, check_options

__all__ = [
    "FeedbackAlignment",
    "FeedbackAlignmentState",
    "LearnedFeedback",
    "LearnedFeedbackState",
    "feedback_angle",
    "feedback_angles",
    "feedback_keys",
]

FEEDBACK_UPDATES = ("sgd", "lstsq")


def feedback_keys(weights: Weights) -> list[str]:
    """Weight keys whose layer sends errors down: all ``"<l>-><l+1>"`` but ``"in->..."``."""
    return [k for k in synapse_keys(weights) if not k.startswith(("in->", "bias->"))]


def feedback_angle(w: np.ndarray, b: np.ndarray) -> float:
    """Angle in degrees between ``b`` and ``w.T``, as flattened vectors (90 if one is 0)."""
    wt = np.asarray(w).T.ravel()
    bv = np.asarray(b).ravel()
    norm = float(np.linalg.norm(wt) * np.linalg.norm(bv))
    if norm == 0.0:
        return 90.0
    cos = float(np.clip(wt @ bv / norm, -1.0, 1.0))
    return float(np.degrees(np.arccos(cos)))


def feedback_angles(weights: Weights, state: Any) -> dict[str, float]:
    """``{"<key>": angle between B and W.T in degrees}`` for each feedback matrix.

    Args:
        weights: the forward weights.
        state: a :class:`LearnedFeedbackState` or :class:`FeedbackAlignmentState`
            (anything with a ``feedback`` dict).
    """
    return {k: feedback_angle(weights[k], b) for k, b in state.feedback.items()}


def _initial_feedback(weights: Mapping[str, np.ndarray], rng: np.random.Generator) -> dict:
    """Random ``B`` of W.T's shape, with the RMS of W (Xavier if W is all zeros)."""
    out = {}
    for key in feedback_keys(weights):
        w = np.asarray(weights[key], dtype=float)
        std = float(np.sqrt(np.mean(w * w)))
        if std == 0.0:
            std = float(np.sqrt(2.0 / sum(w.shape)))
        out[key] = rng.normal(0.0, std, size=w.T.shape)
    return out


# -- feedback alignment ------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class FeedbackAlignmentState:
    """Fixed random feedback matrices and the forward optimiser's state."""

    feedback: dict[str, np.ndarray]
    opt: OptState


class FeedbackAlignment(LearningRule[FeedbackAlignmentState]):
    """Errors sent down through fixed random matrices (Lillicrap et al. 2016).

    Args:
        lr: forward learning rate :math:`\\eta`.
        optimizer: ``"sgd"`` or ``"adam"``.

    Examples:
        >>> from spiking_synrl.testing import solve
        >>> solve(FeedbackAlignment(lr=0.5), steps=300) < 0.01
        True
    """

    name: ClassVar[str] = "feedback-alignment"
    requires: ClassVar[frozenset[Capability]] = frozenset({"grads", "feedback"})

    def __init__(self, lr: float = 0.1, optimizer: str = "sgd") -> None:
        owner = type(self).__name__
        self.lr = check_float(lr, "lr", owner, low=0.0)
        self.optimizer = check_options(optimizer, "optimizer", owner, OPTIMIZERS)
        self._opt = Optimizer(self.optimizer, self.lr)

    def _init(
        self, weights: dict[str, np.ndarray], rng: np.random.Generator
    ) -> FeedbackAlignmentState:
        return FeedbackAlignmentState(
            _initial_feedback(weights, rng),
            self._opt.init({k: weights[k] for k in synapse_keys(weights)}),
        )

    def _ask(
        self, state: FeedbackAlignmentState, weights: Weights, rng: np.random.Generator
    ) -> tuple[Proposal, FeedbackAlignmentState]:
        return Proposal((weights,), with_grads=True, feedback=state.feedback), state

    def _tell(
        self,
        state: FeedbackAlignmentState,
        proposal: Proposal,
        evaluations: Sequence[Evaluation],
    ) -> tuple[dict[str, np.ndarray], FeedbackAlignmentState, dict[str, float]]:
        grads = evaluations[0].grads
        assert grads is not None  # internal: evaluate_proposal honours with_grads
        updates, opt = self._opt.update(grads, state.opt)
        metrics = {
            f"angle:{k}": a for k, a in feedback_angles(proposal.candidates[0], state).items()
        }
        return updates, FeedbackAlignmentState(state.feedback, opt), metrics


# -- learned feedback --------------------------------------------------------------
@dataclass(frozen=True, eq=False)
class LearnedFeedbackState:
    """Learned feedback, its least-squares statistics and the forward optimiser.

    Attributes:
        feedback: ``B`` by weight key, shape of ``W.T``.
        V: ``(n_{l+1}, n_{l+1})`` error covariance sums by key (``lstsq`` only).
        S: ``(n_{l+1}, n_l)`` error-gradient cross sums by key (``lstsq`` only).
        opt: forward optimiser state.
        step: completed steps (for the warm-up).
    """

    feedback: dict[str, np.ndarray]
    V: dict[str, np.ndarray]
    S: dict[str, np.ndarray]
    opt: OptState
    step: int = 0


class LearnedFeedback(LearningRule[LearnedFeedbackState]):
    """Feedback matrices learned by node perturbation (Lansdell et al. 2020).

    Args:
        lr: forward learning rate :math:`\\eta` (0 = fixed forward weights).
        sigma: std :math:`\\sigma` of the node noise on hidden outputs.
        feedback_lr: :math:`\\eta_B` of the ``"sgd"`` feedback update.
        feedback_update: ``"sgd"`` (gradient step on the regression error) or
            ``"lstsq"`` (exact running least squares).
        gamma: ridge prior :math:`V_0 = \\gamma I` of ``"lstsq"``.
        warmup_steps: initial steps during which only ``B`` learns.
        optimizer: forward optimiser, ``"sgd"`` or ``"adam"``.

    Examples:
        >>> from spiking_synrl.testing import solve
        >>> solve(LearnedFeedback(lr=0.5), steps=300) < 0.01
        True
    """

    name: ClassVar[str] = "learned-feedback"
    requires: ClassVar[frozenset[Capability]] = frozenset(
        {"grads", "feedback", "node_noise", "traces"}
    )

    def __init__(
        self,
        lr: float = 0.1,
        sigma: float = 0.01,
        feedback_lr: float = 0.01,
        feedback_update: str = "lstsq",
        gamma: float = 0.1,
        warmup_steps: int = 0,
        optimizer: str = "sgd",
    ) -> None:
        owner = type(self).__name__
        self.lr = check_float(lr, "lr", owner, low=0.0, closed="left")
        self.sigma = check_float(sigma, "sigma", owner, low=0.0)
        self.feedback_lr = check_float(feedback_lr, "feedback_lr", owner, low=0.0, closed="left")
        self.feedback_update = check_options(
            feedback_update, "feedback_update", owner, FEEDBACK_UPDATES
        )
        self.gamma = check_float(gamma, "gamma", owner, low=0.0)
        self.warmup_steps = check_int(warmup_steps, "warmup_steps", owner, low=0)
        self.optimizer = check_options(optimizer, "optimizer", owner, OPTIMIZERS)
        # lr = 0 (fixed forward weights, the paper's B-convergence experiment) skips
        # the optimiser, which insists on a positive rate.
        self._opt = Optimizer(self.optimizer, self.lr or 1.0)

    def _init(
        self, weights: dict[str, np.ndarray], rng: np.random.Generator
    ) -> LearnedFeedbackState:
        opt = self._opt.init({k: weights[k] for k in synapse_keys(weights)})
        if self.feedback_update == "sgd":
            # The paper's sgd variant starts from random feedback, as W does.
            return LearnedFeedbackState(_initial_feedback(weights, rng), {}, {}, opt)
        # lstsq: B = V0^{-1} S0 = 0 until the first batch of statistics.
        feedback = {k: np.zeros(weights[k].T.shape) for k in feedback_keys(weights)}
        V = {k: self.gamma * np.eye(b.shape[0]) for k, b in feedback.items()}
        S = {k: np.zeros_like(b) for k, b in feedback.items()}
        return LearnedFeedbackState(feedback, V, S, opt)

    def _ask(
        self, state: LearnedFeedbackState, weights: Weights, rng: np.random.Generator
    ) -> tuple[Proposal, LearnedFeedbackState]:
        if not state.feedback:  # no hidden layer: nothing to perturb or to learn
            return Proposal((weights,), with_grads=True), state
        proposal = Proposal(
            (weights, weights),
            node_noise=(0.0, self.sigma),
            noise_site="post",
            with_grads=True,
            feedback=state.feedback,
        )
        return proposal, state

    def _learn_feedback(
        self, state: LearnedFeedbackState, evaluations: Sequence[Evaluation]
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
        clean, noisy = evaluations
        assert clean.deltas is not None  # internal: with_grads was asked
        n_b = clean.loss.shape[0]
        d_loss = (noisy.loss - clean.loss)[:, None]
        feedback, V, S = dict(state.feedback), dict(state.V), dict(state.S)
        for key, b in state.feedback.items():
            pre, post = key.split("->")
            lam = d_loss * noisy.forward.traces[f"noise:{pre}"] / self.sigma**2
            # The substrate's deltas are for the batch-mean loss; per-sample errors
            # put e on the scale of the per-sample estimate lam.
            e = clean.deltas[post] * n_b
            if self.feedback_update == "sgd":
                feedback[key] = b + self.feedback_lr * (e.T @ (lam - e @ b)) / n_b
            else:
                V[key] = state.V[key] + e.T @ e
                S[key] = state.S[key] + e.T @ lam
                feedback[key] = np.linalg.solve(V[key], S[key])
        return feedback, V, S

    def _tell(
        self,
        state: LearnedFeedbackState,
        proposal: Proposal,
        evaluations: Sequence[Evaluation],
    ) -> tuple[dict[str, np.ndarray], LearnedFeedbackState, dict[str, float]]:
        grads = evaluations[0].grads
        assert grads is not None  # internal: evaluate_proposal honours with_grads
        if state.feedback:
            feedback, V, S = self._learn_feedback(state, evaluations)
        else:
            feedback, V, S = state.feedback, state.V, state.S
        if self.lr == 0.0 or state.step < self.warmup_steps:
            updates: dict[str, np.ndarray] = {}
            opt = state.opt
        else:
            # Forward weights follow the errors sent through the B used this step.
            updates, opt = self._opt.update(grads, state.opt)
        new_state = LearnedFeedbackState(feedback, V, S, opt, state.step + 1)
        weights = proposal.candidates[0]
        metrics = {f"angle:{k}": a for k, a in feedback_angles(weights, new_state).items()}
        return updates, new_state, metrics
