"""Trained spiking networks as standalone C++ programs (``synrl export RUN_DIR --out DIR``).

The export of a feed-forward spiking network
(:class:`~spiking_synrl.substrates.brian.BrianFeedForward`) is a directory that runs
without Python::

    DIR/README.txt      how to run it: input and output formats, seeds, provenance
    DIR/run.sh          POSIX shell wrapper: run.sh INPUTS OUTPUT [SEED | SEED1,SEED2,...]
    DIR/manifest.json   the same facts for programs (sizes, files, scales, seeds)
    DIR/project/        the Brian2 C++ standalone project; project/main is the compiled program
    DIR/weights/        the learned weights as Brian run arguments (raw float64)
    DIR/examples/       the task's held-out inputs as rates, and their targets

``INPUTS`` holds input rates in Hz (float64, ``n_inputs`` per sample; raw or
``.npy``), ``OUTPUT`` receives one line of output-layer spike counts per sample.
The program simulates ``batch_size`` samples per run (the substrate's capacity,
so its input spike trains are those of the toolkit's evaluation); run ``k`` uses
seed ``SEED + k`` or the ``k``-th entry of a list. With the seeds that
:meth:`~spiking_synrl.substrates.brian.BrianSubstrate.run_seeds` returns, the
binary reproduces the toolkit's evaluation of the same weights spike for spike
(``tests/test_export.py``).

This module does not import brian2: the Brian-specific part (building the
program, copying the project, writing the weights in Brian's format) is
:meth:`BrianFeedForward.export_program`.
"""

from __future__ import annotations

import datetime
import json
import math
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from spiking_synrl.errors import ConfigError, SynRLError
from spiking_synrl.validation import check_array, check_int

__all__ = ["ExportError", "ExportedNetwork", "export_network", "export_run"]

#: bump when the layout of an export directory changes
FORMAT = 1


class ExportError(SynRLError, RuntimeError):
    """An exported program failed while running."""


# -- run directories -----------------------------------------------------------------
def _check_out(out: str | os.PathLike[str], owner: str) -> Path:
    path = Path(out)
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        what = "is not a directory" if not path.is_dir() else "exists and is not empty"
        raise ConfigError(
            f"The 'out' directory {str(path)!r} {what}; {owner} needs a new or empty "
            "directory. Choose another one."
        )
    return path


def _check_exportable(substrate: Any, owner: str) -> None:
    from spiking_synrl.substrates.brian import BrianFeedForward, BrianRecurrent

    if isinstance(substrate, BrianRecurrent):
        raise ConfigError(
            f"{owner} exports feed-forward spiking networks only. This run's network is "
            "the recurrent one (a sequence task), whose readout is computed in numpy from "
            "filtered spikes rather than by output neurons."
        )
    if not isinstance(substrate, BrianFeedForward):
        raise ConfigError(
            f"{owner} exports spiking networks (--net snn) as Brian2 standalone programs. "
            f"Got a {type(substrate).__name__} network, which is plain numpy."
        )


# -- export ----------------------------------------------------------------------------
def export_network(
    substrate: Any,
    weights: Mapping[str, np.ndarray],
    out: str | os.PathLike[str],
    *,
    task: Any = None,
    source: str | None = None,
) -> ExportedNetwork:
    """Export a feed-forward spiking network with ``weights`` to the directory ``out``.

    The directory appears complete or not at all: it is written under a
    temporary name next to ``out`` and renamed at the end.

    Args:
        substrate: a :class:`~spiking_synrl.substrates.brian.BrianFeedForward`
            (any device; the program is compiled for ``cpp_standalone``).
        weights: one weight set of ``substrate``.
        out: a new or empty directory.
        task: if given, its evaluation split goes to ``examples/`` and its name and
            loss to the manifest.
        source: where the weights come from (for the README).

    Raises:
        ConfigError: ``out`` is not new or empty, or the network cannot be exported.
        BuildError: code generation or compilation failed (with the compiler's message).
    """
    owner = "export_network"
    _check_exportable(substrate, owner)
    path = _check_out(out, "the export")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.parent / f".{path.name}.export-{uuid.uuid4().hex[:8]}"
    tmp.mkdir()
    try:
        program = substrate.export_program(weights, tmp)
        manifest: dict[str, Any] = {
            "format": FORMAT,
            "created": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "spiking_synrl": _version(),
            "source": source,
            "task": None if task is None else {"name": task.name, "loss": task.loss_name},
            "program": program,
            "examples": _write_examples(tmp, task, program) if task is not None else None,
        }
        from spiking_synrl.training.checkpoint import atomic_write_text

        atomic_write_text(tmp / "manifest.json", json.dumps(manifest, indent=1))
        atomic_write_text(tmp / "run.sh", _run_script(manifest))
        (tmp / "run.sh").chmod(0o755)
        atomic_write_text(tmp / "README.txt", _readme(manifest))
        os.replace(tmp, path)  # replaces an empty directory too
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return ExportedNetwork(path, manifest)


