"""Property-based tests: random bad configurations and inputs get clear errors.

Hypothesis feeds every public entry point values of the wrong type, out of
range, NaN or infinite, misspelt registry names and arrays of the wrong shape:
``resolve_config`` + ``train_run``, ``make_rule``, ``make_task``, ``make_network``,
substrate forward passes, the Trainer and its callbacks, ``load_checkpoint`` on
damaged files, and the ``synrl`` command line (in-process, ``cli.main(argv)``).

The property, for each input: either it is rejected with a :class:`SynRLError`
whose message names the parameter (the CLI: exit status 2, one error line and no
traceback; argparse's own usage errors also exit with 2), or it is accepted and
the object works (a value that happens to be valid). Never an exception from
inside numpy or Brian2. A run directory is either absent or complete: a
rejected ``train`` leaves nothing behind, and no temporary file is left over.

Examples are derandomized (the same inputs in every CI run, no example
database). Each test records how many inputs it tried (``record_property``);
``tests/conftest.py`` prints the total in the terminal summary, even with ``-q``:
``hypothesis bad-input suite: 3800 inputs tried in 9 properties, 3685 rejected with
a clear error, 115 accepted and ran cleanly``. ``SYNRL_HYPOTHESIS_SCALE=10`` tries
ten times as many inputs, drawn at random (not derandomized): a search for new gaps.
"""

from __future__ import annotations

import inspect
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

