r"""Dopamine: weight perturbation whose learning rate follows a reward-prediction error.

**A reconstruction (GUESS).** Only the abstract of Nambusubramaniyan, Safavi, Guru &
Knoblauch, *Dopamine-driven synaptic credit assignment in neural networks*
(arXiv 2510.22178, 2025) is public; no equations, hyperparameters or code were
found (``shared/papers.md`` §3). The abstract says: weights are perturbed at
random, only forward passes are needed, and a reward-prediction error (RPE), "the
regret between the expected outcome of the perturbed model and the actual outcome
of the unperturbed model", adjusts the learning rate, as dopamine would. What
follows is our reading of that sentence, not the paper's algorithm.

Every step probes one random direction and takes the weight-perturbation step:

.. math::

    \xi_t \sim \mathcal N(0, I), \qquad L^0_t = L(w_t), \qquad
    L^1_t = L(w_t + \sigma \xi_t), \qquad \delta_t = L^0_t - L^1_t

    w_{t+1} = w_t + \eta_t \, \frac{\delta_t}{\sigma}\, \xi_t

(``papers.md`` writes :math:`\eta (\delta/\sigma^2)\,\Xi` with
:math:`\Xi = \sigma\xi \sim \mathcal N(0, \sigma^2 I)`: the same step.)
The perturbed probe predicts the outcome of that step: to first order the loss
falls by :math:`\eta_t \delta_t^2 / \sigma^2` along :math:`\xi_t`, and by half
of that when the step has the best length for the local curvature (the minimum of
a parabola is reached at half the linear prediction). The expected outcome, the
actual outcome of the unperturbed model (read at the next step, where
:math:`L^0_{t+1}` is evaluated anyway) and their difference, the RPE, are

.. math::

    e_t = \tfrac12\, \eta_t\, \delta_t^2 / \sigma^2, \qquad
    a_t = L^0_t - L^0_{t+1}, \qquad \varepsilon_t = a_t - e_t

and the learning rate moves with the sign and size of the normalised RPE:

.. math::

    \texttt{rpe="unperturbed"}: \quad
    \eta_{t+1} = \mathrm{clip}\big(\eta_t\, e^{\beta \tanh(\varepsilon_t / e_t)},
    \eta_{min}, \eta_{max}\big)

    \texttt{rpe="baseline"}: \quad
    b_{t+1} = b_t + \kappa(\varepsilon_t - b_t), \quad
    \bar e_{t+1} = \bar e_t + \kappa(e_t - \bar e_t), \quad
    \eta_{t+1} = \mathrm{clip}\big(\eta_t\, e^{\beta \tanh(b_{t+1} / \bar e_{t+1})},
    \eta_{min}, \eta_{max}\big)

    \texttt{rpe="probe"}: \quad
    \eta_{t+1} = \mathrm{clip}\big(\eta_t\, e^{\beta \tanh(\delta_t / |L^0_t|)},
    \eta_{min}, \eta_{max}\big)

A better-than-expected step (:math:`\varepsilon > 0`) raises the rate, a worse one
lowers it; on a quadratic loss the rate settles where :math:`a = e`, i.e. at the
best step length along the probed directions, :math:`\eta \approx 1/\mathrm{tr}\,H`,
the optimal rate of weight perturbation. ``"baseline"`` compares running baselines
(rate :math:`\kappa`) of the RPE and of the expectation instead of single steps:
with minibatches :math:`a_t` mostly measures the change of batch, and averaging
removes that. ``"probe"`` is the literal suggestion of ``papers.md`` §3(a) step 5
(RPE = the probe's :math:`\delta_t`, relative to the unperturbed loss); kept for
comparison: :math:`\delta_t/|L^0_t|` is :math:`O(\sigma)`, so it barely moves the
rate and behaves like fixed-rate weight perturbation.

=========================  ===========================================================
symbol                     meaning (code name)
=========================  ===========================================================
:math:`w`                  all synaptic weights (keys containing ``"->"``)
:math:`\xi_t`              standard normal direction, ``private["xi"]``
:math:`\sigma`             perturbation size ``sigma``
:math:`L^0_t, L^1_t`       unperturbed / perturbed mean loss (candidates 0 and 1)
:math:`\delta_t`           probe gain :math:`L^0 - L^1` (metric ``delta``)
:math:`\eta_t`             learning rate ``state.eta`` (metric ``eta``), starts at ``eta0``
:math:`e_t`                expected gain of the step, ``state.expected``
:math:`\varepsilon_t`      reward-prediction error (metric ``rpe``)
:math:`b_t, \bar e_t`      running baselines ``state.baseline``,
                           ``state.expected_baseline`` (metric ``baseline``)
:math:`\beta, \kappa`      adaptation gain ``beta``, baseline rate ``kappa``
=========================  ===========================================================

Rate cap (``cap=True``): the step uses :math:`\min(\eta_t, L^0_t\,\sigma^2/\delta_t^2)`
(and keeps it as the new rate), so that the probe never promises more than the
whole loss, :math:`\eta\,\delta^2/\sigma^2 \le L^0` (a Polyak step with
:math:`L^* = 0`; losses are non-negative). Without it, a rate grown on a plateau
meets a cliff (a rare large :math:`\delta`) and throws the weights into saturation
in one step (XOR, 2-2-1 tanh MLP: 7 of 10 seeds fail without the cap, 1 with it).

The rate adapts only from the second step on, and not after a step with no
expected gain (:math:`\delta_t = 0`). Two loss evaluations per step. The outcome
:math:`a_t` compares losses of consecutive steps, so it needs them scored on the
same data (full batch, deterministic tasks such as XOR). On minibatches the change
of batch swamps the expected gain and the rate drifts down (``digits``, batches of
128: both forms lost to fixed-rate weight perturbation): use
:class:`~spiking_synrl.rules.weight_perturbation.WeightPerturbation` there.

Reference (abstract only): S. Nambusubramaniyan, S. Safavi, R. Guru, A. Knoblauch,
*Dopamine-driven synaptic credit assignment in neural networks*, arXiv 2510.22178
(2025). Rate adaptation from a predicted versus an actual decrease as in
trust-region methods (Nocedal & Wright, *Numerical Optimization*, ch. 4); step cap
after Polyak (1987), *Introduction to Optimization*.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import ClassVar

import numpy as np

from spiking_synrl.errors import ConfigError
from spiking_synrl.rules.base import LearningRule
from spiking_synrl.rules.weight_perturbation import global_norm, perturb, sample_directions
from spiking_synrl.types import Evaluation, Proposal, Weights
from spiking_synrl.validation import check_bool, check_float, check_options

__all__ = ["RPE_FORMS", "Dopamine", "DopamineState"]

#: the reward-prediction errors that can drive the learning rate
RPE_FORMS = ("unperturbed", "baseline", "probe")

# An expected gain below this fraction of the loss is rounding noise, not a prediction.
_TINY = 64 * np.finfo(float).eps


@dataclass(frozen=True, eq=False)
class DopamineState:
    """State of :class:`Dopamine`.

    Attributes:
        eta: current learning rate :math:`\\eta_t`.
        loss: unperturbed loss :math:`L^0` of the last step (None before the first).
        expected: expected gain :math:`e` of the last step, awaiting its outcome.
        baseline: running baseline :math:`b` of the RPE.
        expected_baseline: running baseline :math:`\\bar e` of the expected gain.
    """

    eta: float
    loss: float | None = None
    expected: float = 0.0
    baseline: float = 0.0
    expected_baseline: float = 0.0


class Dopamine(LearningRule[DopamineState]):
    """RPE-modulated weight perturbation: a reconstruction (GUESS) of Nambusubramaniyan et al.

    Only the paper's abstract is public, so the equations (module docstring) are
    our reading of it: the weight step is plain weight perturbation, and a
    reward-prediction error between the gain the perturbed probe predicted and the
    unperturbed loss actually reached sets the learning rate.

    Args:
        sigma: perturbation size :math:`\\sigma`.
        eta0: initial learning rate.
        beta: adaptation gain: the rate changes by at most a factor
            :math:`e^{\\pm\\beta}` per step.
        eta_min: lower clip of the learning rate.
        eta_max: upper clip of the learning rate.
        kappa: rate of the running baselines (``rpe="baseline"``).
        rpe: ``"unperturbed"`` (each step's RPE), ``"baseline"`` (RPE and
            expectation averaged with rate ``kappa``) or ``"probe"`` (the literal
            guess of ``papers.md`` §3(a): :math:`\\delta_t / |L^0_t|`).
        cap: limit the rate so that the probe never predicts a gain larger than
            the loss (see the module docstring).

    Metrics:
        ``rpe`` (:math:`\\varepsilon`, or :math:`\\delta` for ``"probe"``),
        ``delta`` (:math:`L^0 - L^1`), ``eta`` (the rate of this step),
        ``baseline`` (:math:`b`), ``update_norm``.

    Examples:
        >>> from spiking_synrl.testing import solve
        >>> solve(Dopamine(sigma=1e-3, eta0=0.01), steps=300) < 1e-3
        True
    """

    name: ClassVar[str] = "dopamine"

    def __init__(
        self,
        sigma: float = 1e-3,
        eta0: float = 0.03,
        beta: float = 0.1,
        eta_min: float = 1e-6,
        eta_max: float = 100.0,
        kappa: float = 0.1,
        rpe: str = "unperturbed",
        cap: bool = True,
    ) -> None:
        owner = type(self).__name__
        self.sigma = check_float(sigma, "sigma", owner, low=0.0)
        self.eta0 = check_float(eta0, "eta0", owner, low=0.0)
        self.beta = check_float(beta, "beta", owner, low=0.0, closed="left")
        self.eta_min = check_float(eta_min, "eta_min", owner, low=0.0)
        self.eta_max = check_float(eta_max, "eta_max", owner, low=0.0)
        self.kappa = check_float(kappa, "kappa", owner, low=0.0, high=1.0, closed="right")
        self.rpe = check_options(rpe, "rpe", owner, RPE_FORMS)
        self.cap = check_bool(cap, "cap", owner)
        if not self.eta_min <= self.eta0 <= self.eta_max:
            raise ConfigError(
                f"The 'eta0' parameter of {owner} must lie in [eta_min, eta_max] = "
                f"[{self.eta_min:g}, {self.eta_max:g}]. Got {eta0!r} instead."
            )

    @property
    def evals_per_step(self) -> int:
        """Loss evaluations (candidates) per step: the unperturbed and one probe."""
        return 2

    def _init(self, weights: dict[str, np.ndarray], rng: np.random.Generator) -> DopamineState:
        return DopamineState(eta=self.eta0)

    def _ask(
        self, state: DopamineState, weights: Weights, rng: np.random.Generator
    ) -> tuple[Proposal, DopamineState]:
        xi = sample_directions(weights, 1, rng)
        candidates = (dict(weights), perturb(weights, xi, 0, self.sigma))
        return Proposal(candidates, private={"xi": xi}), state

    def _clip(self, eta: float) -> float:
        return float(np.clip(eta, self.eta_min, self.eta_max))

    def _adapt(self, state: DopamineState, loss: float) -> tuple[DopamineState, float]:
        """This step's rate from the outcome of the last one; returns (state, rpe)."""
        expected = state.expected
        if state.loss is None or expected <= _TINY * abs(state.loss):
            return state, 0.0  # nothing was predicted: no outcome to compare with
        rpe = (state.loss - loss) - expected
        baseline = state.baseline + self.kappa * (rpe - state.baseline)
        expected_baseline = state.expected_baseline + self.kappa * (
            expected - state.expected_baseline
        )
        signal = rpe / expected if self.rpe == "unperturbed" else baseline / expected_baseline
        eta = self._clip(state.eta * np.exp(self.beta * np.tanh(signal)))
        return replace(state, eta=eta, baseline=baseline, expected_baseline=expected_baseline), rpe

    def _tell(
        self, state: DopamineState, proposal: Proposal, evaluations: Sequence[Evaluation]
    ) -> tuple[dict[str, np.ndarray], DopamineState, dict[str, float]]:
        xi: dict[str, np.ndarray] = proposal.private["xi"]
        loss, perturbed = evaluations[0].mean_loss, evaluations[1].mean_loss
        delta = loss - perturbed  # > 0: the perturbation helped
        if self.rpe == "probe":
            rpe = delta
        else:
            state, rpe = self._adapt(state, loss)
        eta = state.eta
        if self.cap and delta != 0.0:
            # the probe must not promise more than the whole (non-negative) loss
            eta = min(eta, abs(loss) * self.sigma**2 / delta**2)
        coeff = eta * delta / self.sigma
        updates = {key: coeff * d[0] for key, d in xi.items()}
        next_eta = self._clip(eta)
        if self.rpe == "probe":  # the literal guess: eta_{t+1} from this step's delta
            next_eta = self._clip(eta * np.exp(self.beta * np.tanh(delta / max(abs(loss), _TINY))))
        new_state = replace(
            state, eta=next_eta, loss=loss, expected=0.5 * eta * delta**2 / self.sigma**2
        )
        metrics = {
            "rpe": float(rpe),
            "delta": float(delta),
            "eta": float(eta),
            "baseline": float(state.baseline),
            "update_norm": global_norm(updates),
        }
        return updates, new_state, metrics
