"""Trainer determinism, callbacks, atomic checkpoints with checksums, exact resume."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from spiking_synrl.errors import CapabilityError, CheckpointError, NonFiniteLossError
from spiking_synrl.rules.backprop import BPTT, Backprop
from spiking_synrl.run import load_weights, resolve_config, resume_run, train_run
from spiking_synrl.substrates import MLP
from spiking_synrl.tasks import make_task
from spiking_synrl.testing import toy_problem
from spiking_synrl.training import (
    Checkpointer,
    EarlyStopping,
    JSONLLogger,
    Trainer,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from spiking_synrl.training.step import TrainState


def _weights_equal(a, b):
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_same_seed_same_trajectory_and_minibatches_are_seeded():
    task = make_task("digits")
    runs = []
    for _ in range(2):
        net = MLP(64, (8,), 10)
        h = Trainer(Backprop(lr=0.1), net, task, seed=3, batch_size=32, eval_every=25).fit(50)
        runs.append(h)
    assert _weights_equal(runs[0].state.weights, runs[1].state.weights)
    other = Trainer(Backprop(lr=0.1), MLP(64, (8,), 10), task, seed=4, batch_size=32).fit(50)
    assert not _weights_equal(runs[0].state.weights, other.state.weights)


def test_capability_and_size_mismatch_are_refused():
    net, task, _ = toy_problem()
    with pytest.raises(CapabilityError, match=r"BPTT requires .*'sequence'"):
        Trainer(BPTT(), net, task)
    with pytest.raises(CapabilityError, match="inputs"):
        Trainer(Backprop(), MLP(3, (2,), 2), task)


def test_checkpoint_round_trip_is_exact(tmp_path):
    net, task, _ = toy_problem()
    trainer = Trainer(Backprop(lr=0.05, optimizer="adam"), net, task, seed=1)
    state = trainer.fit(20).state
    path = save_checkpoint(tmp_path / "c.npz", state, trainer.rng, {"note": 1})
    loaded, rng_state, extra = load_checkpoint(path)
    assert loaded.step == 20 and extra == {"note": 1}
    assert _weights_equal(loaded.weights, state.weights)
    assert _weights_equal(loaded.rule_state.opt.mu, state.rule_state.opt.mu)
    assert rng_state == trainer.rng.bit_generator.state


def test_truncated_or_altered_checkpoint_named_and_skipped(tmp_path):
    net, task, _ = toy_problem()
    trainer = Trainer(Backprop(lr=0.05), net, task, callbacks=[Checkpointer(tmp_path, every=5)])
    trainer.fit(15)
    newest = tmp_path / "ckpt-00000015.npz"
    newest.write_bytes(newest.read_bytes()[:200])  # truncated by a crash
    with pytest.raises(CheckpointError, match="ckpt-00000015.npz"):
        load_checkpoint(newest)
    bad = []
    path, state, _, _ = latest_checkpoint(tmp_path, on_bad=lambda p, e: bad.append(p))
    assert path.name == "ckpt-00000010.npz" and state.step == 10 and bad == [newest]
    # altered content: same size, one weight changed -> checksum error
    import io

    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    arrays["a0"] = arrays["a0"] + 1.0
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match="checksum"):
        load_checkpoint(path)


def test_nan_loss_stops_with_step_and_keeps_last_good_state(tmp_path):
    net, task, _ = toy_problem()
    # a huge learning rate makes the weights blow up to inf within a few steps
    trainer = Trainer(Backprop(lr=1e6), net, task, callbacks=[Checkpointer(tmp_path, every=1000)])
    with pytest.raises(NonFiniteLossError, match=r"step \d+"):
        trainer.fit(200)
    _, state, _, _ = latest_checkpoint(tmp_path)
    assert all(np.all(np.isfinite(v)) for v in state.weights.values())


def test_early_stopping_on_target():
    net, task, _ = toy_problem()
    stop = EarlyStopping(monitor="val_loss", mode="min", target=1e-3)
    h = Trainer(Backprop(lr=0.1), net, task, eval_every=5, callbacks=[stop]).fit(1000)
    assert h.state.step < 1000 and h.final["val_loss"] <= 1e-3 and stop.stopped_at == h.state.step


def test_jsonl_log_and_resume_in_process_equal_uninterrupted(tmp_path):
    config = resolve_config(
        {"task": "digits", "rule": "backprop", "hidden": [8], "steps": 60, "batch_size": 16,
         "checkpoint_every": 20, "eval_every": 20}
    )
    full, _ = train_run(config, tmp_path / "full", progress=False)
    config_short = {**config, "steps": 40}
    train_run(config_short, tmp_path / "part", progress=False)
    resumed, _ = resume_run(tmp_path / "part", steps=60, progress=False)
    assert _weights_equal(load_weights(tmp_path / "full/final.npz"),
                          load_weights(tmp_path / "part/final.npz"))
    lines = lambda p: [json.loads(x) for x in (p / "metrics.jsonl").read_text().splitlines()]  # noqa: E731
    assert lines(tmp_path / "full") == lines(tmp_path / "part")
    assert resumed["metrics"] == full["metrics"]


def test_sigkill_then_resume_gives_identical_weights(tmp_path):
    """A run killed with SIGKILL resumes from its last checkpoint to the same weights."""
    args = ["--task", "digits", "--rule", "backprop", "--hidden", "16", "--steps", "3000",
            "--batch-size", "32", "--checkpoint-every", "100", "--seed", "5", "--no-progress"]
    synrl = [sys.executable, "-m", "spiking_synrl.cli", "train"]
    subprocess.run([*synrl, *args, "--out", str(tmp_path / "ref")], check=True,
                   capture_output=True)
    proc = subprocess.Popen([*synrl, *args, "--out", str(tmp_path / "killed")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    ckpts = tmp_path / "killed" / "checkpoints"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(ckpts.glob("ckpt-*.npz"))) < 2:
        time.sleep(0.01)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert not (tmp_path / "killed" / "final.npz").exists(), "killed too late to test resume"
    done = subprocess.run([sys.executable, "-m", "spiking_synrl.cli", "resume",
                           str(tmp_path / "killed"), "--no-progress"],
                          check=True, capture_output=True, text=True)
    assert "3000 steps" in done.stdout
    assert _weights_equal(load_weights(tmp_path / "ref/final.npz"),
                          load_weights(tmp_path / "killed/final.npz"))
    assert (tmp_path / "ref/metrics.jsonl").read_text() == (
        tmp_path / "killed/metrics.jsonl").read_text()
