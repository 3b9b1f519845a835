"""`synrl sweep`: spec checks, seeded expansion, and restartable sweeps on Dask.

The Dask tests share one LocalCluster of two worker processes and one
uninterrupted reference sweep (3 learning rates x 2 seeds of weight perturbation
on XOR). Every interrupted sweep (a worker SIGKILLed mid-trial; the whole
``synrl sweep`` process group SIGKILLed and the command run again) and the sweep
sent through ``--scheduler`` to a ``dask scheduler`` / ``dask worker`` pair of
processes must end with the reference's table and bit-identical final weights.
"""

from __future__ import annotations

import contextlib
import csv
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import tomllib
from pathlib import Path

import numpy as np
import pytest

from spiking_synrl.cli import main
from spiking_synrl.errors import ConfigError, DependencyNotInstalled
from spiking_synrl.run import load_weights
from spiking_synrl.sweep import expand_trials, load_sweep, parse_sweep, run_sweep

#: a stuck cluster fails its test with a stack dump instead of stalling the suite
pytestmark = pytest.mark.timeout(300)

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "sweep_xor.toml"

#: long enough (about 1 s a trial) that a worker can be killed between checkpoints
SWEEP_TOML = """\
seeds = [0, 1]
metric = "val_loss"

[base]
task = "xor"
rule = "weight-perturbation"
steps = 3000
checkpoint_every = 250
eval_every = 1000
log_every = 100

[grid]
rule_params.eta = [0.03, 0.1, 0.3]
"""


def _spec(out: Path, toml: str = SWEEP_TOML) -> Path:
    path = out.parent / f"{out.name}.toml"
    path.write_text(f'out = "{out}"\n' + toml)
    return path