def export_run(run_dir: str | os.PathLike[str], out: str | os.PathLike[str]) -> ExportedNetwork:
    """Export the spiking network of a run directory with its final weights.

    Raises:
        ConfigError: ``out`` is not new or empty; the run directory has no
            ``config.json``; the run's network is not a feed-forward spiking one.
        CheckpointError: the run has no final weights and no checkpoint.
        BuildError: compilation failed (with the compiler's message).
    """
    from spiking_synrl.run import build_run, load_run_weights, read_config

    _check_out(out, "synrl export")
    run = build_run(read_config(run_dir))
    _check_exportable(run.substrate, "export_run")
    weights = run.substrate.weight_spec.validate(load_run_weights(run_dir), "saved weights")
    source = f"run directory {Path(run_dir).resolve()}"
    return export_network(run.substrate, weights, out, task=run.task, source=source)


def _version() -> str:
    from spiking_synrl import __version__

    return __version__


def _write_examples(directory: Path, task: Any, program: Mapping[str, Any]) -> dict[str, Any]:
    """The task's evaluation split as input rates, and its targets, in ``examples/``."""
    from spiking_synrl.training.checkpoint import atomic_write_bytes, atomic_write_text

    split = task.eval_split
    batch = task.split(split)
    rates = np.clip(np.asarray(batch.inputs, dtype=float), 0.0, None) * program["max_rate_hz"]
    rates_file = f"examples/{split}_rates.f64"
    atomic_write_bytes(directory / rates_file, np.ascontiguousarray(rates, dtype="<f8").tobytes())
    targets = np.asarray(batch.targets)
    fmt = "%d" if np.issubdtype(targets.dtype, np.integer) else "%.9g"
    lines = [" ".join(fmt % v for v in np.atleast_1d(row)) for row in targets]
    targets_file = f"examples/{split}_targets.txt"
    atomic_write_text(directory / targets_file, "\n".join(lines) + "\n")
    return {"split": split, "n": len(rates), "rates": rates_file, "targets": targets_file}


