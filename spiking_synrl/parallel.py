"""Evaluate the K candidates of each proposal in worker processes.

One vectorised substrate call (:func:`~spiking_synrl.evaluate.evaluate_proposal`)
is the fastest way to evaluate a population when a candidate is cheap. When a
candidate is expensive (a large RNN, a spiking network run by a compiled Brian2
binary), :class:`CandidatePool` splits the K candidates into contiguous slices and
evaluates the slices at the same time in worker processes.

Results do not depend on the number of workers. The rule draws its perturbations
in the parent, from the run's generator. Each worker receives a copy of that
generator and evaluates its slice under
:func:`~spiking_synrl.substrates.base.candidate_slice`: it draws the node noise of
the *whole* population and keeps its own rows, so every candidate gets the numbers
it would get in the single call. Afterwards the parent's generator is advanced
to the state the single call would have left (every worker reports it; they must
agree). ``workers=1``, 2 or 3 therefore give bit-identical training runs, equal to
the in-process evaluation.

The pool lives for a whole run (the :class:`~spiking_synrl.training.Trainer`
opens it in ``fit`` and closes it at the end). Workers are started with the
``spawn`` method (no inherited threads or Brian2 device state) and rebuild the
substrate once, from ``substrate.config()`` when its class provides one (a Brian2
network then loads its compiled binary from the build cache; each worker's runs
use their own results directories), else from a pickled copy. As with any
``multiprocessing`` code, a script that trains with workers needs the
``if __name__ == "__main__":`` guard.
"""

from __future__ import annotations

import dataclasses
import itertools
import multiprocessing
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from types import TracebackType
from typing import Any

import numpy as np

from spiking_synrl.errors import SynRLError
from spiking_synrl.evaluate import evaluate_proposal
from spiking_synrl.substrates.base import Substrate, candidate_slice
from spiking_synrl.tasks.base import Task
from spiking_synrl.types import Batch, Evaluation, Forward, Proposal
from spiking_synrl.validation import check_bool, check_int, check_options

__all__ = ["CandidatePool", "EvaluationWorkerError", "split_candidates"]


class EvaluationWorkerError(SynRLError, RuntimeError):
    """An evaluation worker process died or broke the randomness contract."""