def _outcome(out: Path) -> tuple[list[dict[str, str]], dict[str, dict[str, np.ndarray]]]:
    """trials.csv without wall times, and every trial's final weights."""
    with open(out / "trials.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    for row in rows:
        del row["wall_time_s"]
    weights = {r["trial"]: load_weights(out / "trials" / r["trial"] / "final.npz") for r in rows}
    return rows, weights


def _assert_same(out: Path, reference: Path) -> None:
    rows, weights = _outcome(out)
    ref_rows, ref_weights = _outcome(reference)
    assert rows == ref_rows
    assert len(rows) == 6 and all(r["status"] == "finished" for r in rows)
    for name, ws in ref_weights.items():
        for key, w in ws.items():
            np.testing.assert_array_equal(weights[name][key], w, err_msg=f"{name} {key}")


def _running_trial_with_checkpoint(trials_dir: Path) -> str | None:
    for run_dir in trials_dir.glob("*"):
        if list(run_dir.glob("checkpoints/ckpt-*.npz")) and not (run_dir / "result.json").exists():
            return run_dir.name
    return None


# -- the spec -------------------------------------------------------------------------
BASE = {"task": "xor", "rule": "weight-perturbation", "steps": 10}


@pytest.mark.parametrize(
    "spec, message",
    [
        ({"grid": {"steps": [1, 2]}, "seed": 1}, "Unknown sweep key 'seed'"),
        ({"base": BASE}, "exactly one of a [grid] table"),
        ({"grid": {"steps": [1]}, "random": {"n_trials": 2}}, "Got both"),
        ({"base": {**BASE, "seed": 3}, "grid": {"steps": [1]}}, "must not set 'seed'"),
        ({"grid": {"seed": [0, 1]}}, "must not vary 'seed'"),
        ({"grid": {"stpes": [1, 2]}}, "Did you mean: 'steps'"),
        ({"grid": {"steps": {"x": [1]}}}, "only task_params, net_params"),
        ({"grid": {"rule_params": {"eta": []}}}, "'grid.rule_params.eta' parameter"),
        ({"grid": {"rule_params": {"eta": [0.1, 0.1]}}}, "each value once"),
        ({"grid": {"rule_params": {"eta": 0.1}}}, "non-empty list of values. Got 0.1"),
        ({"random": {"rule_params": {"eta": [0.1, 0.2]}}}, "needs 'n_trials = N'"),
        ({"random": {"n_trials": 2, "rule_params": {"eta": {"dist": "logunif"}}}},
         "Did you mean: 'loguniform'"),
        ({"random": {"n_trials": 2, "rule_params": {"eta": {"dist": "loguniform", "low": 0,
                                                            "high": 1}}}},
         "'random.rule_params.eta.low' parameter of the sweep file must be a float in (0, inf)"),
        ({"random": {"n_trials": 2, "steps": {"dist": "int", "low": 5}}}, "needs 'high'"),
        ({"random": {"n_trials": 2, "steps": {"dist": "int", "low": 5, "high": 9, "step": 2}}},
         "Got the key 'step'"),
        ({"grid": {"steps": [1]}, "seeds": [0], "n_seeds": 2}, "not both"),
        ({"grid": {"steps": [1]}, "seeds": [0, 0]}, "lists a seed twice"),
        ({"grid": {"steps": [1]}, "mode": "maximum"}, "'mode' parameter"),
    ],
)
def test_spec_errors_name_the_key(spec, message):
    with pytest.raises(ConfigError) as err:
        parse_sweep({"out": "sweeps/x", **spec})
    assert message in str(err.value)


def test_bad_trial_configuration_fails_before_anything_runs(tmp_path):
    spec = parse_sweep({"out": str(tmp_path), "base": BASE,
                        "grid": {"rule_params": {"eta": [0.1, -1.0]}}})
    with pytest.raises(ConfigError, match=r"trial with rule_params.eta = -1.0: The 'eta'"):
        expand_trials(spec)
    assert not list(tmp_path.iterdir())


def test_grid_expansion_order_and_stable_names(tmp_path):
    data = {"out": str(tmp_path), "base": BASE, "n_seeds": 2,
            "grid": {"hidden": [[4], [8, 8]], "rule_params": {"eta": [0.1, 0.2]}}}
    trials = expand_trials(parse_sweep(data))
    assert [(t.params["hidden"], t.params["rule_params.eta"], t.seed) for t in trials] == [
        ([4], 0.1, 0), ([4], 0.1, 1), ([4], 0.2, 0), ([4], 0.2, 1),
        ([8, 8], 0.1, 0), ([8, 8], 0.1, 1), ([8, 8], 0.2, 0), ([8, 8], 0.2, 1),
    ]
    assert trials[5].config["hidden"] == [8, 8] and trials[5].config["rule_params"]["eta"] == 0.1
    assert trials[5].config["seed"] == 1 and trials[5].config["rule_params"]["sigma"] == 1e-3
    assert trials[5].name.startswith("hidden=8,8_eta=0.1_seed=1-")
    assert [t.name for t in expand_trials(parse_sweep(data))] == [t.name for t in trials]
    longer = {**data, "base": {**BASE, "steps": 11}}  # another configuration, other directories
    assert not {t.name for t in expand_trials(parse_sweep(longer))} & {t.name for t in trials}


def test_random_search_is_seeded_and_inside_its_ranges(tmp_path):
    data = {"out": str(tmp_path), "base": BASE, "random": {
        "n_trials": 12, "seed": 3,
        "rule_params": {"eta": {"dist": "loguniform", "low": 1e-3, "high": 0.3},
                        "sigma": {"dist": "uniform", "low": 1e-4, "high": 1e-2}},
        "steps": {"dist": "int", "low": 5, "high": 7},
        "net_params": {"activation": ["tanh", "sigmoid"]}}}
    trials = expand_trials(parse_sweep(data))
    assert len(trials) == 12
    assert [t.params for t in expand_trials(parse_sweep(data))] == [t.params for t in trials]
    etas = [t.params["rule_params.eta"] for t in trials]
    assert all(1e-3 <= e <= 0.3 for e in etas) and min(etas) < 0.01 < max(etas)
    assert {t.params["steps"] for t in trials} == {5, 6, 7}
    assert {t.params["net_params.activation"] for t in trials} == {"tanh", "sigmoid"}
    other = parse_sweep({**data, "random": {**data["random"], "seed": 4}})
    assert [t.params for t in expand_trials(other)] != [t.params for t in trials]


def test_readme_section_ships_the_example_spec():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Sweeps", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```toml\n(.*?)```", section, re.S)
    assert block is not None, "README 'Sweeps' section has no toml block"
    assert block.group(1) == EXAMPLE.read_text()
    spec = load_sweep(EXAMPLE)
    assert spec.out == Path("sweeps/xor-wp-eta") and spec.seeds == (0, 1)
    assert len(expand_trials(spec)) == 6
    # the README's random-search table, in place of the example's grid
    random_block = re.findall(r"```toml\n(.*?)```", section, re.S)[1]
    data = {k: v for k, v in tomllib.loads(EXAMPLE.read_text()).items() if k != "grid"}
    trials = expand_trials(parse_sweep({**data, **tomllib.loads(random_block)}))
    assert len(trials) == 32 and len({t.point for t in trials}) == 16