# -- running an export -------------------------------------------------------------------
@dataclass(frozen=True)
class ExportedNetwork:
    """An export directory, run from Python through its ``run.sh`` (for checks and
    notebooks; the directory itself needs no Python)::

        exported = ExportedNetwork.load("exports/digits")
        counts = exported.run(exported.input_rates(x_val), seeds=net.run_seeds(len(x_val)))
    """

    directory: Path
    manifest: dict[str, Any]

    @classmethod
    def load(cls, directory: str | os.PathLike[str]) -> ExportedNetwork:
        """Open an export directory written by :func:`export_network`."""
        path = Path(directory)
        try:
            manifest = json.loads((path / "manifest.json").read_text())
        except (OSError, ValueError) as err:
            raise ConfigError(
                f"The 'directory' parameter of ExportedNetwork.load must be a directory "
                f"written by `synrl export`. {str(path)!r} has no readable manifest.json "
                f"({err})."
            ) from None
        if manifest.get("format") != FORMAT:
            raise ConfigError(
                f"{str(path)!r} is an export of format {manifest.get('format')!r}; this "
                f"version reads format {FORMAT}. Export the run again."
            )
        return cls(path, manifest)

    @property
    def layers(self) -> dict[str, int]:
        """Neurons per layer, e.g. ``{"in": 64, "hid": 32, "out": 10}``."""
        return dict(self.manifest["program"]["layers"])

    @property
    def n_inputs(self) -> int:
        """Input neurons (rates per sample)."""
        return int(self.layers["in"])

    @property
    def n_outputs(self) -> int:
        """Output neurons (counts per sample)."""
        return int(self.layers["out"])

    @property
    def slots(self) -> int:
        """Samples simulated per run of the program."""
        return int(self.manifest["program"]["slots"])

    def input_rates(self, features: np.ndarray) -> np.ndarray:
        """The Poisson rates (Hz) the toolkit feeds for ``features``: ``max(x, 0) *
        max_rate_hz``."""
        x = check_array(features, "features", "ExportedNetwork.input_rates", (None, self.n_inputs))
        return np.clip(x, 0.0, None) * float(self.manifest["program"]["max_rate_hz"])

    def outputs(self, counts: np.ndarray) -> np.ndarray:
        """Spike counts as the toolkit's outputs: ``counts * readout_scale - readout_offset``."""
        prog = self.manifest["program"]
        return np.asarray(counts) * float(prog["readout_scale"]) - float(prog["readout_offset"])

    def run(
        self,
        rates: np.ndarray,
        seeds: int | Sequence[int] = 0,
        *,
        timeout_s: float | None = None,
    ) -> np.ndarray:
        """Output spike counts ``(n, n_outputs)`` of the compiled program, via ``run.sh``.

        Args:
            rates: ``(n, n_inputs)`` input rates in Hz (see :meth:`input_rates`).
            seeds: the seed of the first run (run ``k`` uses ``seeds + k``), or one
                seed per run of :attr:`slots` samples.
            timeout_s: give up after this many seconds.

        Raises:
            ExportError: the program failed (its message is included).
        """
        owner = "ExportedNetwork.run"
        r = check_array(rates, "rates", owner, shape=(None, self.n_inputs))
        if np.any(r < 0):
            raise ConfigError(
                f"The 'rates' parameter of {owner} must be firing rates >= 0 (Hz). Got "
                f"{int(np.sum(r < 0))} negative values; see input_rates()."
            )
        n_runs = max(1, math.ceil(len(r) / self.slots))
        if isinstance(seeds, (int, np.integer)):
            seed_arg = str(check_int(seeds, "seeds", owner, low=0))
        else:
            seed_list = [check_int(s, "seeds", owner, low=0) for s in seeds]
            if len(seed_list) != n_runs:
                raise ConfigError(
                    f"The 'seeds' parameter of {owner} must be one seed or one per run of "
                    f"{self.slots} samples ({n_runs} for {len(r)} samples). Got "
                    f"{len(seed_list)} seeds instead."
                )
            seed_arg = ",".join(map(str, seed_list))
        with tempfile.TemporaryDirectory(prefix="synrl-export-") as tmp:
            inputs, output = Path(tmp) / "rates.f64", Path(tmp) / "counts.txt"
            inputs.write_bytes(np.ascontiguousarray(r, dtype="<f8").tobytes())
            script = self.directory / "run.sh"
            try:
                proc = subprocess.run(
                    ["sh", str(script), str(inputs), str(output), seed_arg],
                    capture_output=True,
                    text=True,
                    timeout=timeout_s,
                    check=False,
                )
            except subprocess.TimeoutExpired as err:
                raise ExportError(f"{script} did not finish within {timeout_s} s.") from err
            if proc.returncode != 0:
                raise ExportError(
                    f"{script} failed (exit code {proc.returncode}):\n"
                    f"{(proc.stdout + proc.stderr).strip()[-3000:]}"
                )
            text = output.read_text()
        counts = np.array(text.split(), dtype=np.int64)
        return counts.reshape(len(r), self.n_outputs)

    def predict(self, features: np.ndarray, seeds: int | Sequence[int] = 0) -> np.ndarray:
        """Predicted classes: the output neuron with the most spikes (first on ties)."""
        return self.run(self.input_rates(features), seeds).argmax(axis=1)


