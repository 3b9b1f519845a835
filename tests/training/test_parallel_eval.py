"""Candidate evaluation in worker processes gives the same run for any number of workers."""

from __future__ import annotations

import numpy as np
import pytest

from spiking_synrl.cli import main
from spiking_synrl.parallel import CandidatePool, EvaluationWorkerError, split_candidates
from spiking_synrl.rules import make_rule
from spiking_synrl.run import load_weights
from spiking_synrl.substrates import MLP, RNN
from spiking_synrl.substrates.base import Substrate
from spiking_synrl.tasks import make_task
from spiking_synrl.testing import toy_problem
from spiking_synrl.training import Trainer
from spiking_synrl.types import Forward, Proposal


def _same_weights(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def _fit(rule, net, task, workers, steps, **kw):
    trainer = Trainer(rule, net, task, seed=3, eval_every=5, eval_workers=workers, **kw)
    history = trainer.fit(steps)
    return history, trainer.rng.bit_generator.state


@pytest.mark.parametrize(
    "rule, net, task, batch_size",
    [
        # 4 candidates without node noise: slices of 2 + 2 (or 1 + 1 + 2)
        (make_rule("weight-perturbation", sigma=1e-2, eta=0.05, n_perturbations=2,
                   antithetic=True), MLP(64, (8,), 10), "digits", 32),
        # a clean and a noisy copy: the noise is drawn for both, kept by one worker
        (make_rule("node-perturbation", sigma=0.05, eta=0.05), MLP(64, (8,), 10), "digits", 32),
        (make_rule("anp", sigma=1e-2, eta=1e-2), RNN(1, 16, 1), "mackey-glass", 4),
    ],
    ids=["wp-mlp", "np-mlp", "anp-rnn"],
)
def test_runs_are_bit_identical_for_1_2_3_workers(rule, net, task, batch_size):
    task = make_task(task)
    ref, ref_rng = _fit(rule, net, task, 1, 12, batch_size=batch_size)
    for workers in (2, 3):
        got, got_rng = _fit(rule, net, task, workers, 12, batch_size=batch_size)
        assert _same_weights(ref.state.weights, got.state.weights), f"{workers} workers"
        assert got.records == ref.records and got_rng == ref_rng
    assert ref.records[0]["loss"] != ref.records[-1]["loss"]  # it trained


def test_split_candidates_covers_every_candidate_once():
    for k in range(1, 9):
        for workers in range(1, 5):
            slices = split_candidates(k, workers)
            assert len(slices) == min(k, workers)
            assert [i for a, b in slices for i in range(a, b)] == list(range(k))


class _GreedyNoise(MLP):
    """Breaks the randomness contract: per-candidate draws outside broadcast_noise."""

    def forward_population(self, weights, inputs, *, node_noise=None, noise_site="pre",
                           rng=None):
        fwd = super().forward_population(weights, inputs)
        k = fwd.outputs.shape[0]
        return Forward(fwd.outputs + 1e-3 * rng.standard_normal((k, 1, 1)), fwd.traces)


def test_a_substrate_breaking_the_contract_is_caught_not_silently_wrong():
    _, task, w = toy_problem()
    bad = _GreedyNoise(4, hidden=(), n_outputs=2, bias=False)
    proposal = Proposal(candidates=(w, w, w))
    batch = task.split("train")
    with CandidatePool(bad, task, workers=2) as pool, pytest.raises(
        EvaluationWorkerError, match="broadcast_noise"
    ):
        pool.evaluate(proposal, batch, np.random.default_rng(0))
    pool.evaluate(Proposal(candidates=(w,)), batch, np.random.default_rng(0))  # in-process
    with pytest.raises(EvaluationWorkerError, match="closed"):
        pool.evaluate(proposal, batch, np.random.default_rng(0))
    assert isinstance(bad, Substrate)


def test_cli_eval_workers_gives_the_same_run(tmp_path, capsys):
    args = ["train", "--task", "xor", "--rule", "weight-perturbation", "--param",
            "n_perturbations=3", "--steps", "40", "--no-progress"]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    assert main([*args, "--eval-workers", "2", "--out", str(tmp_path / "two")]) == 0
    assert _same_weights(load_weights(tmp_path / "one/final.npz"),
                         load_weights(tmp_path / "two/final.npz"))
    assert main([*args[:-1], "--eval-workers", "0"]) == 2
    assert "'eval_workers' parameter" in capsys.readouterr().err


@pytest.mark.brian
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cpp_standalone_workers_run_the_cached_binary_with_identical_results(tmp_path):
    """Two workers each run the compiled network from their own results directories."""
    pytest.importorskip("spiking_synrl.substrates.brian")
    from networks import lif_feedforward

    net = lif_feedforward.network(
        2, (3,), 1, loss="mse", batch_size=4, n_candidates=2, duration_ms=20.0,
        max_rate_hz=300.0, bias_init=0.8, cache_dir=tmp_path / "cache",
        run_dir=tmp_path / "runs",
    )  # fmt: skip
    task = make_task("xor")
    rule = make_rule("weight-perturbation", sigma=0.3, eta=0.2, n_perturbations=2,
                     antithetic=True)  # 4 candidates: two runs of 2 in one process
    ref, _ = _fit(rule, net, task, 1, 4)
    got, _ = _fit(rule, net, task, 2, 4)
    assert _same_weights(ref.state.weights, got.state.weights)
    assert got.records == ref.records
    assert not any((tmp_path / "runs").iterdir())  # every run's files were removed
