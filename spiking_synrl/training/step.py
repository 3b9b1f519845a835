"""One pure training step, shared by the Trainer, the CLI and notebooks.

``train_step`` draws the batch, asks the rule, evaluates the proposal in one
substrate call (or in worker processes, :mod:`spiking_synrl.parallel`), tells the
rule and applies the updates. All randomness comes from
the one ``rng`` passed in, in a fixed order, so the same seed gives the same
trajectory and a checkpoint of (weights, rule state, rng state, step) resumes it
exactly.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from spiking_synrl.errors import NonFiniteLossError
from spiking_synrl.evaluate import evaluate_proposal
from spiking_synrl.rules.base import LearningRule, apply_updates
from spiking_synrl.substrates.base import Substrate
from spiking_synrl.tasks.base import Task
from spiking_synrl.types import Batch

if TYPE_CHECKING:
    from spiking_synrl.parallel import CandidatePool

__all__ = ["TrainState", "train_step"]


@dataclass(frozen=True, eq=False)
class TrainState:
    """Everything that changes during training (the checkpoint's content).

    Attributes:
        step: number of completed steps.
        weights: current weights.
        rule_state: the rule's state object.
        n_evals: cumulative number of candidate evaluations (loss evaluations).
    """

    step: int
    weights: dict[str, np.ndarray]
    rule_state: Any
    n_evals: int = 0


def train_step(
    rule: LearningRule[Any],
    substrate: Substrate,
    task: Task,
    state: TrainState,
    rng: np.random.Generator,
    batch: Batch | None = None,
    batch_size: int | None = None,
    pool: CandidatePool | None = None,
) -> tuple[TrainState, dict[str, float]]:
    """Advance ``state`` by one step; returns the new state and the rule's metrics.

    Args:
        batch: a batch to use; if None one is drawn with ``task.sample_batch``.
        batch_size: size of the drawn batch (None = the whole training set).
        pool: evaluate the candidates in these worker processes (same results).

    Raises:
        NonFiniteLossError: naming the step, if a loss or a weight is not finite.
    """
    if batch is None:
        batch = task.sample_batch(rng, batch_size)
    # Overflow is reported once, below, as a NonFiniteLossError naming the step,
    # rather than as numpy warnings from deep inside a forward pass.
    with np.errstate(over="ignore", invalid="ignore"):
        proposal, rule_state = rule.ask(state.rule_state, state.weights, rng)
        if pool is None:
            evaluations = evaluate_proposal(substrate, task, proposal, batch, rng)
        else:
            evaluations = pool.evaluate(proposal, batch, rng)
        try:
            updates, rule_state, metrics = rule.tell(rule_state, proposal, evaluations)
        except NonFiniteLossError as err:
            raise NonFiniteLossError(
                f"step {state.step + 1}: {err}. The last good weights are those of step "
                f"{state.step}; lower the learning rate or the perturbation size."
            ) from err
        weights = substrate.weight_spec.project(apply_updates(state.weights, updates))
    n_evals = state.n_evals + len(proposal.candidates)
    return TrainState(state.step + 1, weights, rule_state, n_evals), metrics