# -- the files of an export --------------------------------------------------------------
_RUN_SH = r"""#!/bin/sh
# Run the exported spiking network on a file of input rates (see README.txt).
# usage: run.sh INPUTS OUTPUT [SEED | SEED1,SEED2,...]
# Needs a POSIX shell, od, head, tail, wc, cut, mktemp and awk; no Python.
set -eu

N_IN=@N_IN@
N_OUT=@N_OUT@
SLOTS=@SLOTS@
COUNTS_FILE=@COUNTS_FILE@
WEIGHT_ARGS='@WEIGHT_ARGS@'

fail() { echo "run.sh: $*" >&2; exit 1; }
if [ $# -lt 2 ] || [ $# -gt 3 ]; then
    echo "usage: $0 INPUTS OUTPUT [SEED | SEED1,SEED2,...]" >&2
    exit 2
fi
inputs=$1
output=$2
seeds=${3:-0}
here=$(CDPATH= cd -- "$(dirname -- "$0")" && pwd)
[ -f "$inputs" ] || fail "no input file '$inputs'"
case $seeds in
    '' | *[!0-9,]* | ,* | *, | *,,*)
        fail "SEED must be an integer >= 0 or a comma-separated list of them; got '$seeds'" ;;
esac

size=$(wc -c < "$inputs" | tr -d ' ')
offset=0
# a .npy file: skip its header, after checking that it holds little-endian float64 in C order
if [ "$(head -c 6 "$inputs" | tail -c 5)" = NUMPY ]; then
    set -- $(od -An -tu1 -j6 -N6 "$inputs")
    if [ "$1" = 1 ]; then
        offset=$((10 + $3 + 256 * $4))
    else
        offset=$((12 + $3 + 256 * $4 + 65536 * $5 + 16777216 * $6))
    fi
    header=$(head -c "$offset" "$inputs" | tail -c +11)
    case $header in
        *"'descr': '<f8'"*) ;;
        *) fail "'$inputs' must hold float64 ('<f8') values" ;;
    esac
    case $header in
        *"'fortran_order': False"*) ;;
        *) fail "'$inputs' must be in C order" ;;
    esac
fi
row=$((8 * N_IN))
data=$((size - offset))
[ $((data % row)) -eq 0 ] ||
    fail "'$inputs' must hold $N_IN float64 rates per sample; $data bytes is not a multiple"
n=$((data / row))

tmp=$(mktemp -d "${TMPDIR:-/tmp}/synrl-run.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM
: > "$tmp/counts"
run=0
start=0
while [ "$start" -lt "$n" ]; do
    nb=$((n - start))
    if [ "$nb" -gt "$SLOTS" ]; then nb=$SLOTS; fi
    case $seeds in
        *,*)
            seed=$(echo "$seeds" | cut -d, -f$((run + 1)) -s)
            [ -n "$seed" ] || fail "SEED lists too few seeds: one per run of $SLOTS samples needed"
            ;;
        *) seed=$((seeds + run)) ;;
    esac
    tail -c +$((offset + start * row + 1)) "$inputs" | head -c $((nb * row)) > "$tmp/rates.dat"
    if [ "$nb" -lt "$SLOTS" ]; then  # unused slots: silent inputs
        head -c $(((SLOTS - nb) * row)) /dev/zero >> "$tmp/rates.dat"
    fi
    mkdir "$tmp/results"
    # shellcheck disable=SC2086  # WEIGHT_ARGS is a list of name=file words
    if ! (cd "$here/project" && SPIKING_SYNRL_SEED=$seed exec ./main --results_dir "$tmp/results/" \
            "pop_in.rates=$tmp/rates.dat" $WEIGHT_ARGS) > "$tmp/log" 2>&1 \
        || grep -q -e "Error reading" -e "Could not read" -e "does not match" "$tmp/log"; then
        cat "$tmp/log" >&2
        fail "the compiled network failed on samples $start to $((start + nb - 1))"
    fi
    head -c $((4 * nb * N_OUT)) "$tmp/results/$COUNTS_FILE" >> "$tmp/counts"
    rm -rf "$tmp/results"
    start=$((start + nb))
    run=$((run + 1))
done
# int32 counts, N_OUT per sample -> one text line per sample
od -An -v -td4 "$tmp/counts" |
    awk -v n="$N_OUT" '{ for (i = 1; i <= NF; i++) printf "%s%s", $i, (++k % n ? " " : "\n") }' \
    > "$output"
"""


def _run_script(manifest: Mapping[str, Any]) -> str:
    prog = manifest["program"]
    words = [f"{name}={value}" for name, value in prog["run_args"].items()]
    subs = {
        "@N_IN@": str(prog["layers"]["in"]),
        "@N_OUT@": str(prog["layers"]["out"]),
        "@SLOTS@": str(prog["slots"]),
        "@COUNTS_FILE@": prog["results"]["count:out"]["file"],
        "@WEIGHT_ARGS@": " ".join(words),
    }
    text = _RUN_SH
    for key, value in subs.items():
        text = text.replace(key, value)
    return text