def test_without_dask_the_error_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # makes `import distributed` fail
    spec = parse_sweep({"out": str(tmp_path), "base": BASE, "grid": {"steps": [1]}})
    with pytest.raises(DependencyNotInstalled, match=r'pip install "spiking_synrl\[dask\]"'):
        run_sweep(spec, progress=False)


# -- sweeps on Dask -----------------------------------------------------------------
@pytest.fixture(scope="module")
def cluster():
    distributed = pytest.importorskip("distributed", reason="needs spiking_synrl[dask]")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    ) as local:
        yield local


@pytest.fixture(scope="module")
def reference(cluster, tmp_path_factory) -> Path:
    """An uninterrupted sweep on the 2-worker LocalCluster."""
    out = tmp_path_factory.mktemp("reference") / "sweep"
    result = run_sweep(load_sweep(_spec(out)), scheduler=cluster.scheduler_address,
                       progress=False)
    assert set(result.status.values()) == {"ran"} and not result.errors
    assert {p.name for p in result.files} == {"trials.csv", "summary.csv", "sweep.png"}
    return out


def test_killed_worker_mid_sweep_gives_identical_results(cluster, reference, tmp_path):
    from distributed import Client

    out = tmp_path / "sweep"
    killed: list[str] = []
    stop = threading.Event()

    def kill_a_worker_mid_trial() -> None:
        with Client(cluster.scheduler_address) as client:
            while not stop.is_set():
                running = _running_trial_with_checkpoint(out / "trials")
                for worker, keys in client.processing().items():
                    if running and any(running in key for key in keys):
                        pid = client.run(os.getpid, workers=[worker])[worker]
                        os.kill(pid, signal.SIGKILL)
                        killed.append(running)
                        return
                time.sleep(0.01)

    killer = threading.Thread(target=kill_a_worker_mid_trial, daemon=True)
    killer.start()
    try:
        result = run_sweep(load_sweep(_spec(out)), scheduler=cluster.scheduler_address,
                           progress=False)
    finally:
        stop.set()
        killer.join(30)
    assert killed, "no worker was killed"
    assert not result.errors
    assert result.status[killed[0]] == "resumed"  # Dask re-ran it, from its checkpoint
    _assert_same(out, reference)
    again = run_sweep(load_sweep(_spec(out)), scheduler=cluster.scheduler_address,
                      progress=False)
    assert set(again.status.values()) == {"done"}
    _assert_same(out, reference)


