"""Tests of the task registry and the six tasks."""

from __future__ import annotations

import numpy as np
import pytest

from spiking_synrl.errors import ConfigError, NameNotFound
from spiking_synrl.tasks import TASKS, Task, make_task
from spiking_synrl.tasks.mackey_glass import mean_predictor_nrmse, nrmse
from spiking_synrl.types import Batch

# small sizes keep the whole file fast; defaults are checked separately
SMALL = {
    "xor": {},
    "digits": {},
    "mackey-glass": {"n_train": 600, "n_test": 300, "window": 50, "washout": 10},
    "copy": {"n_train": 16, "n_test": 8},
    "random-teacher": {"n_samples": 20},
    "seq-digits": {},
}
GENERATED = ["mackey-glass", "copy", "random-teacher", "digits", "seq-digits"]


@pytest.fixture(scope="module")
def tasks() -> dict[str, Task]:
    return {name: make_task(name, seed=0, **SMALL[name]) for name in TASKS}


def _outputs(task: Task, batch: Batch, rng: np.random.Generator) -> np.ndarray:
    shape = (*batch.inputs.shape[:-1], task.n_outputs)
    return rng.normal(size=shape)


# -- registry -------------------------------------------------------------------
def test_registry_names() -> None:
    assert set(TASKS) == {"xor", "digits", "mackey-glass", "copy", "random-teacher", "seq-digits"}
    assert SMALL.keys() == TASKS.keys()


@pytest.mark.parametrize("name", list(TASKS))
def test_task_contract(tasks: dict[str, Task], name: str) -> None:
    task = tasks[name]
    assert task.name == name
    assert task.loss_name in ("ce", "mse")
    assert task.eval_split in task.splits
    assert "train" in task.splits
    rng = np.random.default_rng(0)
    for batch in [*task.splits.values(), task.sample_batch(rng, 3), task.sample_batch(rng)]:
        n = len(batch)
        assert batch.inputs.dtype == np.float64
        assert batch.inputs.shape[-1] == task.n_inputs
        if task.loss_name == "ce":
            assert batch.targets.dtype == np.int64
            assert batch.targets.shape == batch.inputs.shape[:-1]
            assert batch.targets.min() >= 0 and batch.targets.max() < task.n_outputs
        else:
            assert batch.targets.dtype == np.float64
            assert batch.targets.shape == (*batch.inputs.shape[:-1], task.n_outputs)
        if task.sequence:
            assert batch.inputs.ndim == 3
            assert batch.mask is not None and batch.mask.dtype == np.float64
            assert batch.mask.shape == batch.inputs.shape[:2]
            assert np.all(batch.mask.sum(axis=1) > 0)
        else:
            assert batch.inputs.ndim == 2 and batch.mask is None
        out = _outputs(task, batch, rng)
        assert task.loss(out, batch).shape == (n,)
        assert task.loss_grad(out, batch).shape == out.shape
        metrics = task.metrics(out, batch)
        assert np.isfinite(metrics["loss"])
    assert task.config()["seed"] == 0
    assert type(make_task(name, **task.config())) is type(task)


def test_make_task_normalises_names() -> None:
    assert make_task("Mackey_Glass", n_train=200, n_test=100, window=50).name == "mackey-glass"
    assert make_task(" random_teacher ").name == "random-teacher"


def test_unknown_name_suggests() -> None:
    with pytest.raises(NameNotFound, match=r"Did you mean.*'xor'"):
        make_task("xro")
    with pytest.raises(NameNotFound, match="'copy'"):
        make_task("cpy")


def test_unknown_parameter_lists_accepted() -> None:
    with pytest.raises(ConfigError, match=r"'horizn'.*MackeyGlass.*horizon, n_train"):
        make_task("mackey-glass", horizn=3)
    with pytest.raises(ConfigError, match="'batch_size' parameter is not accepted"):
        make_task("xor", batch_size=4)


