"""`synrl plot` writes figures from the run directories `synrl train` writes."""

from __future__ import annotations

import pytest

from spiking_synrl.cli import main
from spiking_synrl.errors import ConfigError
from spiking_synrl.plot import plot_runs


def test_plot_runs_over_seeds(tmp_path, capsys):
    runs = []
    for seed in (0, 1):
        out = tmp_path / f"lf{seed}"
        assert main(["train", "--task", "xor", "--rule", "learned-feedback", "--steps", "60",
                     "--seed", str(seed), "--checkpoint-every", "20", "--out", str(out),
                     "--no-progress"]) == 0
        runs.append(str(out))
    capsys.readouterr()  # drop the training output
    assert main(["plot", *runs, "--out", str(tmp_path / "figs")]) == 0
    written = capsys.readouterr().out.split()
    names = {p.rsplit("/", 1)[-1] for p in written}
    assert {"learning_curves.png", "learning_curves_by_evals.png", "feedback_angle.png",
            "weights.png"} <= names
    for path in written:
        with open(path, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"


def test_plot_refuses_a_non_run_directory(tmp_path):
    with pytest.raises(ConfigError, match="metrics.jsonl"):
        plot_runs([tmp_path])