def test_killed_sweep_resumes_when_run_again(cluster, reference, tmp_path, capsys):
    out = tmp_path / "sweep"
    spec_file = _spec(out)
    proc = subprocess.Popen(
        [sys.executable, "-m", "spiking_synrl.cli", "sweep", str(spec_file), "--workers", "2"],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            finished = list(out.glob("trials/*/result.json"))
            if finished and _running_trial_with_checkpoint(out / "trials"):
                break
            time.sleep(0.01)
        with contextlib.suppress(ProcessLookupError):  # the client, cluster and workers
            os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(30)
    assert 0 < len(list(out.glob("trials/*/result.json"))) < 6, "not stopped mid-sweep"
    code = main(["sweep", str(spec_file), "--scheduler", cluster.scheduler_address])
    printed = capsys.readouterr().out
    assert code == 0
    assert "finished before" in printed and "resumed from step" in printed
    _assert_same(out, reference)


@pytest.fixture
def dask_cli_cluster(tmp_path):
    """`dask scheduler` and two `dask worker` processes on 127.0.0.1."""
    pytest.importorskip("distributed", reason="needs spiking_synrl[dask]")
    from distributed import Client

    dask = [sys.executable, "-m", "dask"]
    info = tmp_path / "scheduler.json"
    procs = [subprocess.Popen(
        [*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
         "--scheduler-file", str(info)],
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )]
    try:
        deadline = time.monotonic() + 60
        while not info.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            procs.append(subprocess.Popen(
                [*dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1",
                 "--no-dashboard"],
                start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            ))
        with Client(address) as client:
            client.wait_for_workers(2, timeout=60)
        yield address
    finally:
        for proc in reversed(procs):
            os.killpg(proc.pid, signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def test_cli_sweep_through_a_dask_scheduler_address(dask_cli_cluster, reference, tmp_path,
                                                    capsys):
    out = tmp_path / "sweep"
    assert main(["sweep", str(_spec(out)), "--scheduler", dask_cli_cluster]) == 0
    printed = capsys.readouterr().out
    assert f"dask scheduler {dask_cli_cluster}: 2 workers" in printed
    assert re.search(r"^0\.1\s+2\s+\S+ ± ", printed, re.M)  # best learning rate first
    _assert_same(out, reference)


def test_failed_trial_is_reported_and_the_rest_still_run(cluster, tmp_path, capsys):
    toml = ('[base]\ntask = "xor"\nrule = "backprop"\nsteps = 20\n\n'
            '[grid]\nnet_params.activation = ["tanh", "swish"]\n')
    out = tmp_path / "sweep"
    code = main(["sweep", str(_spec(out, toml)), "--scheduler", cluster.scheduler_address,
                 "--retries", "0", "--no-progress"])
    assert code == 2
    assert "1 of 2 trials failed" in capsys.readouterr().err
    with open(out / "trials.csv", newline="") as fh:
        status = {r["net_params.activation"]: r["status"] for r in csv.DictReader(fh)}
    assert status == {"tanh": "finished", "swish": "failed"}


def test_eval_workers_on_daemonic_workers_says_how_to_start_them(cluster, tmp_path):
    toml = ('[base]\ntask = "xor"\nrule = "backprop"\nsteps = 5\neval_workers = 2\n\n'
            '[grid]\nrule_params.lr = [0.1]\n')
    result = run_sweep(load_sweep(_spec(tmp_path / "sweep", toml)),
                       scheduler=cluster.scheduler_address, retries=0, progress=False,
                       plot=False)
    (message,) = result.errors.values()
    assert "DASK_DISTRIBUTED__WORKER__DAEMON=False" in message


def test_bad_scheduler_address_is_one_line(tmp_path, capsys):
    pytest.importorskip("distributed", reason="needs spiking_synrl[dask]")
    assert main(["sweep", str(_spec(tmp_path / "sweep")), "--scheduler", "nowhere"]) == 2
    assert "The '--scheduler' address 'nowhere' must be a running Dask scheduler" in (
        capsys.readouterr().err)


@pytest.mark.brian
def test_spiking_trials_run_in_dask_worker_threads(cluster, tmp_path):
    # Dask runs tasks in threads, where a plain first `import brian2` fails (it sets a
    # SIGINT handler); the substrate's import leaves the handler out off the main thread.
    toml = ('[base]\ntask = "xor"\nnet = "snn"\nhidden = [4]\nrule = "node-perturbation"\n'
            'steps = 3\neval_every = 3\n[base.rule_params]\nsigma = 0.3\n'
            '[base.net_params]\ndevice = "runtime"\ncodegen_target = "numpy"\n\n'
            '[grid]\nrule_params.eta = [0.1]\n')
    result = run_sweep(load_sweep(_spec(tmp_path / "sweep", toml)),
                       scheduler=cluster.scheduler_address, progress=False, plot=False)
    assert not result.errors and set(result.status.values()) == {"ran"}
    assert all(np.isfinite(r["metrics"]["val_loss"]) for r in result.results.values())
