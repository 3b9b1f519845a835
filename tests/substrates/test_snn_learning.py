"""Spiking networks learn XOR with the same rule objects that train the rate MLP.

A 2-16-1 LIF network (:mod:`networks.lif_feedforward`, Poisson inputs at 300 Hz,
100 ms per evaluation) is trained with ``train_step`` on the four XOR patterns
repeated ``REPEATS`` times per batch (more input spike trains per step: less
Poisson noise in the loss). The output reads ``(rate - 50 Hz) / 100 Hz``: a
target of 0 is a 50 Hz baseline rather than silence, where spike counts do not
respond to the weights and every rule stalls (without the baseline, weight
perturbation solved 1-3 of 5 seeds in 600 steps; with it, 5 of 5 in 100).

*Solved* means ``task.metrics(...)["accuracy"] == 1.0`` on the output averaged
over ``REPEATS`` fresh input spike trains per pattern, twice in a row (two
independent evaluations), checked every ``EVERY`` steps.

All ``cpp_standalone`` tests share one build (module-scoped substrate; the build
count is checked). Measured with these settings, steps to solve for seeds 0-9
(10 steps resolution): WP 30-100, NP 20-140, Dopamine 40-580, SynapticQ 40-650
and 1380 (seed 3); budgets below: 400, 400, 600, 1500. Runtime device
(numpy codegen): NP seed 0 within 150 steps.

Recurrent: a 1-64-1 LIF network trained by NP on ``mackey-glass`` windows
forecasts the test series with NRMSE below half that of the mean predictor.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from spiking_synrl.rules import make_rule
from spiking_synrl.substrates import make_network
from spiking_synrl.tasks import make_task
from spiking_synrl.training.step import TrainState, train_step
from spiking_synrl.types import Batch

pytestmark = [
    pytest.mark.brian,
    pytest.mark.slow,
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
]

brian = pytest.importorskip("spiking_synrl.substrates.brian")

REPEATS = 4
EVERY = 10
HIDDEN = [16]
NET = {
    "max_rate_hz": 300.0,
    "duration_ms": 100.0,
    "output_rate_hz": 100.0,
    "output_baseline_hz": 50.0,
    "bias_init": 1.0,
    "init_gain": 2.0,
}
#: (rule, "xor") presets: rule settings and step budgets
PRESETS = {
    "weight-perturbation": ({"sigma": 0.3, "eta": 0.2, "antithetic": True}, 400),
    "node-perturbation": ({"sigma": 0.3, "eta": 0.1}, 400),
    "dopamine": ({"sigma": 0.3, "eta0": 0.3, "beta": 0.05, "cap": False}, 600),
    # the authors' golden table (Bhargava et al. 2022), independent of the shipped default
    "synaptic-q": ({"alpha_s": 0.05, "policy": "golden"}, 1500),
}


def _rule(name: str):
    return make_rule(name, **PRESETS[name][0])


def _batch(task) -> Batch:
    base = task.split("train")
    return Batch(np.tile(base.inputs, (REPEATS, 1)), np.tile(base.targets, (REPEATS, 1)))


def _accuracy(net, task, weights, batch: Batch, rng: np.random.Generator) -> float:
    """Accuracy of the output averaged over the repeats of each pattern."""
    stacked = {k: np.asarray(v)[None] for k, v in weights.items()}
    out = net.forward_population(stacked, batch.inputs, rng=rng).outputs[0]
    mean = out.reshape(REPEATS, 4, -1).mean(axis=0)
    return task.metrics(mean, task.split("train"))["accuracy"]


def steps_to_solve(net, rule_name: str, seed: int, max_steps: int | None = None) -> int | None:
    """Steps until XOR is solved (see the module docstring), or None."""
    task = make_task("xor")
    batch = _batch(task)
    rule = _rule(rule_name)
    max_steps = max_steps or PRESETS[rule_name][1]
    rng = np.random.default_rng(seed)
    eval_rng = np.random.default_rng(1000 + seed)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    while state.step < max_steps:
        state, _ = train_step(rule, net, task, state, rng, batch=batch)
        if state.step % EVERY:
            continue
        # two independent evaluations in a row: one lucky draw of spike trains is not enough
        if all(_accuracy(net, task, state.weights, batch, eval_rng) == 1.0 for _ in range(2)):
            return state.step
    return None


def _make(device: str, cache, **extra):
    task = make_task("xor")
    return make_network(
        "snn", task, HIDDEN, device=device, batch_size=4 * REPEATS, n_candidates=2,
        cache_dir=cache, run_dir=cache / "runs", **NET, **extra,
    )  # fmt: skip


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("snn-learning-cache")


@pytest.fixture(scope="module")
def xor_net(cache):
    """One 2-16-1 cpp_standalone network, built once for every rule and seed."""
    before = brian.BrianSubstrate.n_builds
    net = _make("cpp_standalone", cache)
    net.build()
    net.builds_before = before
    yield net
    net.close()


@pytest.mark.parametrize("rule_name", sorted(PRESETS))
def test_solves_xor_for_4_of_5_seeds_cpp_standalone(xor_net, rule_name: str) -> None:
    with ThreadPoolExecutor(2) as pool:  # each step is a process run: two at a time
        steps = list(pool.map(lambda s: steps_to_solve(xor_net, rule_name, s), range(5)))
    solved = [s for s in steps if s is not None]
    assert len(solved) >= 4, f"{rule_name}: steps to solve per seed {steps}"


def test_one_build_for_all_rules_and_seeds(xor_net) -> None:
    # a second substrate of the same structure reuses the cached binary
    again = _make("cpp_standalone", xor_net.cache_dir)
    again.build()
    assert brian.BrianSubstrate.n_builds - xor_net.builds_before <= 1


def test_solves_xor_runtime_node_perturbation(cache) -> None:
    # numpy code generation: no compilation, ~0.4 s per run of 16 x 2 copies
    net = _make("runtime", cache, codegen_target="numpy", freeze_gc=False)
    try:
        steps = steps_to_solve(net, "node-perturbation", seed=0, max_steps=150)
    finally:
        net.close()
    assert steps is not None


# -- recurrent: mackey-glass ----------------------------------------------------------
#: 1-64-1 recurrent LIF net; a 200 ms readout filter gives the readout the memory
#: that a 15-step forecast needs (20 ms: the best linear readout stays near NRMSE 0.7)
MG_NET = {"bias_init": 0.9, "init_gain": 10.0, "rec_gain": 1.0, "trace_tau_ms": 200.0}
MG_NP = {"sigma": 0.02, "eta": 0.005, "optimizer": "adam"}
MG_STEPS = 1000  # seed 0: test NRMSE 0.33 (seeds 1, 2 at 600 steps: 0.51, 0.48)


def test_recurrent_snn_forecasts_mackey_glass_node_perturbation(cache) -> None:
    from spiking_synrl.evaluate import evaluate_weights

    task = make_task("mackey-glass")
    net = make_network(
        "snn", task, [64], device="cpp_standalone", batch_size=8, n_candidates=2,
        cache_dir=cache, run_dir=cache / "runs", **MG_NET,
    )  # fmt: skip
    net.build(8, 2, n_steps=task.window)
    rule = make_rule("node-perturbation", **MG_NP)
    rng = np.random.default_rng(0)
    weights = net.init_weights(rng)
    state = TrainState(0, weights, rule.init(weights, rng))
    for _ in range(MG_STEPS):
        state, _ = train_step(rule, net, task, state, rng, batch_size=8)
    test = task.split(task.eval_split)
    mean_nrmse = task.metrics(np.zeros_like(test.targets), test)["nrmse"]  # series is centred
    nrmse = evaluate_weights(net, task, state.weights)["nrmse"]
    net.close()
    assert nrmse < mean_nrmse / 2, (nrmse, mean_nrmse)
