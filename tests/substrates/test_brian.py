"""Brian2 spiking substrates: builds, determinism, batching, devices, errors.

Builds are expensive (10-40 s each on 2 cores), so each module-scoped fixture
builds one small network into a cache under pytest's tmp dir, and the tests share
it. Three builds in all: a 2-5-1 feed-forward network (shaped for XOR), a 1-6-1
recurrent one, and the code generation of a network whose compilation is made to
fail.
"""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys

import numpy as np
import pytest

from networks import lif_feedforward, lif_recurrent
from spiking_synrl.errors import (
    CapabilityError,
    ConfigError,
    DependencyNotInstalled,
    WeightSpecError,
)
from spiking_synrl.tasks import make_task
from spiking_synrl.types import stack_weights

pytestmark = [pytest.mark.brian, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

brian = pytest.importorskip("spiking_synrl.substrates.brian")


# -- fixtures -------------------------------------------------------------------
@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("brian-cache")


FF_KW = dict(
    loss="mse", batch_size=4, n_candidates=2, duration_ms=50.0, max_rate_hz=300.0,
    bias_init=0.8, init_gain=1.5,
)  # fmt: skip


@pytest.fixture(scope="module")
def ff(cache):
    """The XOR-shaped network, compiled once; records the build count before it."""
    before = brian.BrianSubstrate.n_builds
    net = lif_feedforward.network(2, (5,), 1, cache_dir=cache, run_dir=cache / "runs", **FF_KW)
    net.builds_before = before
    yield net
    net.close()


@pytest.fixture(scope="module")
def ff_runtime(cache):
    net = lif_feedforward.network(
        2,
        (5,),
        1,
        device="runtime",
        codegen_target="numpy",
        freeze_gc=False,
        cache_dir=cache,
        **FF_KW,
    )
    yield net
    net.close()


REC_KW = dict(batch_size=2, n_candidates=2, step_ms=5.0, bias_init=0.9, init_gain=2.0)


@pytest.fixture(scope="module")
def rec(cache):
    net = lif_recurrent.network(1, 6, 1, cache_dir=cache, run_dir=cache / "runs", **REC_KW)
    net.build(2, 2, n_steps=4)
    yield net
    net.close()


@pytest.fixture
def weights(ff):
    return ff.init_weights(np.random.default_rng(3))


XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


# -- no brian2 at import -----------------------------------------------------------
def test_recipes_do_not_import_brian2():
    code = (
        "import sys, networks.snn, networks.lif_feedforward, networks.lif_recurrent, "
        "spiking_synrl.substrates; print('brian2' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_brian2_first_imported_from_a_worker_thread():
    """A plain `import brian2` off the main thread fails (it sets a SIGINT handler);
    the substrate's import works there, as Dask tasks and thread pools need."""
    code = (
        "import threading\nfrom spiking_synrl.substrates import brian\nout = []\n"
        "t = threading.Thread(target=lambda: out.append(brian._brian().__name__))\n"
        "t.start(); t.join(); print(out)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['brian2']", out.stderr


# -- construction and bad input ----------------------------------------------------
def test_unknown_device_is_config_error_with_suggestion(cache):
    with pytest.raises(ConfigError, match="Did you mean: 'cpp_standalone'"):
        lif_feedforward.network(2, (3,), 1, device="cpp_standalon", cache_dir=cache)


@pytest.mark.skipif(
    importlib.util.find_spec("brian2cuda") is not None, reason="brian2cuda is installed"
)
def test_cuda_without_brian2cuda_says_how_to_install(cache):
    with pytest.raises(DependencyNotInstalled, match=r"spiking_synrl\[cuda\].*3\.12"):
        lif_feedforward.network(2, (3,), 1, device="cuda_standalone", cache_dir=cache)


def test_units_where_none_belong(cache, ff, weights):
    import brian2

    with pytest.raises(ConfigError, match="tau_m_ms"):
        lif_feedforward.network(2, (3,), 1, tau_m_ms=10 * brian2.ms, cache_dir=cache)
    bad = dict(weights, **{"in->hid": weights["in->hid"] * brian2.mV})
    with pytest.raises(WeightSpecError, match="in->hid"):
        ff.forward(bad, XOR)


def test_make_network_dispatches_on_task():
    from spiking_synrl.substrates import make_network

    ffnet = make_network("snn", make_task("xor"), [4], device="runtime")
    assert isinstance(ffnet, brian.BrianFeedForward)
    assert ffnet.capabilities == {"node_noise", "traces"}
    recnet = make_network("snn", make_task("mackey-glass"), [8], device="runtime")
    assert isinstance(recnet, brian.BrianRecurrent)
    assert recnet.capabilities == {"node_noise", "traces", "sequence"}
    with pytest.raises(ConfigError, match="tau_m"):
        make_network("snn", make_task("xor"), [4], tau_ms=5.0)
    for net in (ffnet, recnet):  # config() is JSON and rebuilds the same structure
        config = json.loads(json.dumps(net.config()))
        assert type(net)(**config).config() == net.config()


def test_backprop_on_snn_is_capability_error(ff):
    from spiking_synrl.rules.backprop import Backprop
    from spiking_synrl.training.trainer import Trainer

    with pytest.raises(CapabilityError, match="grads"):
        Trainer(Backprop(lr=0.1), ff, make_task("xor"))


def test_failed_compile_shows_the_compiler_message(cache):
    import brian2

    prefs = brian2.prefs
    old = list(prefs["codegen.cpp.headers"])
    prefs["codegen.cpp.headers"] = [*old, '"no_such_header_xyz.h"']  # included by main.cpp
    try:
        net = lif_feedforward.network(1, (1,), 1, batch_size=1, n_candidates=1, cache_dir=cache)
        with pytest.raises(brian.BuildError, match=r"no_such_header_xyz\.h.*No such file"):
            net.build()
    finally:
        prefs["codegen.cpp.headers"] = old


# -- feed-forward, cpp_standalone -------------------------------------------------------
def test_forward_shapes_and_traces(ff, weights):
    rng = np.random.default_rng(0)
    stacked = stack_weights([weights] * 3)  # K=3 > capacity 2: split into runs
    inputs = np.tile(XOR, (2, 1))  # B=8 > capacity 4: split into runs
    fwd = ff.forward_population(stacked, inputs, node_noise=np.array([0.0, 0.5, 0.5]), rng=rng)
    assert fwd.outputs.shape == (3, 8, 1)
    shapes = {k: v.shape for k, v in fwd.traces.items()}
    assert shapes == {
        "act:in": (3, 8, 2), "act:hid": (3, 8, 5), "act:out": (3, 8, 1),
        "pre:hid": (3, 8, 5), "pre:out": (3, 8, 1),
        "noise:hid": (3, 8, 5), "noise:out": (3, 8, 1),
    }  # fmt: skip
    assert np.all(fwd.traces["act:in"][:, 0] == 0)  # feature 0 -> no input spikes
    assert fwd.traces["act:in"][:, 3].sum() > 0
    # outputs are scaled output spike counts
    counts = fwd.outputs / ff.readout_scale
    np.testing.assert_allclose(counts, np.round(counts), atol=1e-9)


def test_parallel_runs_match_serial_runs(ff, cache, weights):
    twin = lif_feedforward.network(
        2, (5,), 1, cache_dir=cache, run_dir=cache / "runs", n_jobs=2, **FF_KW
    )
    x = np.tile(XOR, (3, 1))  # 3 runs of 4 samples, 2 at a time
    a = ff.forward(weights, x, rng=np.random.default_rng(4))
    b = twin.forward(weights, x, rng=np.random.default_rng(4))
    np.testing.assert_array_equal(a.outputs, b.outputs)
    np.testing.assert_array_equal(a.traces["act:hid"], b.traces["act:hid"])


def test_same_seed_same_counts_other_seed_differs(ff, weights):
    def run(seed):
        return ff.forward(weights, XOR, rng=np.random.default_rng(seed)).traces

    a, b, c = run(7), run(7), run(8)
    for key in ("act:in", "act:hid", "act:out"):
        np.testing.assert_array_equal(a[key], b[key])
    assert not np.array_equal(a["act:hid"], c["act:hid"])
    # without an rng the substrate's own seed is used: evaluation is reproducible
    np.testing.assert_array_equal(
        ff.forward(weights, XOR).outputs, ff.forward(weights, XOR).outputs
    )


def test_wrong_shapes_raise_weight_spec_error(ff, weights):
    bad = dict(weights, **{"hid->out": np.zeros((4, 1))})
    with pytest.raises(WeightSpecError, match="hid->out"):
        ff.forward(bad, XOR)
    with pytest.raises(ConfigError, match="inputs"):
        ff.forward(weights, np.zeros((4, 3)))
    # the last line of defence before run_args, which C++ would silently ignore
    program = next(iter(ff._nets.values()))
    with pytest.raises(WeightSpecError, match="in->hid"):
        program._command({"syn_in_hid.w": np.zeros(3)}, ff.run_dir)


def test_candidates_share_input_spikes_and_noise_touches_only_noisy_ones(ff, weights):
    stacked = stack_weights([weights, weights])
    clean = ff.forward_population(
        stacked, XOR, node_noise=np.zeros(2), rng=np.random.default_rng(5)
    )
    noisy = ff.forward_population(
        stacked, XOR, node_noise=np.array([0.0, 2.0]), rng=np.random.default_rng(5)
    )
    for key in ("act:in", "act:hid", "act:out"):
        np.testing.assert_array_equal(clean.traces[key][0], clean.traces[key][1])  # CRN
        np.testing.assert_array_equal(clean.traces[key][0], noisy.traces[key][0])
    assert not np.array_equal(noisy.traces["act:hid"][0], noisy.traces["act:hid"][1])
    assert "noise:hid" not in clean.traces
    assert np.all(noisy.traces["noise:hid"][0] == 0) and np.any(noisy.traces["noise:hid"][1])
    # same input spikes: the first layer's pre-activations differ by the noise exactly
    np.testing.assert_allclose(
        noisy.traces["pre:hid"][1] - noisy.traces["pre:hid"][0], noisy.traces["noise:hid"][1]
    )


def _count_stats(net, weights, x, n_calls, seed0):
    """Per-sample spike counts of hidden and output layers, pooled over calls."""
    rows = []
    for s in range(n_calls):
        tr = net.forward(weights, x, rng=np.random.default_rng(seed0 + s)).traces
        rows.append(np.concatenate([tr["act:hid"], tr["act:out"]], axis=1))
    return np.concatenate(rows) / net.act_per_spike


def _assert_same_mean(a, b, n_se=4.0):
    """Two-sample z-test per unit: |mean_a - mean_b| < n_se standard errors."""
    se = np.sqrt(a.var(axis=0, ddof=1) / len(a) + b.var(axis=0, ddof=1) / len(b)) + 0.05
    z = np.abs(a.mean(axis=0) - b.mean(axis=0)) / se
    assert np.all(z < n_se), (a.mean(axis=0), b.mean(axis=0), z)


def test_batched_equals_one_sample_per_call_in_distribution(ff, weights):
    x = np.array([[1.0, 0.5]])
    one_by_one = _count_stats(ff, weights, x, 24, 100)  # 24 calls, 1 sample each
    batched = _count_stats(ff, weights, np.repeat(x, 24, axis=0), 1, 200)  # 6 runs of 4
    assert batched.shape == one_by_one.shape == (24, 6)
    _assert_same_mean(one_by_one, batched)


def test_runtime_and_cpp_standalone_statistically_equivalent(ff, ff_runtime, weights):
    """Same weights and inputs; 40 samples per device with unrelated seeds; every
    unit's mean count agrees within 4 standard errors (plus 0.05 spikes)."""
    x = np.repeat(np.array([[1.0, 1.0]]), 4, axis=0)
    standalone = _count_stats(ff, weights, x, 10, 1000)
    runtime = _count_stats(ff_runtime, weights, x, 10, 2000)
    assert runtime.sum() > 0
    _assert_same_mean(standalone, runtime)


def test_one_build_across_training_and_reuse_by_a_second_substrate(ff, cache):
    from spiking_synrl.evaluate import evaluate_weights
    from spiking_synrl.rules.weight_perturbation import WeightPerturbation
    from spiking_synrl.training.step import TrainState, train_step

    task = make_task("xor")
    rule = WeightPerturbation(sigma=0.3, eta=0.2, antithetic=True)
    rng = np.random.default_rng(0)
    w = ff.init_weights(rng)
    state = TrainState(0, w, rule.init(w, rng))
    for _ in range(20):
        state, metrics = train_step(rule, ff, task, state, rng)
        assert np.isfinite(metrics["loss"])
    evaluate_weights(ff, task, state.weights)
    assert brian.BrianSubstrate.n_builds - ff.builds_before == 1
    twin = lif_feedforward.network(
        2, (5,), 1, cache_dir=cache, run_dir=cache / "runs", **{**FF_KW, "bias_init": 0.1}
    )
    twin.forward(state.weights, XOR)
    assert brian.BrianSubstrate.n_builds - ff.builds_before == 1  # cache hit


def test_run_files_do_not_pile_up(ff, weights):
    program = next(iter(ff._nets.values()))
    for s in range(10):
        ff.forward(weights, XOR, rng=np.random.default_rng(s))
    assert list((program.directory / "static_arrays").glob("init_*")) == []
    assert list(ff.run_dir.iterdir()) == []


def test_node_perturbation_step_runs_on_spikes(ff, weights):
    from spiking_synrl.rules.node_perturbation import ActivityNodePerturbation, NodePerturbation
    from spiking_synrl.training.step import TrainState, train_step

    task = make_task("xor")
    for rule in (NodePerturbation(eta=0.01, sigma=1.0), ActivityNodePerturbation(sigma=1.0)):
        rng = np.random.default_rng(1)
        state = TrainState(0, weights, rule.init(weights, rng))
        state, _ = train_step(rule, ff, task, state, rng)
        assert any(not np.array_equal(state.weights[k], weights[k]) for k in weights)


# -- recurrent --------------------------------------------------------------------------
def test_recurrent_shapes_traces_and_runtime_agreement(rec, cache):
    rng = np.random.default_rng(0)
    w = rec.init_weights(rng)
    x = rng.uniform(0.0, 1.5, size=(2, 4, 1))
    fwd = rec.forward_population(stack_weights([w, w]), x, node_noise=np.array([0.0, 0.3]), rng=rng)
    assert fwd.outputs.shape == (2, 2, 4, 1)
    for key in ("act:in", "act:hid", "prev:hid", "pre:hid", "pre:out", "noise:hid", "noise:out"):
        assert fwd.traces[key].shape[:3] == (2, 2, 4), key
    assert fwd.traces["act:hid"].sum() > 0  # the network spikes
    np.testing.assert_allclose(
        fwd.outputs,
        fwd.traces["act:hid"] @ w["hid->out"] + w["bias->out"] + fwd.traces["noise:out"],
    )
    # deterministic network (no Poisson input): runtime agrees with the compiled binary
    runtime = lif_recurrent.network(
        1,
        6,
        1,
        device="runtime",
        codegen_target="numpy",
        freeze_gc=False,
        cache_dir=cache,
        **REC_KW,
    )
    a = rec.forward(w, x).traces["act:hid"]
    b = runtime.forward(w, x).traces["act:hid"]
    assert abs(a.sum() - b.sum()) <= 0.05 * a.sum()


def test_recurrent_node_perturbation_step(rec):
    from spiking_synrl.rules.node_perturbation import NodePerturbation
    from spiking_synrl.training.step import TrainState, train_step

    task = make_task("mackey-glass", window=4, washout=1)
    rule = NodePerturbation(eta=0.01, sigma=0.2)
    rng = np.random.default_rng(2)
    w = rec.init_weights(rng)
    state = TrainState(0, w, rule.init(w, rng))
    before = brian.BrianSubstrate.n_builds
    state, metrics = train_step(rule, rec, task, state, rng, batch_size=2)
    assert np.isfinite(metrics["loss"])
    assert brian.BrianSubstrate.n_builds == before  # same T, B, K: the fixture's program
    assert not np.array_equal(state.weights["hid->out"], w["hid->out"])