def _readme(manifest: Mapping[str, Any]) -> str:
    prog = manifest["program"]
    layers = prog["layers"]
    n_in, n_out, slots = layers["in"], layers["out"], prog["slots"]
    shape = "-".join(str(n) for n in layers.values())
    task = manifest["task"] or {}
    examples = manifest["examples"]
    if task.get("loss") == "ce":
        decision = (
            "The predicted class is the output neuron with the most spikes (the first\n"
            "        one on ties); the toolkit's logits are counts * "
            f"{prog['readout_scale']:.6g}."
        )
    else:
        decision = (
            f"The network's output is counts * {prog['readout_scale']:.6g} - "
            f"{prog['readout_offset']:.6g}."
        )
    example = examples["rates"] if examples else "RATES.f64"
    args = " \\\n        ".join(f"{k}={v}" for k, v in prog["run_args"].items())
    result_lines = [
        f"    {spec['file']}  {key} ({spec['dtype']})" for key, spec in prog["results"].items()
    ]
    example_lines = (
        [
            f"    examples/       the task's {examples['split']} split "
            f"({examples['n']} samples) as input",
            f"                    rates ({examples['rates']}) and targets",
            f"                    ({examples['targets']}, one line per sample)",
        ]
        if examples
        else []
    )
    lines = [
        f"Spiking network {shape} ({task.get('name', 'no task recorded')}), "
        "exported by spiking_synrl",
        "=" * 72,
        "",
        f"Exported on {manifest['created']} by spiking_synrl {manifest['spiking_synrl']}"
        + (f" from {manifest['source']}." if manifest["source"] else "."),
        f"A feed-forward network of leaky integrate-and-fire neurons (Brian2 {prog['brian2']}),",
        f"layers {shape} (Poisson inputs, LIF hidden and output neurons), with its",
        "learned weights, as a compiled C++ program. Running it needs no Python: a",
        "POSIX shell, od, head, tail, wc, cut, mktemp and awk, and the C++ runtime.",
        "",
        "Run",
        "---",
        "    ./run.sh INPUTS OUTPUT [SEED | SEED1,SEED2,...]",
        "for example",
        f"    ./run.sh {example} counts.txt",
        "",
        f"INPUTS  firing rates in Hz of the {n_in} input neurons, one row per sample,",
        "        as little-endian float64 in row order: a raw binary file (numpy:",
        "        rates.astype('<f8').tofile(path); C: fwrite of double[n][N]) or a .npy",
        f"        file of shape (n, {n_in}). The toolkit feeds a feature value x as the",
        f"        rate max(x, 0) * {prog['max_rate_hz']:.6g} Hz.",
        f"OUTPUT  a text file with one line per sample: the spike counts of the {n_out}",
        f"        output neurons over {prog['duration_ms']:.6g} ms of simulated time.",
        f"        {decision}",
        "SEED    seed of the Poisson input spike trains (default 0). The program",
        f"        simulates {slots} samples per run; run k (samples {slots}k to "
        f"{slots}k+{slots - 1})",
        "        uses SEED + k, or the k-th entry of a comma-separated list. The",
        "        same seeds give the same spikes. spiking_synrl's evaluation of these",
        "        weights uses the seeds BrianFeedForward.run_seeds(n) returns (one per",
        f"        run of {slots}); with them the counts equal that evaluation's exactly.",
        "",
        "Files",
        "-----",
        f"    run.sh          the wrapper: splits INPUTS into runs of {slots} samples,",
        "                    runs project/main on each and collects the counts",
        f"    project/        the Brian2 {prog['brian2']} C++ standalone project (sources,",
        "                    makefile); project/main is the compiled program",
        "    weights/        the learned weights as Brian run arguments, raw float64,",
        f"                    one file per Brian variable ({slots} copies of the network)",
        "    manifest.json   these facts for programs: sizes, files, scales, seeds",
        *example_lines,
        "",
        f"One run of project/main ({slots} samples)",
        "-" * 40,
        "    mkdir -p /tmp/res",
        "    cd project",
        f"    {prog['seed_env']}=0 ./main --results_dir /tmp/res/ pop_in.rates=RATES.dat \\",
        f"        {args}",
        "",
        f"RATES.dat holds exactly {slots * n_in} float64 rates ({slots} samples; fill unused",
        "ones with 0). Copy b of the network reads sample b. /tmp/res/ then holds",
        "(copy-major: copy b's neuron j is index b * size + j; times in seconds):",
        *result_lines,
        "",
        "Rebuilding",
        "----------",
        f"Compiled with {' '.join(prog['compiler_flags'])}.",
        "-march=native: the program may not run on another CPU model. To rebuild it",
        "(needs g++ and make):",
        "    cd project && make clean && make",
        "",
    ]
    return "\n".join(lines)
