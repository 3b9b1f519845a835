"""`synrl export`: a trained spiking run as a C++ program that runs without Python.

One small spiking digits run (64-8-10 LIF, 16 samples per run, a few node
perturbation steps) is trained into a run directory and exported with the CLI.
The exported binary is run through its ``run.sh`` with a bare environment (no
Python on the PATH) on the 450 held-out digits; with the seeds of the toolkit's
evaluation its spike counts must equal the Python evaluation's exactly.
``BrianFeedForward.record`` runs the same compiled program from Python, so its
tests live here too. Two builds in all (evaluation program, export/record
program), shared through one cache under pytest's session tmp dir.
"""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from spiking_synrl.cli import main

pytestmark = [pytest.mark.brian, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

brian = pytest.importorskip("spiking_synrl.substrates.brian")

from spiking_synrl.export import ExportedNetwork  # noqa: E402
from spiking_synrl.run import build_run, evaluate_run, load_weights, read_config  # noqa: E402

#: a bare environment: the exported program must not need Python (or the venv)
BARE_ENV = {"PATH": "/usr/bin:/bin"}


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    path = tmp_path_factory.getbasetemp() / "snn-export-cache"  # shared with other modules
    path.mkdir(exist_ok=True)
    return path


def _config(cache, **overrides):
    from spiking_synrl.run import resolve_config

    net_params = {
        "batch_size": 16, "n_candidates": 2, "max_rate_hz": 200.0, "bias_init": 1.0,
        "init_gain": 1.5, "cache_dir": str(cache), "run_dir": str(cache / "runs"),
    }  # fmt: skip
    return resolve_config({
        "task": "digits", "net": "snn", "hidden": [8], "rule": "node-perturbation",
        "steps": 4, "batch_size": 16, "eval_every": 1000, "checkpoint_every": 2,
        "rule_params": {"eta": 0.01, "sigma": 0.3, "optimizer": "adam"},
        "net_params": net_params, **overrides,
    })  # fmt: skip


@pytest.fixture(scope="module")
def run_dir(cache, tmp_path_factory):
    from spiking_synrl.run import train_run

    out = tmp_path_factory.mktemp("runs") / "snn-digits"
    train_run(_config(cache), out, progress=False)
    return out


@pytest.fixture(scope="module")
def exported(run_dir, tmp_path_factory):
    out = tmp_path_factory.mktemp("exports") / "digits"
    assert main(["export", str(run_dir), "--out", str(out)]) == 0
    return ExportedNetwork.load(out)


@pytest.fixture(scope="module")
def substrate_and_weights(run_dir):
    run = build_run(read_config(run_dir))
    yield run.substrate, load_weights(run_dir / "final.npz"), run.task
    run.substrate.close()


def _counts(substrate, fwd, layer="out"):
    counts = fwd.traces[f"act:{layer}"] / substrate.act_per_spike
    return np.rint(counts).astype(np.int64)


# -- the exported binary ------------------------------------------------------------------
def test_export_directory_is_complete(exported):
    d = exported.directory
    assert {p.name for p in d.iterdir()} == {
        "README.txt", "run.sh", "manifest.json", "project", "weights", "examples",
    }  # fmt: skip
    assert os.access(d / "run.sh", os.X_OK) and os.access(d / "project" / "main", os.X_OK)
    assert exported.layers == {"in": 64, "hid": 8, "out": 10} and exported.slots == 16
    readme = (d / "README.txt").read_text()
    assert "./run.sh examples/val_rates.f64 counts.txt" in readme and "make" in readme
    # the compiled program links no Python library
    ldd = subprocess.run(["ldd", str(d / "project" / "main")], capture_output=True, text=True)
    assert ldd.returncode == 0 and "python" not in ldd.stdout.lower()


def test_binary_reproduces_python_evaluation(exported, run_dir, substrate_and_weights, tmp_path):
    net, weights, task = substrate_and_weights
    val = task.split("val")
    seeds = net.run_seeds(len(val.inputs))  # the seeds net.forward(weights, inputs) uses
    assert len(seeds) == 29  # 450 held-out samples, 16 per run
    out = tmp_path / "counts.txt"
    proc = subprocess.run(
        [str(exported.directory / "run.sh"), "examples/val_rates.f64", str(out),
         ",".join(map(str, seeds))],
        cwd=exported.directory, env=BARE_ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    binary = np.loadtxt(out, dtype=np.int64, ndmin=2)
    python = _counts(net, net.forward(weights, val.inputs))
    assert binary.shape == python.shape == (450, 10)
    assert binary.sum() > 2 * 450  # the output layer does spike
    np.testing.assert_array_equal(binary, python)
    # the same decisions as `synrl eval`, which evaluates the run's weights in Python
    accuracy = float(np.mean(binary.argmax(axis=1) == val.targets))
    assert accuracy == pytest.approx(evaluate_run(run_dir)["accuracy"])


def test_seeds_rates_and_npy_inputs(exported, substrate_and_weights, tmp_path):
    net, weights, task = substrate_and_weights
    x = task.split("val").inputs[:20]  # 2 runs: 16 + 4 padded samples
    rates = exported.input_rates(x)
    a = exported.run(rates, seeds=5)
    np.testing.assert_array_equal(a, exported.run(rates, seeds=[5, 6]))  # SEED + k
    python = _counts(net, net.forward(weights, x, rng=None))
    np.testing.assert_array_equal(exported.run(rates, net.run_seeds(20)), python)
    assert not np.array_equal(a, exported.run(rates, seeds=6))
    np.save(tmp_path / "rates.npy", rates)  # .npy input: the header is skipped
    proc = subprocess.run(
        ["sh", str(exported.directory / "run.sh"), str(tmp_path / "rates.npy"),
         str(tmp_path / "c.txt"), "5"],
        env=BARE_ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    np.testing.assert_array_equal(np.loadtxt(tmp_path / "c.txt", dtype=np.int64), a)
    np.testing.assert_allclose(exported.outputs(a), a * net.readout_scale)


def test_run_script_errors(exported, tmp_path):
    bad = tmp_path / "bad.f64"
    bad.write_bytes(np.zeros(65).tobytes())
    proc = subprocess.run(
        ["sh", str(exported.directory / "run.sh"), str(bad), str(tmp_path / "o.txt")],
        env=BARE_ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1 and "64 float64 rates per sample" in proc.stderr
    rates = tmp_path / "rates.f64"
    rates.write_bytes(np.zeros((40, 64)).tobytes())  # 3 runs of 16
    proc = subprocess.run(
        ["sh", str(exported.directory / "run.sh"), str(rates), str(tmp_path / "o.txt"), "1,2"],
        env=BARE_ENV, capture_output=True, text=True,
    )  # fmt: skip
    assert proc.returncode == 1 and "too few seeds" in proc.stderr
    from spiking_synrl.errors import ConfigError

    with pytest.raises(ConfigError, match="one per run of 16 samples"):
        exported.run(np.zeros((40, 64)), seeds=[1, 2])
    with pytest.raises(ConfigError, match="rates >= 0"):
        exported.run(-np.ones((2, 64)))


# -- recording spikes (the same compiled program, from Python) --------------------------------
def test_record_matches_forward_spike_for_spike(substrate_and_weights):
    net, weights, task = substrate_and_weights
    x = task.split("val").inputs[:3]
    rec = net.record(weights, x, rng=np.random.default_rng(11))
    fwd = net.forward(weights, x, rng=np.random.default_rng(11))
    np.testing.assert_allclose(rec.outputs, fwd.outputs)
    assert rec.sizes == {"in": 64, "hid": 8, "out": 10}
    for layer, size in rec.sizes.items():
        np.testing.assert_array_equal(rec.counts[layer], _counts(net, fwd, layer))
        for b in range(3):
            times, idx = rec.spikes(layer, b)
            assert np.all(np.diff(times) >= 0) and np.all((times >= 0) & (times < 0.1))
            np.testing.assert_array_equal(np.bincount(idx, minlength=size), rec.counts[layer][b])
    assert rec.counts["hid"].sum() > 0 and rec.counts["out"].sum() > 0
    # filtered rates: r(t) = sum over earlier spikes of exp(-(t - t_f)/tau) / tau
    times, idx = rec.spikes("hid", 0)
    age = rec.times_s[:, None] - times[None, :]
    kernel = np.where(age > 1e-9, np.exp(-age / rec.rate_tau_s) / rec.rate_tau_s, 0.0)
    direct = np.stack([kernel[:, idx == j].sum(axis=1) for j in range(8)], axis=1)
    np.testing.assert_allclose(rec.rates_hz["hid"][0], direct, atol=1e-6)
    assert rec.times_s.shape == (100,) and rec.rates_hz["out"].shape == (3, 100, 10)
    t, rows, groups = rec.raster(1)
    assert groups == {"in": (0, 64), "hid": (64, 72), "out": (72, 82)}
    assert len(t) == len(rows) == sum(c[1].sum() for c in rec.counts.values())


# -- the command line's errors --------------------------------------------------------------
def test_cli_errors(run_dir, cache, tmp_path, capsys):
    import json

    from spiking_synrl.run import resolve_config, train_run

    def error(argv):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "Traceback" not in err
        return err

    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("")
    assert "exists and is not empty" in error(["export", str(run_dir), "--out", str(full)])
    assert "config.json" in error(["export", str(tmp_path), "--out", str(tmp_path / "e1")])
    mlp = tmp_path / "mlp"
    train_run(resolve_config({"task": "xor", "steps": 1}), mlp, progress=False)
    assert "plain numpy" in error(["export", str(mlp), "--out", str(tmp_path / "e2")])
    no_weights = tmp_path / "no-weights"
    no_weights.mkdir()
    (no_weights / "config.json").write_text((run_dir / "config.json").read_text())
    err = error(["export", str(no_weights), "--out", str(tmp_path / "e3")])
    assert "neither final weights" in err
    recurrent = tmp_path / "recurrent"
    recurrent.mkdir()
    cfg = resolve_config(
        {
            "task": "mackey-glass",
            "net": "snn",
            "hidden": [4],
            "net_params": {"cache_dir": str(cache)},
        }
    )
    (recurrent / "config.json").write_text(json.dumps(cfg))
    assert "feed-forward spiking networks only" in error(
        ["export", str(recurrent), "--out", str(tmp_path / "e4")]
    )
    assert not any(p.name.startswith((".e", "e")) for p in tmp_path.iterdir())  # nothing left


def test_compile_failure_shows_the_compiler_message(run_dir, tmp_path, capsys):
    import brian2

    prefs = brian2.prefs
    old = list(prefs["codegen.cpp.headers"])
    prefs["codegen.cpp.headers"] = [*old, '"no_such_header_xyz.h"']  # included by main.cpp
    try:
        assert main(["export", str(run_dir), "--out", str(tmp_path / "x")]) == 2
    finally:
        prefs["codegen.cpp.headers"] = old
    err = capsys.readouterr().err
    assert "no_such_header_xyz.h" in err and "No such file" in err
    assert list(tmp_path.iterdir()) == []  # no half-written export


def test_export_module_does_not_import_brian2():
    code = "import sys, spiking_synrl.export; print('brian2' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
