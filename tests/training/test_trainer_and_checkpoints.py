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
    with pytest.raises(CheckpointError, match=r"ckpt-00000015\.npz"):
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


def _kill_during_checkpoint_write(
    cmd: list[str], ckpts: Path, min_step: int
) -> tuple[int, bool]:
    """Start ``cmd``, SIGKILL it as soon as the temporary file of a checkpoint of
    step ``min_step`` or later exists.

    Returns the step of the checkpoint being written (-1 if the run finished first)
    and whether the kill landed mid-write (the temporary file outlived the process).
    """
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 60
    first = f".ckpt-{min_step:08d}"  # .ckpt-00000020.npz.<random>.tmp, names sort by step
    tmp = None
    while tmp is None and proc.poll() is None and time.time() < deadline:
        if ckpts.is_dir():
            tmp = next((p for p in os.scandir(ckpts)
                        if p.name.endswith(".tmp") and p.name >= first), None)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    if tmp is None:
        return -1, False
    return int(tmp.name.split(".")[1].removeprefix("ckpt-")), os.path.exists(tmp.path)


def test_sigkill_during_checkpoint_writes_then_resume_loses_at_most_one_interval(tmp_path):
    """Kill `synrl train`, then `synrl resume`, each in the middle of writing a checkpoint.

    A 2-100000-1 network with Adam makes each checkpoint ~10 MB (tens of ms to
    write and fsync), so polling for the temporary file catches writes in progress.
    """
    every = 10
    args = ["--task", "xor", "--rule", "backprop", "--param", 'optimizer="adam"', "--param",
            "lr=0.001", "--hidden", "100000", "--steps", "80", "--checkpoint-every",
            str(every), "--eval-every", "20", "--seed", "7", "--no-progress"]
    from spiking_synrl.cli import main

    assert main(["train", *args, "--out", str(tmp_path / "ref")]) == 0
    run = tmp_path / "killed"
    ckpts = run / "checkpoints"
    synrl = [sys.executable, "-m", "spiking_synrl.cli"]
    cmd = [*synrl, "train", *args, "--out", str(run)]
    mid_write: list[int] = []
    min_step = 2 * every  # so that a good checkpoint exists to fall back to
    for _ in range(6):  # each kill ends one process; the next attempt resumes the run
        step, in_write = _kill_during_checkpoint_write(cmd, ckpts, min_step)
        cmd = [*synrl, "resume", str(run), "--no-progress"]
        if step < 0 or (run / "final.npz").exists():
            break  # the process finished before a write was caught
        if not in_write:
            continue  # the kill came just after the rename: a plain kill
        found = latest_checkpoint(ckpts)
        good = 0 if found is None else found[1].step
        logged = [json.loads(x)["step"] for x in (run / "metrics.jsonl").read_text().splitlines()]
        # the checkpoint of `step` was cut short; the previous one is intact and is
        # where resume starts: the steps lost are those since it, one interval
        assert good == step - every and logged[-1] == step
        mid_write.append(step)
        min_step = step + every
        if len(mid_write) == 2:
            break
    print("mid-write kills at steps", mid_write)
    assert mid_write, "no kill landed during a checkpoint write"
    done = subprocess.run([*synrl, "resume", str(run), "--no-progress"], check=True,
                          capture_output=True, text=True)
    assert "80 steps" in done.stdout and "warning" not in done.stdout
    assert _weights_equal(load_weights(tmp_path / "ref/final.npz"),
                          load_weights(run / "final.npz"))
    assert (tmp_path / "ref/metrics.jsonl").read_text() == (run / "metrics.jsonl").read_text()
    assert not list(run.rglob("*.tmp")), "the resumed run removed the stray temporary files"


def test_cli_nan_loss_names_the_step_and_keeps_the_last_good_state(tmp_path, capsys):
    from spiking_synrl.cli import main

    out = tmp_path / "run"
    argv = ["train", "--task", "xor", "--rule", "backprop", "--param", "lr=1e6", "--steps",
            "200", "--checkpoint-every", "1000", "--out", str(out), "--no-progress"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and "last good weights are those of step" in err
    import re

    bad_step = int(re.search(r"step (\d+):", err).group(1))
    path, state, _, _ = latest_checkpoint(out / "checkpoints")
    assert state.step == bad_step - 1 and path.name == f"ckpt-{bad_step - 1:08d}.npz"
    assert all(np.all(np.isfinite(v)) for v in state.weights.values())
    assert not (out / "final.npz").exists() and not (out / "result.json").exists()
    assert not list(out.rglob("*.tmp"))


def test_checksum_covers_the_step_and_generator_state_too(tmp_path):
    """Altering the JSON description (step, rng state) is caught, not only the arrays."""
    import io

    net, task, _ = toy_problem()
    trainer = Trainer(Backprop(lr=0.05), net, task)
    path = save_checkpoint(tmp_path / "c.npz", trainer.fit(4).state, trainer.rng)
    with np.load(path) as data:
        arrays = {k: data[k] for k in data.files}
    meta = json.loads(str(arrays["meta"]))
    meta["step"] = 3
    arrays["meta"] = np.array(json.dumps(meta))
    buf = io.BytesIO()
    np.savez(buf, **arrays)  # a valid zip with fresh CRCs: only the checksum can tell
    path.write_bytes(buf.getvalue())
    with pytest.raises(CheckpointError, match=r"c\.npz.*checksum"):
        load_checkpoint(path)


def test_nan_at_the_first_step_keeps_the_initial_state(tmp_path):
    net, task, _ = toy_problem()
    rule = Backprop(lr=0.1)
    trainer = Trainer(rule, net, task, callbacks=[Checkpointer(tmp_path, every=100)])
    huge = {k: np.full(s, 1e200) for k, s in net.weight_spec.shapes.items()}  # loss overflows
    initial = TrainState(0, huge, rule.init(huge, trainer.rng))
    with pytest.raises(NonFiniteLossError, match=r"^step 1: .* those of step 0"):
        trainer.fit(10, initial)
    path, state, _, _ = latest_checkpoint(tmp_path)
    assert path.name == "ckpt-00000000.npz" and _weights_equal(state.weights, huge)