hypothesis = pytest.importorskip("hypothesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from spiking_synrl.cli import main  # noqa: E402
from spiking_synrl.errors import SynRLError  # noqa: E402
from spiking_synrl.presets import DEFAULTS  # noqa: E402
from spiking_synrl.rules import RULES, load_rule_class, make_rule  # noqa: E402
from spiking_synrl.run import resolve_config, train_run  # noqa: E402
from spiking_synrl.substrates import MLP, RNN, make_network  # noqa: E402
from spiking_synrl.tasks import TASKS, load_task_class, make_task  # noqa: E402
from spiking_synrl.training import (  # noqa: E402
    Checkpointer,
    EarlyStopping,
    JSONLLogger,
    Trainer,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from spiking_synrl.training.step import TrainState, train_step  # noqa: E402
from spiking_synrl.validation import real_array  # noqa: E402

SCALE = int(os.environ.get("SYNRL_HYPOTHESIS_SCALE", "1"))
CI = settings(
    derandomize=SCALE == 1,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much,
                           HealthCheck.data_too_large],
)


def examples(n: int) -> settings:
    return settings(CI, max_examples=n * SCALE)


@dataclass
class Tally:
    """How many inputs one property tried and how many were rejected."""

    tried: int = 0
    rejected: int = 0

    def report(self, record_property: Any) -> None:
        record_property("bad_inputs", [self.tried, self.rejected])


def _names_parameter(err: BaseException, *names: str) -> bool:
    text = str(err).lower()
    return any(n.lower() in text for n in names)


def _expect_clear(err: BaseException, *names: str) -> None:
    """The check behind every ``except Exception``: the property is about what is raised."""
    assert isinstance(err, SynRLError), f"{type(err).__name__} from deep inside: {err}"
    assert _names_parameter(err, *names), f"message does not name {names}: {err}"


# -- strategies -------------------------------------------------------------------
def typo(word: str) -> st.SearchStrategy[str]:
    """``word`` with one character deleted, doubled, swapped or replaced."""
    def mutate(args: tuple[int, int, str]) -> str:
        op, i, c = args
        i %= len(word)
        if op == 0:
            return word[:i] + word[i + 1:]
        if op == 1:
            return word[:i] + word[i] + word[i:]
        if op == 2 and i + 1 < len(word):
            return word[:i] + word[i + 1] + word[i] + word[i + 2:]
        return word[:i] + c + word[i + 1:]

    return st.tuples(st.integers(0, 3), st.integers(0, 50), st.sampled_from("aex_-1 ")).map(
        mutate
    ).filter(lambda t: t != word)


#: values of every shape and type; small positive ints only (a valid huge count
#: would be a valid, huge run)
JUNK = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([float("nan"), float("inf"), -float("inf"), -1.0, 0.0, 1e300, -1e-300]),
    st.text(max_size=6),
    st.lists(st.integers(-3, 5), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.just(np.array([1.0, np.nan])),
    st.just(np.zeros((2, 2))),
    st.just(b"\x00\xff"),
    st.just(1 + 2j),
    # plausible values, often valid: an accepted value must then work
    st.floats(-1.0, 2.0),
    st.integers(0, 4),
    st.sampled_from(["sgd", "adam", "static", "adaptive", "lstsq", "step", "future", "sigma2",
                     "golden", "unperturbed", "relu", "uniform", "ce", "mse"]),
)


def bad_int(low: int) -> st.SearchStrategy[Any]:
    """Values ``check_int(..., low=low)`` must reject."""
    return st.one_of(
        st.integers(max_value=low - 1),
        st.booleans(),
        st.floats(allow_nan=True),
        st.text(max_size=4),
        st.none(),
        st.lists(st.integers(), max_size=2),
    )


STATIC_RULES = [r for r in RULES if r != "bptt"]


def _params_of(cls: type, skip: tuple[str, ...] = ()) -> list[str]:
    sig = inspect.signature(cls.__init__)
    return [n for n, p in sig.parameters.items()
            if n not in ("self", *skip) and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]


def _clean(out: Path) -> None:
    """A rejected run leaves no directory; an accepted one a complete run, no temp files."""
    if out.exists():
        assert (out / "result.json").is_file() and (out / "final.npz").is_file(), (
            f"half-written run directory: {sorted(p.name for p in out.iterdir())}"
        )
    assert not list(out.parent.rglob("*.tmp"))


# -- configurations through resolve_config + train_run -----------------------------
INT_KEYS = {"steps": 0, "seed": 0, "batch_refresh": 1, "eval_every": 1,
            "checkpoint_every": 1, "log_every": 1, "eval_workers": 1, "batch_size": 1}

BAD_CONFIG = st.one_of(
    # an unknown (misspelt) top-level key
    st.sampled_from(sorted(DEFAULTS)).flatmap(
        lambda k: typo(k).filter(lambda t: t not in DEFAULTS).map(lambda t: (t, 1, (k, t)))
    ),
    # misspelt registry names
    st.sampled_from([("task", "xor"), ("rule", "backprop"), ("net", "mlp")]).flatmap(
        lambda kv: typo(kv[1]).map(lambda t: (kv[0], t, (kv[0], "network", "name")))
    ),
    st.sampled_from(["task", "rule", "net"]).flatmap(
        lambda k: JUNK.filter(lambda v: not isinstance(v, str)).map(
            lambda v: (k, v, (k, "network", "name")))
    ),
    # integers out of range or not integers
    st.sampled_from(sorted(INT_KEYS)).flatmap(
        lambda k: bad_int(INT_KEYS[k]).filter(lambda v: not (k == "batch_size" and v is None))
        .map(lambda v: (k, v, (k,)))
    ),
    st.one_of(
        st.lists(st.one_of(st.integers(-5, 0), st.text(max_size=2), st.floats()), min_size=1,
                 max_size=3),
        st.text(max_size=4), st.none(), st.floats(), st.dictionaries(st.text(), st.integers()),
    ).map(lambda v: ("hidden", v, ("hidden",))),
    # tables that are not tables, or tables with junk
    st.sampled_from(["task_params", "net_params", "rule_params", "early_stop"]).flatmap(
        lambda k: st.one_of(st.integers(), st.text(max_size=3), st.lists(st.integers(),
                                                                          max_size=2))
        .map(lambda v: (k, v, (k,)))
    ),
    st.tuples(st.sampled_from(["monitor", "mode", "patience", "target", "monitr", "pateince"]),
              JUNK).filter(lambda kv: not (kv[0] == "monitor" and isinstance(kv[1], str)))
    .map(lambda kv: ("early_stop", {kv[0]: kv[1]}, ("early_stop", kv[0]))),
)


def test_bad_run_configurations_are_rejected_before_any_file_is_written(tmp_path,
                                                                        record_property):
    tally = Tally()

    @examples(400)
    @given(case=BAD_CONFIG)
    def check(case: tuple[str, Any, tuple[str, ...]]) -> None:
        key, value, names = case
        tally.tried += 1
        out = tmp_path / f"run{tally.tried}"
        user = {"task": "xor", "rule": "backprop", "steps": 2, "hidden": [3], key: value}
        try:
            train_run(resolve_config(user), out, progress=False)
        except Exception as err:
            tally.rejected += 1
            _expect_clear(err, *names)
        _clean(out)

    check()
    tally.report(record_property)
    assert tally.rejected > 0.9 * tally.tried


# -- rules, tasks, networks, by name and parameter ----------------------------------
def _rule_problem(name: str):
    if name == "bptt":
        task = make_task("copy", n_symbols=2, seq_len=2, delay=1, n_train=4, n_test=4)
        return RNN(task.n_inputs, 4, task.n_outputs), task
    task = make_task("xor")
    return MLP(2, (3,), 1), task


@st.composite
def rule_case(draw: Any) -> tuple[str, str, Any]:
    name = draw(st.sampled_from(sorted(RULES)))
    params = _params_of(load_rule_class(name))
    param = draw(st.one_of(st.sampled_from(params), st.sampled_from(params).flatmap(typo)))
    return name, param, draw(JUNK)


def test_bad_rule_parameters(record_property):
    tally = Tally()

    @examples(500)
    @given(case=rule_case())
    def check(case: tuple[str, str, Any]) -> None:
        name, param, value = case
        tally.tried += 1
        try:
            rule = make_rule(name, **{param: value})
        except Exception as err:
            tally.rejected += 1
            _expect_clear(err, param)
            return
        net, task = _rule_problem(name)  # accepted: it must train or fail clearly
        rng = np.random.default_rng(0)
        weights = net.init_weights(rng)
        try:
            state = TrainState(0, weights, rule.init(weights, rng))
            for _ in range(2):
                state, _ = train_step(rule, net, task, state, rng, batch_size=4)
        except Exception as err:
            assert isinstance(err, SynRLError), f"{param}={value!r}: {type(err).__name__}: {err}"

    check()
    tally.report(record_property)


@st.composite
def task_case(draw: Any) -> tuple[str, str, Any]:
    name = draw(st.sampled_from(sorted(TASKS)))
    params = _params_of(load_task_class(name))
    param = draw(st.one_of(st.sampled_from(params), st.sampled_from(params).flatmap(typo)))
    value = draw(bad_int(0) if param == "seed" or name in ("digits", "seq-digits") else JUNK)
    return name, param, value


def test_bad_task_parameters(record_property):
    tally = Tally()

    @examples(400)
    @given(case=task_case())
    def check(case: tuple[str, str, Any]) -> None:
        name, param, value = case
        tally.tried += 1
        try:
            task = make_task(name, **{param: value})
        except Exception as err:
            tally.rejected += 1
            _expect_clear(err, param)
            return
        batch = task.sample_batch(np.random.default_rng(0), 2)
        out_shape = (*batch.inputs.shape[:-1], task.n_outputs)
        assert np.all(np.isfinite(task.loss(np.zeros(out_shape), batch)))

    check()
    tally.report(record_property)


@st.composite
def network_case(draw: Any) -> tuple[str, str, Any]:
    name = draw(st.sampled_from(["mlp", "rnn"]))
    cls = MLP if name == "mlp" else RNN
    params = _params_of(cls, ("n_inputs", "n_outputs", "hidden", "n_hidden"))
    param = draw(st.one_of(st.sampled_from(params), st.sampled_from(params).flatmap(typo),
                           st.just("hidden")))
    return name, param, draw(JUNK)


def test_bad_network_parameters(record_property):
    tally = Tally()
    tasks = {"mlp": make_task("xor"),
             "rnn": make_task("copy", n_symbols=2, seq_len=2, delay=1, n_train=4, n_test=4)}

    @examples(400)
    @given(case=network_case())
    def check(case: tuple[str, str, Any]) -> None:
        name, param, value = case
        tally.tried += 1
        task = tasks[name]
        try:
            if param == "hidden":
                net = make_network(name, task, value)
            else:
                net = make_network(name, task, [3], **{param: value})
        except Exception as err:
            tally.rejected += 1
            _expect_clear(err, param, "network" if param == "hidden" else param)
            return
        batch = task.split("train")
        try:  # accepted, perhaps absurd (a gain of 1e300): works, or fails clearly
            with np.errstate(over="ignore", invalid="ignore"):  # as in train_step
                weights = net.init_weights(np.random.default_rng(0))
                out = net.forward(weights, batch.inputs).outputs
        except Exception as err:
            assert isinstance(err, SynRLError), f"{param}={value!r}: {type(err).__name__}: {err}"
            return
        assert out.shape[-1] == task.n_outputs

    check()
    tally.report(record_property)


# -- forward passes with bad weights, inputs, noise, generators ----------------------
NETS = {"mlp": (MLP(3, (4,), 2), (5, 3)), "rnn": (RNN(2, 4, 1), (3, 6, 2))}


def _valid_weight(value: Any, shape: tuple[int, ...]) -> bool:
    arr = real_array(value)
    return arr is not None and arr.shape == shape and bool(np.all(np.isfinite(arr)))


@st.composite
def forward_case(draw: Any) -> tuple[str, dict[str, Any], str]:
    name = draw(st.sampled_from(sorted(NETS)))
    net, in_shape = NETS[name]
    weights: dict[str, Any] = net.init_weights(np.random.default_rng(0))
    call: dict[str, Any] = {"weights": weights, "inputs": np.zeros(in_shape),
                            "node_noise": 0.0, "rng": np.random.default_rng(0)}
    what = draw(st.sampled_from(["weight", "key", "inputs", "node_noise", "rng"]))
    key = draw(st.sampled_from(sorted(weights)))
    if what == "weight":
        shape = weights[key].shape
        bad_shape = draw(st.lists(st.integers(0, 5), max_size=3).map(tuple).filter(
            lambda s: s != shape))
        weights[key] = draw(st.one_of(
            st.just(np.zeros(bad_shape)),
            st.just(np.full(shape, np.nan)), st.just(np.full(shape, np.inf)),
            st.just(np.full(shape, "w", dtype=object)), st.just(np.zeros(shape, dtype=complex)),
            JUNK.filter(lambda v: not _valid_weight(v, shape)),
        ))
    elif what == "key":
        weights[draw(typo(key))] = weights.pop(key)
        if draw(st.booleans()):
            del weights[draw(st.sampled_from(sorted(weights)))]
    elif what == "inputs":
        # any number of samples (and steps) is fine, even 0; ndim and width are not
        bad = draw(st.lists(st.integers(0, 7), max_size=4).map(tuple).filter(
            lambda s: not (len(s) == len(in_shape) and s[-1] == in_shape[-1])))
        call["inputs"] = draw(st.one_of(
            st.just(np.zeros(bad)), st.just(np.full(in_shape, np.nan)),
            st.just(np.full(in_shape, "x", dtype=object)), JUNK,
        ))
    elif what == "node_noise":
        call["node_noise"] = draw(st.one_of(
            st.floats(max_value=-1e-9), st.just(float("nan")), st.just(float("inf")),
            st.text(max_size=3), st.none(), st.lists(st.floats(0, 1), min_size=2, max_size=3),
        ))
    else:
        call["node_noise"] = 0.1
        call["rng"] = draw(st.one_of(st.none(), st.integers(), st.just(np.random.RandomState(0)),
                                     st.text(max_size=2)))
    return name, call, what


def test_bad_forward_inputs(record_property):
    tally = Tally()
    names = {"weight": ("weight",), "key": ("weight", "keys"), "inputs": ("inputs",),
             "node_noise": ("node_noise",), "rng": ("rng",)}

    @examples(500)
    @given(case=forward_case())
    def check(case: tuple[str, dict[str, Any], str]) -> None:
        name, call, what = case
        tally.tried += 1
        net, _ = NETS[name]
        with pytest.raises(Exception) as info:
            net.forward(call.pop("weights"), call.pop("inputs"), **call)
        tally.rejected += 1
        _expect_clear(info.value, *names[what])

    check()
    tally.report(record_property)


# -- the Trainer and its callbacks ---------------------------------------------------
TRAINER_INTS = {"seed": 0, "batch_size": 1, "batch_refresh": 1, "eval_every": 1,
                "eval_workers": 1}


def _valid_early_stopping(param: str, value: Any) -> bool:
    if param == "target":
        real = isinstance(value, (int, float)) and not isinstance(value, bool)
        return value is None or (real and bool(np.isfinite(value)))
    if param == "mode":
        return isinstance(value, str) and value in ("min", "max")
    return isinstance(value, str) and value != ""  # monitor


@st.composite
def trainer_case(draw: Any) -> tuple[str, str, Any]:
    where = draw(st.sampled_from(["Trainer", "fit", "Checkpointer", "JSONLLogger",
                                  "EarlyStopping", "init_state"]))
    if where == "Trainer":
        param = draw(st.sampled_from(sorted(TRAINER_INTS)))
        value = draw(bad_int(TRAINER_INTS[param]).filter(
            lambda v: not (param == "batch_size" and v is None)))
    elif where == "fit":
        param, value = "n_steps", draw(bad_int(0))
    elif where in ("Checkpointer", "JSONLLogger"):
        param, value = "every", draw(bad_int(1))
    elif where == "EarlyStopping":
        param = draw(st.sampled_from(["monitor", "mode", "patience", "target"]))
        value = draw(bad_int(0) if param == "patience" else JUNK.filter(
            lambda v: not _valid_early_stopping(param, v)))
    else:
        param, value = "weights", draw(JUNK.filter(lambda v: v is not None))  # None: fresh
    return where, param, value


def test_bad_trainer_and_callback_arguments(tmp_path, record_property):
    tally = Tally()
    net, task = MLP(2, (3,), 1), make_task("xor")
    rule = make_rule("backprop")

    @examples(300)
    @given(case=trainer_case())
    def check(case: tuple[str, str, Any]) -> None:
        where, param, value = case
        tally.tried += 1
        with pytest.raises(Exception) as info:
            if where == "Trainer":
                Trainer(rule, net, task, **{param: value})
            elif where == "fit":
                Trainer(rule, net, task).fit(value)
            elif where == "Checkpointer":
                Checkpointer(tmp_path / "never", every=value)
            elif where == "JSONLLogger":
                JSONLLogger(tmp_path / "never.jsonl", every=value)
            elif where == "EarlyStopping":
                EarlyStopping(**{param: value})
            else:
                Trainer(rule, net, task).init_state(value)
        tally.rejected += 1
        _expect_clear(info.value, param)
        assert not (tmp_path / "never").exists()

    check()
    tally.report(record_property)


# -- damaged checkpoints ---------------------------------------------------------------
def test_damaged_checkpoints_are_named_and_skipped(tmp_path, record_property):
    net, task = MLP(2, (3,), 1), make_task("xor")
    trainer = Trainer(make_rule("backprop", optimizer="adam"), net, task, seed=1)
    state = trainer.fit(3).state
    good = save_checkpoint(tmp_path / "ckpt-00000001.npz", state, trainer.rng)
    original = good.read_bytes()
    tally = Tally()

    @examples(300)
    @given(cut=st.integers(0, len(original) - 1),
           flips=st.lists(st.tuples(st.integers(0, len(original) - 1), st.integers(1, 255)),
                          min_size=1, max_size=3),
           truncate=st.booleans())
    def check(cut: int, flips: list[tuple[int, int]], truncate: bool) -> None:
        tally.tried += 1
        data = bytearray(original[:cut] if truncate else original)
        for pos, xor in flips:
            if pos < len(data):
                data[pos] ^= xor
        bad = tmp_path / "ckpt-00000002.npz"
        bad.write_bytes(bytes(data))
        try:
            loaded, _, _ = load_checkpoint(bad)
        except Exception as err:
            tally.rejected += 1
            _expect_clear(err, bad.name)
            path, fallback, _, _ = latest_checkpoint(tmp_path)
            assert path == good and fallback.step == state.step
            return
        # accepted: the damage missed everything that matters (e.g. a zip timestamp)
        assert loaded.step == state.step
        for k, v in state.weights.items():
            assert np.array_equal(loaded.weights[k], v)

    check()
    tally.report(record_property)
    assert tally.rejected > 0.6 * tally.tried  # most bytes matter


# -- the command line ------------------------------------------------------------------
TOML_VALUE = st.one_of(
    st.integers(-5, 30).map(str), st.floats(allow_nan=False).map(repr),
    st.sampled_from(['"xor"', '"xro"', "true", "[1, 2]", '"', "[", "{a = 1}", "nan", "inf",
                     "-inf", '""', "1e999", "0x10", "'single'", "2024-01-01"]),
    st.text(alphabet="abc=[]{}\"'.,-+ 019", max_size=6),
)


@st.composite
def cli_case(draw: Any, tmp: Path) -> tuple[list[str], Path | None]:
    base = ["--task", "xor", "--rule", "backprop", "--steps", "2", "--hidden", "3",
            "--no-progress"]
    kind = draw(st.sampled_from(["int_flag", "name", "param", "hidden", "device", "config",
                                 "eval", "resume", "unknown_flag"]))
    if kind == "int_flag":
        flag = draw(st.sampled_from(["--steps", "--seed", "--batch-size", "--eval-every",
                                     "--checkpoint-every", "--batch-refresh", "--eval-workers"]))
        value = draw(st.one_of(
            st.integers(-(10**6), 0).map(str),
            # a valid count here is a real run: keep those small
            st.text(alphabet="0123456789.e-x ", max_size=5).filter(
                lambda t: not t.strip().isdigit() or int(t) <= 5),
        ))
        return ["train", *base, flag, value], None
    if kind == "name":
        flag, word = draw(st.sampled_from([("--task", "xor"), ("--rule", "backprop"),
                                           ("--net", "mlp"), ("--rule", "dopamine")]))
        return ["train", *base, flag, draw(typo(word) | st.text(max_size=4))], None
    if kind == "param":
        flag = draw(st.sampled_from(["--param", "--net-param", "--task-param"]))
        key = draw(st.sampled_from(["lr", "optimizer", "momentum", "activation", "init_scale",
                                    "bias", "seed", "init"]).flatmap(
            lambda k: st.one_of(st.just(k), typo(k))))
        sep = draw(st.sampled_from(["=", "=", ":", ""]))
        return ["train", *base, flag, f"{key}{sep}{draw(TOML_VALUE)}"], None
    if kind == "hidden":
        return ["train", *base, "--hidden", draw(st.text(alphabet="0123456789,- xa",
                                                         max_size=6))], None
    if kind == "device":
        return ["train", *base, "--device", draw(st.text(max_size=8))], None
    if kind == "config":
        n = draw(st.integers(0, 10**9))
        path = tmp / f"cfg{n}.toml"
        key = draw(st.sampled_from([*sorted(DEFAULTS), "stpes", "rule_params.lr",
                                    "net_params.activation"]))
        path.write_text(f"{key} = {draw(TOML_VALUE)}\n")
        return ["train", "--config", str(path), *base], None
    if kind == "eval":
        return ["eval", str(tmp / draw(st.text(alphabet="abc", min_size=1, max_size=4))),
                "--split", draw(st.text(max_size=4))], None
    if kind == "resume":
        return ["resume", str(tmp / "no-such-run"), "--steps", draw(
            st.integers(-5, 5).map(str))], None
    return ["train", *base, draw(st.sampled_from(["--step", "--taks", "--lr", "-x"])), "1"], None


def test_bad_command_lines_exit_2_with_one_line(tmp_path, capsys, record_property):
    tally = Tally()

    @examples(400)
    @given(data=st.data())
    def check(data: Any) -> None:
        argv, _ = data.draw(cli_case(tmp_path))
        tally.tried += 1
        out = tmp_path / f"run{tally.tried}"
        if argv[0] == "train":
            argv = [*argv, "--out", str(out)]
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse: usage error
            code = exc.code
        err = capsys.readouterr().err
        assert "Traceback" not in err
        if code == 0:  # a value that happened to be valid: a complete run
            _clean(out)
            return
        tally.rejected += 1
        assert code == 2 and "error:" in err, (argv, code, err)
        if "non-finite" in err:  # accepted, trained, diverged: a resumable run is kept
            assert latest_checkpoint(out / "checkpoints") is not None  # the last good state
        else:
            assert not out.exists(), f"{argv} left {sorted(p.name for p in out.iterdir())}"

    check()
    tally.report(record_property)
    assert tally.rejected > 0.5 * tally.tried



# -- spiking networks (only construction and rejected calls: nothing is compiled) ---------
@pytest.mark.brian
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_bad_spiking_network_parameters_and_inputs(tmp_path, record_property):
    brian = pytest.importorskip("spiking_synrl.substrates.brian")
    from networks import lif_feedforward

    params = sorted({*_params_of(brian.BrianFeedForward, (
        "n_inputs", "hidden", "n_outputs", "neuron", "params", "on_pre", "readout_scale",
        "readout_offset")), *_params_of(lif_feedforward.network, ("n_inputs", "hidden",
                                                                   "n_outputs"))} - {"params"})
    task = make_task("xor")
    tally = Tally()
    # a network that exists but is never built: every call below must fail its checks
    net = make_network("snn", task, [3], device="runtime", cache_dir=tmp_path / "cache",
                       batch_size=4, n_candidates=2)
    shapes = net.weight_spec.shapes

    @examples(300)
    @given(param=st.one_of(st.sampled_from(params), st.sampled_from(params).flatmap(typo)),
           value=JUNK, weight_key=st.sampled_from(sorted(shapes)), what=st.integers(0, 2))
    def check(param: str, value: Any, weight_key: str, what: int) -> None:
        tally.tried += 1
        try:
            make_network("snn", task, [3], **{"cache_dir": tmp_path / "cache", param: value})
        except Exception as err:
            tally.rejected += 1
            _expect_clear(err, param)
        weights: dict[str, Any] = {k: np.zeros(s) for k, s in shapes.items()}
        inputs: Any = np.zeros((4, task.n_inputs))
        if what == 0:
            weights[weight_key] = value if not _valid_weight(value, shapes[weight_key]) else None
        elif what == 1:
            arr = real_array(value)
            usable = (arr is not None and arr.ndim == 2 and arr.shape[1] == task.n_inputs
                      and bool(np.all(np.isfinite(arr))))
            inputs = np.zeros(3) if usable else value
        else:
            weights[weight_key + "x"] = weights.pop(weight_key)
        tally.tried += 1
        with pytest.raises(Exception) as info:
            net.forward(weights, inputs, rng=np.random.default_rng(0))
        tally.rejected += 1
        _expect_clear(info.value, ("weight", "inputs", "weight")[what])
        assert not (tmp_path / "cache").exists()  # rejected before any build

    check()
    tally.report(record_property)
