"""Settings that work: per-task defaults and per-(rule, task) hyperparameters.

A run's configuration is resolved in layers, later ones winning:
:data:`DEFAULTS` < :data:`TASK_DEFAULTS` ``[task]`` < :data:`PRESETS`
``[(rule, task)]`` < the config file < command-line flags. Spiking networks
(``net = "snn"``) have their own layers, :data:`SNN_TASK_DEFAULTS` and
:data:`SNN_PRESETS`, in place of the rate-network ones: their rules need other
step sizes. Every preset here was found by the tuning runs recorded in
``benchmarks/`` or the learning tests, and is exercised by a test.
"""

from __future__ import annotations

from typing import Any

__all__ = ["DEFAULTS", "PRESETS", "SNN_PRESETS", "SNN_TASK_DEFAULTS", "TASK_DEFAULTS", "preset"]

#: the main job of ``synrl train`` with no arguments: a small task, about a minute
DEFAULTS: dict[str, Any] = {
    "task": "digits",
    "net": "mlp",
    "rule": "synaptic-q",
    "seed": 0,
    "steps": 10000,
    "hidden": [32],
    "batch_size": None,
    "batch_refresh": 1,
    "eval_every": 100,
    "checkpoint_every": 1000,
    "log_every": 1,
    "eval_workers": 1,
    "task_params": {},
    "net_params": {},
    "rule_params": {},
    "early_stop": None,
}

TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "xor": {"hidden": [4], "steps": 2000, "eval_every": 50, "net_params": {"activation": "tanh"}},
    "digits": {"hidden": [32], "steps": 2000, "net_params": {"activation": "relu"}},
    "random-teacher": {"hidden": [10], "steps": 2000, "net_params": {"activation": "tanh"}},
    "mackey-glass": {"net": "rnn", "hidden": [64], "steps": 200, "batch_size": 8, "eval_every": 50},
    "copy": {"net": "rnn", "hidden": [64], "steps": 500, "batch_size": 16, "eval_every": 50},
    "seq-digits": {"net": "rnn", "hidden": [64], "steps": 500, "batch_size": 32, "eval_every": 50},
}

#: (rule, task) -> overrides (rule_params, net_params, steps, batch_size, ...)
PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    # tests/rules/test_synaptic_q.py, benchmarks/reproduce_synaptic_q.py
    ("synaptic-q", "digits"): {
        "net_params": {"activation": "relu", "init": "uniform", "init_scale": 0.1},
        "rule_params": {"alpha_s": 0.01, "alpha_s_schedule": [[3000, 0.004]]}, "steps": 10000,
    },
    ("synaptic-q", "xor"): {"rule_params": {"alpha_s": 0.02}, "steps": 1000},
    # tests/rules/test_weight_perturbation.py, test_dopamine.py, benchmarks/compare_dopamine_wp.py
    ("weight-perturbation", "xor"): {"rule_params": {"sigma": 1e-3, "eta": 0.1}, "steps": 500},
    ("dopamine", "xor"): {"rule_params": {"sigma": 1e-3, "eta0": 0.1}, "steps": 500},
    ("weight-perturbation", "digits"): {"net_params": {"activation": "tanh"},
                                        "rule_params": {"sigma": 1e-3, "eta": 0.03},
                                        "steps": 20000},
    ("dopamine", "digits"): {"net_params": {"activation": "tanh"},
                             "rule_params": {"sigma": 1e-3, "eta0": 0.03, "beta": 0.1},
                             "steps": 10000},
    # tests/rules/test_node_perturbation.py, benchmarks/reproduce_anp_rnn.py
    ("node-perturbation", "xor"): {"rule_params": {"eta": 0.2, "sigma": 0.01}, "steps": 1000},
    ("anp", "xor"): {"rule_params": {"eta": 0.2, "sigma": 0.01}, "steps": 1000},
    ("anp", "mackey-glass"): {"hidden": [500], "steps": 750, "batch_size": 4,
                              "task_params": {"window": 50, "washout": 10},
                              "rule_params": {"eta": 1e-2, "sigma": 1e-3}},
    ("node-perturbation", "mackey-glass"): {"hidden": [500], "steps": 750, "batch_size": 4,
                                            "task_params": {"window": 50, "washout": 10},
                                            "rule_params": {"eta": 3e-3, "sigma": 1e-3}},
    ("weight-perturbation", "mackey-glass"): {"hidden": [500], "steps": 750, "batch_size": 4,
                                              "task_params": {"window": 50, "washout": 10},
                                              "rule_params": {"eta": 1e-4, "sigma": 1e-3}},
    ("backprop", "xor"): {"rule_params": {"lr": 0.5}, "steps": 1000},
    ("backprop", "digits"): {"rule_params": {"lr": 0.1}, "steps": 1000},
    # benchmarks/reproduce_learned_feedback.py and tests/rules/test_learned_feedback.py
    ("learned-feedback", "xor"): {"hidden": [8], "rule_params": {"lr": 0.3, "sigma": 0.01},
                                  "steps": 300},
    ("feedback-alignment", "xor"): {"hidden": [8], "rule_params": {"lr": 0.3}, "steps": 300},
    ("learned-feedback", "digits"): {
        "hidden": [50, 20], "net_params": {"activation": "sigmoid"}, "batch_size": 32,
        "steps": 6000, "rule_params": {"lr": 1.0, "sigma": 0.01, "feedback_update": "lstsq"},
    },
    ("feedback-alignment", "digits"): {
        "hidden": [50, 20], "net_params": {"activation": "sigmoid"}, "batch_size": 32,
        "steps": 6000, "rule_params": {"lr": 2.0},
    },
    ("bptt", "mackey-glass"): {"hidden": [500], "steps": 750, "batch_size": 4,
                               "task_params": {"window": 50, "washout": 10},
                               "rule_params": {"lr": 3e-4, "optimizer": "adam"}},
    ("bptt", "copy"): {"rule_params": {"lr": 0.003, "optimizer": "adam"}},
    ("bptt", "seq-digits"): {"rule_params": {"lr": 0.003, "optimizer": "adam"}},
}