@pytest.mark.parametrize(
    ("name", "params", "message"),
    [
        (
            "mackey-glass",
            {"horizon": 0},
            r"The 'horizon' parameter of MackeyGlass must be an int in \[1, inf\)\. Got 0 instead",
        ),
        ("mackey-glass", {"washout": 100}, r"'washout' parameter of MackeyGlass .* \[0, 99\]"),
        ("mackey-glass", {"window": 6000}, "'window' parameter of MackeyGlass"),
        ("copy", {"loss": "mae"}, "'loss' parameter of CopyTask must be one of 'mse', 'ce'"),
        ("copy", {"score_all": 1}, "'score_all' parameter of CopyTask must be a bool"),
        ("copy", {"seq_len": 2.5}, "'seq_len' parameter of CopyTask"),
        ("random-teacher", {"teacher_hidden": (10, 0)}, "'teacher_hidden' parameter"),
        ("random-teacher", {"input_scale": -1.0}, "'input_scale' parameter of RandomTeacher"),
        ("digits", {"seed": -1}, "'seed' parameter of Digits"),
        ("xor", {"seed": "a"}, "'seed' parameter of XOR"),
    ],
)
def test_bad_parameters(name: str, params: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        make_task(name, **params)


def test_sample_batch_checks_arguments(tasks: dict[str, Task]) -> None:
    task = tasks["mackey-glass"]
    with pytest.raises(ConfigError, match="'batch_size' parameter"):
        task.sample_batch(np.random.default_rng(0), 0)
    with pytest.raises(ConfigError, match="'rng' parameter"):
        task.sample_batch(0, 4)  # type: ignore[arg-type]


# -- determinism ----------------------------------------------------------------
def _arrays(task: Task) -> list[np.ndarray]:
    out = []
    for batch in task.splits.values():
        out += [batch.inputs, batch.targets]
        if batch.mask is not None:
            out.append(batch.mask)
    return out


@pytest.mark.parametrize("name", GENERATED)
def test_determinism(tasks: dict[str, Task], name: str) -> None:
    same = make_task(name, seed=0, **SMALL[name])
    other = make_task(name, seed=1, **SMALL[name])
    for a, b in zip(_arrays(tasks[name]), _arrays(same), strict=True):
        np.testing.assert_array_equal(a, b)
    assert any(
        a.shape != c.shape or not np.array_equal(a, c)
        for a, c in zip(_arrays(tasks[name]), _arrays(other), strict=True)
    )


def test_sample_batch_is_reproducible(tasks: dict[str, Task]) -> None:
    for task in tasks.values():
        a = task.sample_batch(np.random.default_rng(7), 2)
        b = task.sample_batch(np.random.default_rng(7), 2)
        np.testing.assert_array_equal(a.inputs, b.inputs)
        np.testing.assert_array_equal(a.targets, b.targets)


# -- losses against finite differences --------------------------------------------
def _check_grad(task: Task, batch: Batch, seed: int = 0) -> None:
    rng = np.random.default_rng(seed)
    out = _outputs(task, batch, rng)
    grad = task.loss_grad(out, batch)
    eps = 1e-6
    for _ in range(25):
        idx = tuple(int(rng.integers(s)) for s in out.shape)
        plus, minus = out.copy(), out.copy()
        plus[idx] += eps
        minus[idx] -= eps
        b = idx[0]  # only sample b's loss depends on this output
        fd = (task.loss(plus, batch)[b] - task.loss(minus, batch)[b]) / (2 * eps)
        np.testing.assert_allclose(grad[idx], fd, rtol=1e-5, atol=1e-8)


def test_ce_static_grad_matches_finite_differences(tasks: dict[str, Task]) -> None:
    task = tasks["digits"]
    _check_grad(task, task.sample_batch(np.random.default_rng(1), 8))


def test_mse_sequence_grad_matches_finite_differences(tasks: dict[str, Task]) -> None:
    task = tasks["mackey-glass"]
    _check_grad(task, task.sample_batch(np.random.default_rng(1), 3))
    # washout steps carry no gradient
    batch = task.sample_batch(np.random.default_rng(2), 2)
    g = task.loss_grad(_outputs(task, batch, np.random.default_rng(3)), batch)
    assert np.all(g[:, : task.washout] == 0) and np.all(g[:, task.washout :] != 0)


def test_ce_sequence_grad_matches_finite_differences(tasks: dict[str, Task]) -> None:
    task = make_task("copy", loss="ce", n_train=4, n_test=2)
    _check_grad(task, task.split("train"))


# -- xor --------------------------------------------------------------------------
def test_xor(tasks: dict[str, Task]) -> None:
    task = tasks["xor"]
    batch = task.split("train")
    assert batch.inputs.shape == (4, 2) and batch.targets.shape == (4, 1)
    assert set(np.unique(batch.inputs)) == {0.0, 1.0}
    np.testing.assert_array_equal(batch.targets[:, 0], np.logical_xor(*batch.inputs.T))
    assert task.split("val") is batch
    perfect = task.metrics(batch.targets * 0.8 + 0.1, batch)
    assert perfect["accuracy"] == 1.0
    assert task.metrics(1.0 - batch.targets, batch)["accuracy"] == 0.0
    assert task.metrics(np.full((4, 1), 0.6), batch)["accuracy"] == 0.5


# -- digits -----------------------------------------------------------------------
def test_digits_split_is_stratified(tasks: dict[str, Task]) -> None:
    task = tasks["digits"]
    train, val = task.split("train"), task.split("val")
    assert (task.n_inputs, task.n_outputs) == (64, 10)
    assert len(train) + len(val) == 1797
    assert len(val) == pytest.approx(0.25 * 1797, abs=1)
    assert train.inputs.min() == 0.0 and train.inputs.max() == 1.0
    train_frac = np.bincount(train.targets, minlength=10) / len(train)
    val_frac = np.bincount(val.targets, minlength=10) / len(val)
    np.testing.assert_allclose(train_frac, val_frac, atol=0.01)
    # no image in both splits
    train_rows = {row.tobytes() for row in train.inputs}
    assert sum(row.tobytes() in train_rows for row in val.inputs) < 5  # a few duplicates exist
    # CE metrics on perfect logits
    logits = 10.0 * np.eye(10)[val.targets]
    assert task.metrics(logits, val)["accuracy"] == 1.0


def test_seq_digits(tasks: dict[str, Task]) -> None:
    task, digits = tasks["seq-digits"], tasks["digits"]
    from spiking_synrl.tasks.seq_digits import PERMUTATION

    np.testing.assert_array_equal(PERMUTATION, np.random.default_rng(0).permutation(64))
    for split in ("train", "val"):
        seq, flat = task.split(split), digits.split(split)
        assert seq.inputs.shape == (len(flat), 64, 1)
        np.testing.assert_array_equal(seq.inputs[:, :, 0], flat.inputs[:, PERMUTATION])
        np.testing.assert_array_equal(seq.targets, np.repeat(flat.targets[:, None], 64, axis=1))
        assert seq.mask is not None
        assert np.all(seq.mask[:, -1] == 1) and np.all(seq.mask[:, :-1] == 0)
    # only the last step counts
    batch = task.sample_batch(np.random.default_rng(0), 5)
    out = _outputs(task, batch, np.random.default_rng(1))
    out2 = out.copy()
    out2[:, :-1] += 5.0
    np.testing.assert_allclose(task.loss(out, batch), task.loss(out2, batch))


# -- mackey-glass -----------------------------------------------------------------
def test_mackey_glass_forecasting_alignment(tasks: dict[str, Task]) -> None:
    task = tasks["mackey-glass"]
    h = task.horizon
    assert h == 15 and task.eval_split == "test"
    for split, length in (("train", 600), ("test", 300)):
        s = task.series[split]
        batch = task.split(split)
        assert batch.inputs.shape == (1, length, 1) == batch.targets.shape
        np.testing.assert_array_equal(batch.inputs[0, :, 0], s[:length])
        np.testing.assert_array_equal(batch.targets[0, :, 0], s[h : length + h])
        assert batch.mask is not None
        assert np.all(batch.mask[0, :10] == 0) and np.all(batch.mask[0, 10:] == 1)
        assert np.std(s) > 0.1  # a lively, chaotic-looking series
    assert abs(np.mean(task.series["train"])) < 1e-12
    # train and test are independent series
    assert not np.allclose(task.series["train"][:300], task.series["test"][:300])


def test_mackey_glass_windows(tasks: dict[str, Task]) -> None:
    task = tasks["mackey-glass"]
    assert task.n_windows == task.n_train == 12
    assert task.steps_per_epoch(5) == 3 and task.steps_per_epoch() == 1
    whole = task.sample_batch(np.random.default_rng(0))
    assert whole.inputs.shape == (12, 50, 1)
    np.testing.assert_array_equal(whole.inputs.reshape(-1), task.series["train"][:600])
    batch = task.sample_batch(np.random.default_rng(0), 4)
    assert batch.inputs.shape == (4, 50, 1)
    assert batch.mask is not None and np.all(batch.mask[:, :10] == 0)
    s = task.series["train"]
    for x, y in zip(batch.inputs[:, :, 0], batch.targets[:, :, 0], strict=True):
        start = int(np.flatnonzero(s == x[0])[0])
        np.testing.assert_array_equal(x, s[start : start + 50])
        np.testing.assert_array_equal(y, s[start + 15 : start + 65])


def test_mackey_glass_defaults_and_nrmse() -> None:
    task = make_task("mackey-glass")
    assert task.split("train").inputs.shape == (1, 5000, 1)
    assert task.split("test").inputs.shape == (1, 5000, 1)
    assert task.n_windows == 50
    test = task.split("test")
    assert mean_predictor_nrmse(test) == pytest.approx(1.0, abs=0.02)
    assert nrmse(test.targets, test) == 0.0
    metrics = task.metrics(test.inputs, test)  # "persistence" forecast y = s[t]
    assert set(metrics) == {"loss", "nrmse"} and metrics["nrmse"] > 0.5


# -- copy -------------------------------------------------------------------------
def test_copy_targets_hold_the_sequence(tasks: dict[str, Task]) -> None:
    task = tasks["copy"]
    assert (task.n_inputs, task.n_outputs, task.length) == (10, 10, 25)
    batch = task.split("train")
    assert batch.inputs.shape == (16, 25, 10) == batch.targets.shape
    u, y = batch.inputs.argmax(-1), batch.targets.argmax(-1)
    np.testing.assert_array_equal(batch.inputs.sum(-1), 1.0)
    np.testing.assert_array_equal(batch.targets.sum(-1), 1.0)
    seq = u[:, :10]
    assert seq.min() >= 1 and seq.max() <= 8
    assert np.all(u[:, 10:15] == 0) and np.all(u[:, 15:] == 9)
    assert np.all(y[:, :15] == 0)
    np.testing.assert_array_equal(y[:, 15:], seq)
    assert batch.mask is not None
    np.testing.assert_array_equal(batch.mask, np.repeat([[0.0] * 15 + [1.0] * 10], 16, axis=0))
    assert len(task.split("test")) == 8 and task.eval_split == "test"
    # accuracy is over the recall steps: a perfect recall scores 1, all-blank 0
    assert task.metrics(batch.targets, batch)["accuracy"] == 1.0
    blank = np.zeros_like(batch.targets)
    blank[..., 0] = 1.0
    assert task.metrics(blank, batch)["accuracy"] == 0.0


def test_copy_variants() -> None:
    task = make_task("copy", loss="ce", score_all=True, n_symbols=3, seq_len=4, delay=2)
    batch = task.split("train")
    assert task.n_outputs == 5 and batch.targets.dtype == np.int64
    assert batch.targets.shape == (256, 10)
    assert batch.mask is not None and np.all(batch.mask == 1)
    np.testing.assert_array_equal(batch.targets[:, 6:], batch.inputs[:, :4].argmax(-1))
    assert task.metrics(10.0 * np.eye(5)[batch.targets], batch)["accuracy"] == 1.0
    assert len(task.split("test")) == 128


# -- random teacher ---------------------------------------------------------------
def test_random_teacher() -> None:
    task = make_task("random-teacher", seed=3, teacher_hidden=(6, 4), n_outputs=2, input_scale=2.0)
    train, val = task.split("train"), task.split("val")
    assert train.inputs.shape == (200, 10) and train.targets.shape == (200, 2)
    assert len(val) == 200 and not np.array_equal(train.inputs, val.inputs)
    assert np.abs(train.inputs).max() <= 2.0
    assert [w.shape for w, _ in task.teacher] == [(10, 6), (6, 4), (4, 2)]
    assert all(np.all(b == 0) for _, b in task.teacher)
    assert all(np.abs(w).max() <= 1.0 for w, _ in task.teacher)
    h = train.inputs
    for w, b in task.teacher:
        h = np.tanh(h @ w + b)
    np.testing.assert_allclose(train.targets, h)
    assert np.std(train.targets) > 0.05  # not a constant teacher
    assert make_task("random-teacher", teacher_hidden=()).teacher[0][0].shape == (10, 1)
    biased = make_task("random-teacher", teacher_bias=True)
    assert np.any(biased.teacher[0][1] != 0)
