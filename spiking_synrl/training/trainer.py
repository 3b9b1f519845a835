"""The Trainer: a short loop around :func:`train_step` with callbacks and resume.

Randomness: the rule's draws (perturbations, exploration, node noise) come from one
generator seeded by ``seed``, checkpointed with the state. Batches come from a
separate generator derived from ``(seed, step // batch_refresh)``, so a batch is a
pure function of the step: resuming mid-run draws the very same batches.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from spiking_synrl.errors import CapabilityError, NonFiniteLossError
from spiking_synrl.evaluate import evaluate_weights
from spiking_synrl.parallel import CandidatePool
from spiking_synrl.rules.base import LearningRule
from spiking_synrl.substrates.base import Substrate
from spiking_synrl.tasks.base import Task
from spiking_synrl.training.callbacks import Callback
from spiking_synrl.training.step import TrainState, train_step
from spiking_synrl.validation import check_int

__all__ = ["History", "Trainer"]


@dataclass
class History:
    """Metrics of a run: one dict per step (``step`` included) and the final state."""

    records: list[dict[str, float]] = field(default_factory=list)
    state: TrainState | None = None

    def series(self, name: str) -> tuple[np.ndarray, np.ndarray]:
        """``(steps, values)`` of one metric over the steps where it was logged."""
        rows = [(r["step"], r[name]) for r in self.records if name in r]
        if not rows:
            return np.array([]), np.array([])
        steps, values = zip(*rows, strict=True)
        return np.asarray(steps), np.asarray(values)

    @property
    def final(self) -> dict[str, float]:
        """The last value of every metric."""
        out: dict[str, float] = {}
        for r in self.records:
            out.update(r)
        return out


class Trainer:
    """Train ``substrate`` weights on ``task`` with ``rule``.

    Args:
        rule: a learning rule.
        substrate: the network (holds no weights).
        task: the data and loss.
        seed: seeds every random draw of the run.
        batch_size: samples per step (None = the whole training set).
        batch_refresh: keep each drawn batch for this many steps (Bhargava et al.
            keep a 5,000-sample mask for 5,000 iterations).
        eval_every: evaluate on the task's evaluation split every this many steps
            (and at the last step); metrics are prefixed with the split name.
        eval_workers: evaluate each step's candidates in this many worker
            processes (1 = in this process, one vectorised call). The run is
            bit-identical for every value (:mod:`spiking_synrl.parallel`).
        callbacks: :class:`Callback` objects.

    Raises:
        CapabilityError: if the rule needs something the substrate lacks.

    Examples:
        >>> from spiking_synrl.rules.backprop import Backprop
        >>> from spiking_synrl.testing import toy_problem
        >>> net, task, _ = toy_problem()
        >>> history = Trainer(Backprop(lr=0.1), net, task, eval_every=50).fit(100)
        >>> history.final["val_loss"] < 1e-3
        True
    """

    def __init__(
        self,
        rule: LearningRule[Any],
        substrate: Substrate,
        task: Task,
        *,
        seed: int = 0,
        batch_size: int | None = None,
        batch_refresh: int = 1,
        eval_every: int = 100,
        eval_workers: int = 1,
        callbacks: Sequence[Callback] = (),
    ) -> None:
        missing = set(rule.requires) - set(substrate.capabilities)
        if missing:
            raise CapabilityError(
                f"{type(rule).__name__} requires {sorted(rule.requires)}; "
                f"{type(substrate).__name__} provides {sorted(substrate.capabilities)} "
                f"(missing {sorted(missing)})."
            )
        if substrate.n_inputs != task.n_inputs or substrate.n_outputs != task.n_outputs:
            raise CapabilityError(
                f"The network has {substrate.n_inputs} inputs and {substrate.n_outputs} "
                f"outputs; task {task.name!r} needs {task.n_inputs} and {task.n_outputs}."
            )
        self.rule, self.substrate, self.task = rule, substrate, task
        self.seed = check_int(seed, "seed", "Trainer", low=0)
        self.batch_size = (
            None if batch_size is None else check_int(batch_size, "batch_size", "Trainer", low=1)
        )
        self.batch_refresh = check_int(batch_refresh, "batch_refresh", "Trainer", low=1)
        self.eval_every = check_int(eval_every, "eval_every", "Trainer", low=1)
        self.eval_workers = check_int(eval_workers, "eval_workers", "Trainer", low=1)
        self.callbacks = list(callbacks)
        self.rng = np.random.default_rng(self.seed)
        self.n_steps = 0
        self.eval_prefix = f"{task.eval_split}_"
        self._stop = False

    # -- state ------------------------------------------------------------------
    def init_state(self, weights: dict[str, np.ndarray] | None = None) -> TrainState:
        """Fresh weights (or the given ones, validated) and rule state."""
        if weights is None:
            weights = self.substrate.init_weights(self.rng)
        else:
            weights = self.substrate.weight_spec.validate(weights, "weights")
        return TrainState(0, weights, self.rule.init(weights, self.rng))

    def restore(self, state: TrainState, rng_state: dict[str, Any], extra: dict[str, Any]) -> None:
        """Continue from a checkpoint: generator and callback states."""
        self.rng.bit_generator.state = rng_state
        saved = extra.get("callbacks", {})
        for i, cb in enumerate(self.callbacks):
            if str(i) in saved:
                cb.load_state_dict(saved[str(i)])

    def callback_states(self) -> dict[str, Any]:
        """Every callback's resumable state, by position."""
        return {str(i): cb.state_dict() for i, cb in enumerate(self.callbacks)}

    def request_stop(self) -> None:
        """Stop after the current step (used by EarlyStopping)."""
        self._stop = True

    # -- loop -------------------------------------------------------------------
    def _batch(self, step: int) -> Any:
        if self.batch_size is None:
            return self.task.sample_batch(self.rng, None)
        batch_rng = np.random.default_rng([self.seed, step // self.batch_refresh])
        return self.task.sample_batch(batch_rng, self.batch_size)

    def evaluate(self, weights: dict[str, np.ndarray]) -> dict[str, float]:
        """Metrics on the evaluation split, prefixed (``val_loss``, ``test_nrmse``)."""
        metrics = evaluate_weights(self.substrate, self.task, weights)
        return {f"{self.eval_prefix}{k}": v for k, v in metrics.items()}

    def fit(self, n_steps: int, state: TrainState | None = None) -> History:
        """Train until ``state.step == n_steps`` (or a callback stops it).

        Raises:
            NonFiniteLossError: naming the step; the last good state stays on disk
                if a :class:`Checkpointer` is attached (it is saved before raising).
        """
        self.n_steps = check_int(n_steps, "n_steps", "Trainer.fit", low=0)
        state = self.init_state() if state is None else state
        self._stop = False
        history = History()
        for cb in self.callbacks:
            cb.on_train_begin(self, state)
        with contextlib.ExitStack() as stack:
            pool = None
            if self.eval_workers > 1 and state.step < self.n_steps:  # lives for this fit
                traces = "traces" in self.rule.requires  # else not worth sending back
                pool = stack.enter_context(
                    CandidatePool(self.substrate, self.task, self.eval_workers, traces=traces)
                )
            while state.step < self.n_steps and not self._stop:
                try:
                    new_state, metrics = train_step(
                        self.rule, self.substrate, self.task, state, self.rng,
                        batch=self._batch(state.step), pool=pool,
                    )
                except NonFiniteLossError:
                    for cb in self.callbacks:  # the checkpointer keeps the last good state
                        cb.on_train_end(self, state)
                    raise
                state = new_state
                if state.step % self.eval_every == 0 or state.step == self.n_steps:
                    metrics.update(self.evaluate(state.weights))
                record = {"step": state.step, **metrics}
                history.records.append(record)
                for cb in self.callbacks:
                    cb.on_step_end(self, state, metrics)
        if self._stop and not any(k.startswith(self.eval_prefix) for k in history.final):
            history.records[-1].update(self.evaluate(state.weights))
        for cb in self.callbacks:
            cb.on_train_end(self, state)
        history.state = state
        return history
