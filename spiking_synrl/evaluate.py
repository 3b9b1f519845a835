"""Evaluate a rule's proposal on a batch: one vectorised substrate call.

``evaluate_proposal`` stacks the K candidates, runs the substrate once with one
node-noise level per candidate, turns outputs into per-sample losses with the
task, and adds gradients for candidate 0 when the rule asked for them. It is the
only place where substrates and tasks meet.
"""

from __future__ import annotations

import numpy as np

from spiking_synrl.errors import CapabilityError
from spiking_synrl.substrates.base import Substrate
from spiking_synrl.tasks.base import Task
from spiking_synrl.types import Batch, Evaluation, Proposal, Weights, stack_weights

__all__ = ["evaluate_proposal", "evaluate_weights", "predict"]


def evaluate_proposal(
    substrate: Substrate,
    task: Task,
    proposal: Proposal,
    batch: Batch,
    rng: np.random.Generator,
) -> list[Evaluation]:
    """One :class:`Evaluation` per candidate of ``proposal`` on ``batch``."""
    stacked = stack_weights(list(proposal.candidates))
    fwd = substrate.forward_population(
        stacked,
        batch.inputs,
        node_noise=proposal.noise_levels(),
        noise_site=proposal.noise_site,
        rng=rng,
    )
    losses = task.loss(fwd.outputs, batch)  # (K, B)
    step_losses = task.step_loss(fwd.outputs, batch) if task.sequence else None
    evaluations = []
    for k in range(len(proposal.candidates)):
        cand = fwd.candidate(k)
        grads = deltas = None
        if proposal.with_grads and k == 0:
            backward = getattr(substrate, "backward", None)
            if backward is None:
                raise CapabilityError(
                    f"{type(substrate).__name__} cannot compute gradients; use the "
                    "rate-coded 'mlp' or 'rnn' network for gradient baselines."
                )
            d_out = task.loss_grad(cand.outputs, batch) / len(batch)
            grads, deltas = backward(
                {key: v[k] for key, v in stacked.items()}, cand, d_out, proposal.feedback
            )
        evaluations.append(
            Evaluation(
                loss=losses[k],
                forward=cand,
                step_loss=None if step_losses is None else step_losses[k],
                grads=grads,
                deltas=deltas,
            )
        )
    return evaluations


def predict(substrate: Substrate, weights: Weights, inputs: np.ndarray) -> np.ndarray:
    """Clean outputs of one weight set."""
    return substrate.forward(weights, inputs).outputs


def evaluate_weights(
    substrate: Substrate, task: Task, weights: Weights, split: str | None = None
) -> dict[str, float]:
    """The task's metrics (loss, accuracy, nrmse...) of ``weights`` on a whole split."""
    batch = task.split(split or task.eval_split)
    return task.metrics(predict(substrate, weights, batch.inputs), batch)