def split_candidates(n_candidates: int, workers: int) -> list[tuple[int, int]]:
    """Contiguous ``(k0, k1)`` slices of ``range(n_candidates)``, one per busy worker.

    Examples:
        >>> split_candidates(5, 2)
        [(0, 2), (2, 5)]
        >>> split_candidates(2, 4)
        [(0, 1), (1, 2)]
    """
    n = max(1, min(workers, n_candidates))
    edges = [i * n_candidates // n for i in range(n + 1)]
    return list(itertools.pairwise(edges))


# -- the worker side ------------------------------------------------------------
_WORKER: dict[str, Any] = {}


def _recipe(substrate: Substrate) -> tuple[type[Substrate] | None, Any]:
    """How a worker gets its substrate: ``(class, config)`` or ``(None, the object)``."""
    try:
        return type(substrate), substrate.config()
    except NotImplementedError:
        return None, substrate


def _init_worker(recipe: tuple[type[Substrate] | None, Any], task: Task) -> None:
    cls, payload = recipe
    _WORKER["substrate"] = payload if cls is None else cls(**payload)
    _WORKER["task"] = task


def _evaluate_slice(
    part: Proposal,
    sigma: np.ndarray,
    k0: int,
    k1: int,
    batch: Batch,
    rng: np.random.Generator,
    traces: bool,
) -> tuple[list[Evaluation], dict[str, Any]]:
    """Evaluate candidates ``k0:k1`` (``part``) of a population with noise ``sigma``."""
    with candidate_slice(sigma, k0, k1):
        evaluations = evaluate_proposal(_WORKER["substrate"], _WORKER["task"], part, batch, rng)
    if not traces:  # (K, B, T, n) activity arrays would dominate the transfer
        evaluations = [
            dataclasses.replace(ev, forward=Forward(ev.forward.outputs)) for ev in evaluations
        ]
    return evaluations, rng.bit_generator.state


# -- the parent side ------------------------------------------------------------
class CandidatePool:
    """Worker processes that evaluate slices of every proposal's candidates.

    Args:
        substrate: the network; rebuilt once in every worker.
        task: the task (its loss turns outputs into per-sample losses in the worker).
        workers: number of worker processes (``>= 1``).
        traces: send the forward traces back (only rules that require
            ``"traces"`` read them; the Trainer sets this from ``rule.requires``).
        start_method: ``"spawn"`` (default) or ``"forkserver"``.

    Use it as a context manager (or call :meth:`close`), then pass it to
    :func:`~spiking_synrl.training.train_step` or ``Trainer(eval_workers=...)``.

    Examples:
        >>> from spiking_synrl.rules.weight_perturbation import WeightPerturbation
        >>> from spiking_synrl.testing import toy_problem
        >>> net, task, w = toy_problem()
        >>> rule, rng = WeightPerturbation(n_perturbations=3), np.random.default_rng(0)
        >>> proposal, _ = rule.ask(rule.init(w, rng), w, rng)
        >>> batch = task.split("train")
        >>> with CandidatePool(net, task, workers=2) as pool:
        ...     pooled = pool.evaluate(proposal, batch, np.random.default_rng(1))
        >>> alone = evaluate_proposal(net, task, proposal, batch, np.random.default_rng(1))
        >>> all(np.array_equal(a.loss, b.loss) for a, b in zip(pooled, alone, strict=True))
        True
    """

    def __init__(
        self,
        substrate: Substrate,
        task: Task,
        workers: int,
        *,
        traces: bool = True,
        start_method: str = "spawn",
    ) -> None:
        self.substrate, self.task = substrate, task
        self.workers = check_int(workers, "workers", "CandidatePool", low=1)
        self.traces = check_bool(traces, "traces", "CandidatePool")
        method = check_options(start_method, "start_method", "CandidatePool",
                               ("spawn", "forkserver"))
        if multiprocessing.current_process().daemon:
            raise EvaluationWorkerError(
                f"eval_workers={self.workers} needs child processes, which a daemonic process "
                "(a multiprocessing.Pool worker, a Dask worker started with daemon=True) "
                "cannot start. Use eval_workers=1 there, or non-daemonic workers."
            )
        self._executor: ProcessPoolExecutor | None = ProcessPoolExecutor(
            max_workers=self.workers,
            mp_context=multiprocessing.get_context(method),
            initializer=_init_worker,
            initargs=(_recipe(substrate), task),
        )

    def evaluate(
        self, proposal: Proposal, batch: Batch, rng: np.random.Generator
    ) -> list[Evaluation]:
        """What ``evaluate_proposal(substrate, task, proposal, batch, rng)`` returns.

        Raises:
            EvaluationWorkerError: if a worker died, or if the workers disagree on
                the generator's final state (a substrate broke the randomness
                contract of :mod:`spiking_synrl.substrates.base`).
        """
        slices = split_candidates(len(proposal.candidates), self.workers)
        if len(slices) == 1:  # one candidate: nothing to share out
            return evaluate_proposal(self.substrate, self.task, proposal, batch, rng)
        if self._executor is None:
            raise EvaluationWorkerError("The CandidatePool is closed; open a new one.")
        sigma = proposal.noise_levels()
        futures: list[Future[tuple[list[Evaluation], dict[str, Any]]]] = []
        for k0, k1 in slices:
            part = dataclasses.replace(
                proposal,
                candidates=proposal.candidates[k0:k1],
                node_noise=tuple(sigma[k0:k1]),
                with_grads=proposal.with_grads and k0 == 0,  # gradients of candidate 0
                private={},  # read by the rule only, never by the substrate
            )
            futures.append(
                self._executor.submit(
                    _evaluate_slice, part, sigma, k0, k1, batch, rng, self.traces
                )
            )
        try:
            results = [f.result() for f in futures]
        except BrokenProcessPool as err:
            self.close()
            raise EvaluationWorkerError(
                f"An evaluation worker process died ({err}). Train with eval_workers=1 to "
                "see the error in this process."
            ) from err
        states = [state for _, state in results]
        if any(state != states[0] for state in states[1:]):
            raise EvaluationWorkerError(
                f"The evaluation workers of {type(self.substrate).__name__} drew different "
                "amounts of random numbers for their slices of the candidates; the "
                "substrate must draw per-candidate noise with broadcast_noise. Use "
                "eval_workers=1 with this substrate."
            )
        rng.bit_generator.state = states[0]
        return [ev for evaluations, _ in results for ev in evaluations]

    def close(self) -> None:
        """Stop the worker processes (idempotent)."""
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def __enter__(self) -> CandidatePool:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
