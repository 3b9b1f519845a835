"""``record``: spike times, counts and filtered rates of a few samples, for rasters.

Runtime device with numpy code generation (no compilation): a 2-5-1 feed-forward
network and a 1-6-1 recurrent one. The compiled (``cpp_standalone``) path is
tested with the export in ``tests/test_export.py``, which runs the same program.
"""

from __future__ import annotations

import numpy as np
import pytest

from networks import lif_feedforward, lif_recurrent
from spiking_synrl.errors import ConfigError

pytestmark = [pytest.mark.brian, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

brian = pytest.importorskip("spiking_synrl.substrates.brian")

RUNTIME = dict(device="runtime", codegen_target="numpy", freeze_gc=False)
XOR = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])


@pytest.fixture(scope="module")
def ff(tmp_path_factory):
    net = lif_feedforward.network(
        2, (5,), 1, loss="mse", batch_size=4, n_candidates=2, duration_ms=50.0,
        max_rate_hz=300.0, bias_init=0.8, init_gain=1.5,
        cache_dir=tmp_path_factory.mktemp("cache"), **RUNTIME,
    )  # fmt: skip
    yield net
    net.close()


@pytest.fixture(scope="module")
def rec(tmp_path_factory):
    net = lif_recurrent.network(
        1, 6, 1, batch_size=2, n_candidates=2, step_ms=5.0, bias_init=0.9, init_gain=2.0,
        cache_dir=tmp_path_factory.mktemp("cache"), **RUNTIME,
    )  # fmt: skip
    yield net
    net.close()


def test_feedforward_record_is_forward_with_every_spike(ff):
    w = ff.init_weights(np.random.default_rng(3))
    rec = ff.record(w, XOR, rng=np.random.default_rng(5), resolution_ms=0.5)
    fwd = ff.forward(w, XOR, rng=np.random.default_rng(5))
    # same seed, same number of input slots: the same input spikes, hence the same counts
    np.testing.assert_allclose(rec.outputs, fwd.outputs)
    for layer in ("in", "hid", "out"):
        counts = np.rint(fwd.traces[f"act:{layer}"] / ff.act_per_spike)
        np.testing.assert_array_equal(rec.counts[layer], counts)
    assert rec.counts["in"][0].sum() == 0 and rec.counts["in"][3].sum() > 10  # x = 0: silent
    assert rec.n_samples == 4 and rec.duration_s == pytest.approx(0.05)
    assert rec.times_s.shape == (100,) and rec.times_s[-1] == pytest.approx(0.05)
    for layer, size in rec.sizes.items():
        assert rec.rates_hz[layer].shape == (4, 100, size)
        for b in range(4):
            _, i = rec.spikes(layer, b)
            np.testing.assert_array_equal(np.bincount(i, minlength=size), rec.counts[layer][b])
    # the integral of r over [0, T] is the count minus the tails cut off at T, tau * r(T)
    # (a sum over 0.5 ms points: each spike's share is off by at most 0.5 / tau = 5 %)
    area = rec.rates_hz["hid"].sum(axis=1) * 0.5e-3
    expected = rec.counts["hid"] - rec.rate_tau_s * rec.rates_hz["hid"][:, -1]
    np.testing.assert_allclose(area, expected, atol=0.05 * rec.counts["hid"].max() + 1e-9)
    assert np.all(area <= rec.counts["hid"] + 1e-9)


def test_recurrent_record_rates_and_readout(rec):
    rng = np.random.default_rng(0)
    w = rec.init_weights(rng)
    x = rng.uniform(0.0, 1.5, size=(3, 4, 1))  # 3 samples > capacity 2: two runs
    recording = rec.record(w, x)
    fwd = rec.forward(w, x)
    np.testing.assert_allclose(recording.outputs, fwd.outputs)
    assert recording.sizes == {"hid": 6} and recording.counts["hid"].sum() > 0
    # the readout filter sampled at the end of each 5 ms step is forward's act:hid
    step_ends = recording.rates_hz["hid"][:, 4::5] * (rec.w_scale * rec.tau_m_ms / 1000.0)
    np.testing.assert_allclose(step_ends, fwd.traces["act:hid"], atol=1e-9)
    np.testing.assert_allclose(recording.readout[:, 4::5], fwd.outputs, atol=1e-9)
    assert recording.rate_tau_s == pytest.approx(rec.trace_tau_ms / 1000.0)
    t, _, groups = recording.raster(2)
    assert groups == {"hid": (0, 6)} and len(t) == recording.counts["hid"][2].sum()


def test_bad_arguments(ff):
    w = ff.init_weights(np.random.default_rng(0))
    with pytest.raises(ConfigError, match=r"resolution_ms.*multiple of dt_ms"):
        ff.record(w, XOR, resolution_ms=0.25)
    with pytest.raises(ConfigError, match="inputs"):
        ff.record(w, np.zeros((2, 3)))
    recording = ff.record(w, XOR[:1])
    with pytest.raises(ConfigError, match="layer"):
        recording.spikes("hidden")
    with pytest.raises(ConfigError, match="sample"):
        recording.spikes("hid", 1)