#: LIF feed-forward settings of tests/substrates/test_snn_learning.py (XOR) and
#: benchmarks/snn_digits.py (digits); recurrent ones of the Mackey-Glass test
_SNN_XOR_NET = {"max_rate_hz": 300.0, "duration_ms": 100.0, "output_rate_hz": 100.0,
                "output_baseline_hz": 50.0, "bias_init": 1.0, "init_gain": 2.0}
_SNN_DIGITS_NET = {"max_rate_hz": 200.0, "duration_ms": 100.0, "bias_init": 1.0,
                   "init_gain": 1.0}
_SNN_MG_NET = {"bias_init": 0.9, "init_gain": 10.0, "rec_gain": 1.0, "trace_tau_ms": 200.0}

SNN_TASK_DEFAULTS: dict[str, dict[str, Any]] = {
    "xor": {"hidden": [16], "steps": 400, "eval_every": 20, "checkpoint_every": 100,
            "task_params": {"repeats": 4}, "net_params": _SNN_XOR_NET},
    "digits": {"hidden": [32], "steps": 1500, "batch_size": 64, "eval_every": 250,
               "checkpoint_every": 250, "net_params": _SNN_DIGITS_NET},
    "mackey-glass": {"hidden": [64], "steps": 1000, "batch_size": 8, "eval_every": 100,
                     "checkpoint_every": 250, "net_params": _SNN_MG_NET},
}

SNN_PRESETS: dict[tuple[str, str], dict[str, Any]] = {
    ("weight-perturbation", "xor"): {"rule_params": {"sigma": 0.3, "eta": 0.2,
                                                     "antithetic": True}},
    ("node-perturbation", "xor"): {"rule_params": {"sigma": 0.3, "eta": 0.1}},
    ("dopamine", "xor"): {"steps": 600, "rule_params": {"sigma": 0.3, "eta0": 0.3,
                                                        "beta": 0.05, "cap": False}},
    ("synaptic-q", "xor"): {"steps": 1500, "rule_params": {"alpha_s": 0.05, "policy": "golden"}},
    # eta 0.01 (benchmarks/snn_digits.py) peaks near 0.85-0.87 but ends noisier; 0.005 for
    # 2000 steps ends at 0.884 (seed 0, `synrl train`)
    ("node-perturbation", "digits"): {"steps": 2000, "rule_params": {"sigma": 0.3, "eta": 0.005,
                                                                     "optimizer": "adam"}},
    ("node-perturbation", "mackey-glass"): {"rule_params": {"sigma": 0.02, "eta": 0.005,
                                                            "optimizer": "adam"}},
}


def preset(rule: str, task: str, net: str | None = None) -> dict[str, Any]:
    """Merged task defaults and (rule, task) preset for ``net`` (copies, safe to modify).

    ``net=None`` means the task's default network; ``"snn"`` takes the spiking layers.
    """
    import copy

    if net == "snn":
        out = {"net": "snn", **copy.deepcopy(SNN_TASK_DEFAULTS.get(task, {}))}
        presets = SNN_PRESETS
    else:
        out = copy.deepcopy(TASK_DEFAULTS.get(task, {}))
        presets = PRESETS
    for key, value in copy.deepcopy(presets.get((rule, task), {})).items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = {**out[key], **value}
        else:
            out[key] = value
    return out
