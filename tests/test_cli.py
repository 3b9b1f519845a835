"""The `synrl` command line as a user runs it: train, eval, resume, config files, errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from spiking_synrl.cli import main


def test_train_eval_resume_round_trip(tmp_path, capsys):
    out = tmp_path / "run"
    code = main(["train", "--task", "xor", "--rule", "backprop", "--steps", "300",
                 "--out", str(out), "--no-progress"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "val_accuracy = 1" in printed and str(out) in printed
    assert {p.name for p in out.iterdir()} >= {"config.json", "metrics.jsonl", "final.npz",
                                               "result.json", "checkpoints"}
    assert main(["eval", str(out), "--json"]) == 0
    metrics = json.loads(capsys.readouterr().out)
    assert metrics["accuracy"] == 1.0
    assert main(["resume", str(out), "--steps", "400", "--no-progress"]) == 0
    assert json.loads((out / "result.json").read_text())["steps"] == 400


def test_toml_config_and_flags_override(tmp_path, capsys):
    cfg = tmp_path / "run.toml"
    cfg.write_text(
        'task = "xor"\nrule = "backprop"\nsteps = 50\nhidden = [3]\n'
        "[rule_params]\nlr = 0.3\n[net_params]\nactivation = \"sigmoid\"\n"
    )
    out = tmp_path / "run"
    assert main(["train", "--config", str(cfg), "--steps", "70", "--param", "optimizer=\"adam\"",
                 "--out", str(out), "--no-progress"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["steps"] == 70 and config["hidden"] == [3]
    assert config["rule_params"] == {"lr": 0.3, "optimizer": "adam"}
    assert config["net_params"]["activation"] == "sigmoid"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["train", "--task", "xro"], "Did you mean: 'xor'"),
        (["train", "--rule", "dopamin"], "Did you mean: 'dopamine'"),
        (["train", "--rule", "backprop", "--param", "lr=-1"],
         "The 'lr' parameter of Backprop must be a float in (0, inf). Got -1 instead."),
        (["train", "--rule", "backprop", "--param", "learning_rate=1"],
         "no parameter 'learning_rate'"),
        (["train", "--steps", "-5"], "'steps' parameter"),
        (["train", "--task", "xor", "--net", "rnn"], "'net' parameter must be 'mlp'"),
        (["train", "--task", "xor", "--net-param", "activation=\"swish\""], "'activation'"),
        (["train", "--param", "lr"], "key=value"),
        (["train", "--config", "/nonexistent.toml"], "does not exist"),
        (["eval", "/nonexistent-run"], "'run_dir' parameter"),
    ],
)
def test_bad_parameters_get_one_line_errors(argv, message, capsys):
    assert main([*argv, "--no-progress"] if argv[0] == "train" else argv) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_refuses_to_overwrite_a_run(tmp_path, capsys):
    out = str(tmp_path / "r")
    argv = ["train", "--task", "xor", "--rule", "backprop", "--steps", "5", "--out", out,
            "--no-progress"]
    assert main(argv) == 0
    assert main(argv) == 2
    assert "synrl resume" in capsys.readouterr().err


def test_import_does_not_load_brian2():
    code = ("import sys, spiking_synrl, spiking_synrl.run, spiking_synrl.cli; "
            "print('brian2' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.brian
@pytest.mark.slow
def test_spiking_xor_from_the_command_line(tmp_path, capsys):
    """`synrl train --net snn` takes the spiking presets (2-16-1 LIF, cpp_standalone,
    each pattern 4 times per batch): weight perturbation gets >= 15 of the 16 noisy
    validation samples right in 400 steps (measured: 16/16 on seed 0, ~10 s), and
    the run resumes from its checkpoint like a rate-network run."""
    out = tmp_path / "snn"
    assert main(["train", "--task", "xor", "--net", "snn", "--rule", "weight-perturbation",
                 "--steps", "300", "--out", str(out), "--no-progress"]) == 0
    config = json.loads((out / "config.json").read_text())
    assert config["net"] == "snn" and config["rule_params"]["sigma"] == 0.3
    assert config["task_params"] == {"repeats": 4}
    assert main(["resume", str(out), "--steps", "400", "--no-progress"]) == 0
    result = json.loads((out / "result.json").read_text())
    assert result["steps"] == 400
    assert result["metrics"]["val_accuracy"] >= 15 / 16, result


@pytest.mark.brian
@pytest.mark.slow
def test_spiking_runtime_device_resumes_exactly(tmp_path):
    """In the `runtime` device too, a run stopped at its step-4 checkpoint and resumed
    ends with the same weights as an uninterrupted 8-step run (the Brian seeds come
    from the checkpointed generator)."""
    import numpy as np

    common = ["--task", "xor", "--net", "snn", "--device", "runtime", "--rule",
              "weight-perturbation", "--checkpoint-every", "4", "--no-progress"]
    assert main(["train", *common, "--steps", "8", "--out", str(tmp_path / "straight")]) == 0
    assert main(["train", *common, "--steps", "4", "--out", str(tmp_path / "cut")]) == 0
    assert main(["resume", str(tmp_path / "cut"), "--steps", "8", "--no-progress"]) == 0
    with np.load(tmp_path / "straight" / "final.npz") as a, \
            np.load(tmp_path / "cut" / "final.npz") as b:
        assert a.files == b.files
        for key in a.files:
            np.testing.assert_array_equal(a[key], b[key])


@pytest.mark.parametrize(
    ("task", "rule", "expected"),
    [
        ("xor", "synaptic-q", {"policy": "golden", "alpha_s": 0.05}),
        ("digits", "node-perturbation", {"eta": 0.005, "optimizer": "adam"}),
        ("mackey-glass", "node-perturbation", {"sigma": 0.02}),
    ],
)
def test_snn_takes_the_spiking_presets_not_the_rate_ones(task, rule, expected):
    """`--net snn` swaps in SNN_TASK_DEFAULTS / SNN_PRESETS (their learning claims:
    tests/substrates/test_snn_learning.py, benchmarks/snn_digits.py); the rate-network
    presets of the same (rule, task) would not fit (e.g. MLP activations)."""
    from spiking_synrl.presets import SNN_TASK_DEFAULTS
    from spiking_synrl.run import resolve_config

    config = resolve_config({"task": task, "rule": rule, "net": "snn"})
    assert config["net"] == "snn"
    assert expected.items() <= config["rule_params"].items()
    assert config["net_params"] == SNN_TASK_DEFAULTS[task]["net_params"]
    assert "activation" not in config["net_params"]
