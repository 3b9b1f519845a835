"""Checkpoints: a :class:`TrainState` as one ``.npz`` file, written atomically.

The file holds every array of the state (weights, rule state) under numbered
keys and one JSON document, ``meta``, that describes the structure (which field
of which state dataclass each array fills), the step, the random generator's
state and a SHA-256 checksum of the arrays and of the rest of ``meta`` (format 2;
format-1 files, whose checksum covers the arrays only, still load). No pickle:
loading imports only state dataclasses defined in ``spiking_synrl`` or
``networks``.

Writes go to a temporary file in the same directory, are flushed to disk, then
renamed over the target (``os.replace`` is atomic on POSIX), so a run killed in
the middle of a write leaves the previous checkpoint intact.
"""

from __future__ import annotations

import dataclasses
import hashlib
import importlib
import json
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from spiking_synrl.errors import CheckpointError
from spiking_synrl.training.step import TrainState

__all__ = [
    "atomic_write_bytes",
    "atomic_write_npz",
    "atomic_write_text",
    "latest_checkpoint",
    "list_checkpoints",
    "load_checkpoint",
    "remove_stale_temporaries",
    "save_checkpoint",
]

_ALLOWED_MODULES = ("spiking_synrl", "networks")
_NAME = re.compile(r"^ckpt-(\d{8})\.npz$")
#: the temporary files of atomic_write_bytes: ``.<target name>.<mkstemp's 8 chars>.tmp``
_TEMPORARY = re.compile(r"^\..+\.[A-Za-z0-9_]{8}\.tmp$")
_UMASK = os.umask(0)  # read once (setting it is process-wide), then restored
os.umask(_UMASK)


# -- atomic file writes ---------------------------------------------------------
def _fsync_dir(directory: Path) -> None:
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:  # some filesystems do not allow opening directories
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never half."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        # mkstemp makes the file private (0600); give it the mode a plain open() would
        os.fchmod(fd, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def remove_stale_temporaries(directory: str | os.PathLike[str]) -> list[Path]:
    """Delete the temporary files that writers killed mid-write left in ``directory``.

    A SIGKILL between :func:`atomic_write_bytes` creating its temporary file and
    renaming it leaves that file behind (the target itself is intact). Call this
    only when no other process writes to ``directory``. Returns the deleted paths.
    """
    directory = Path(directory)
    if not directory.is_dir():
        return []
    stale = [p for p in directory.iterdir() if p.is_file() and _TEMPORARY.match(p.name)]
    for path in stale:
        path.unlink(missing_ok=True)
    return stale


def atomic_write_npz(path: str | os.PathLike[str], **arrays: np.ndarray) -> None:
    """``np.savez`` of ``arrays`` to ``path``, written atomically."""
    import io

    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Text version of :func:`atomic_write_bytes` (UTF-8)."""
    atomic_write_bytes(path, text.encode("utf-8"))


# -- state <-> (structure, arrays) ---------------------------------------------
def _encode(obj: Any, arrays: list[np.ndarray]) -> Any:
    if isinstance(obj, np.ndarray):
        arrays.append(obj)
        return {"array": len(arrays) - 1}
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        cls = type(obj)
        return {
            "dataclass": f"{cls.__module__}:{cls.__qualname__}",
            "fields": {
                f.name: _encode(getattr(obj, f.name), arrays) for f in dataclasses.fields(obj)
            },
        }
    if isinstance(obj, dict):
        return {"dict": {str(k): _encode(v, arrays) for k, v in obj.items()}}
    if isinstance(obj, (tuple, list)):
        return {"tuple" if isinstance(obj, tuple) else "list": [_encode(v, arrays) for v in obj]}
    if isinstance(obj, np.generic):
        return {"value": obj.item()}
    if obj is None or isinstance(obj, (bool, int, float, str)):
        return {"value": obj}
    raise CheckpointError(
        f"Cannot checkpoint a value of type {type(obj).__name__}; rule states must hold "
        "arrays, scalars, dicts, tuples or state dataclasses."
    )


def _decode(node: Any, arrays: dict[int, np.ndarray]) -> Any:
    if "array" in node:
        return arrays[node["array"]]
    if "dataclass" in node:
        module, _, qualname = node["dataclass"].partition(":")
        if not module.startswith(_ALLOWED_MODULES):
            raise CheckpointError(f"Refusing to load state class from module {module!r}")
        cls: Any = importlib.import_module(module)
        for part in qualname.split("."):
            cls = getattr(cls, part)
        return cls(**{k: _decode(v, arrays) for k, v in node["fields"].items()})
    if "dict" in node:
        return {k: _decode(v, arrays) for k, v in node["dict"].items()}
    if "tuple" in node:
        return tuple(_decode(v, arrays) for v in node["tuple"])
    if "list" in node:
        return [_decode(v, arrays) for v in node["list"]]
    return node["value"]


def _checksum(arrays: list[np.ndarray], meta: dict[str, Any] | None = None) -> str:
    """SHA-256 of the arrays and (format 2) of everything else in ``meta``."""
    digest = hashlib.sha256()
    if meta is not None:
        described = {k: v for k, v in meta.items() if k != "checksum"}
        # through a JSON round trip, so that saving and loading hash the same text
        canonical = json.dumps(json.loads(json.dumps(described)), sort_keys=True)
        digest.update(canonical.encode())
    for arr in arrays:
        arr = np.ascontiguousarray(arr)
        digest.update(str((arr.dtype.str, arr.shape)).encode())
        digest.update(arr.tobytes())
    return digest.hexdigest()


# -- public API -----------------------------------------------------------------
def save_checkpoint(
    path: str | os.PathLike[str],
    state: TrainState,
    rng: np.random.Generator,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Write ``state`` and the generator state to ``path`` atomically."""
    arrays: list[np.ndarray] = []
    structure = {
        "weights": _encode(dict(state.weights), arrays),
        "rule_state": _encode(state.rule_state, arrays),
    }
    meta: dict[str, Any] = {
        "format": 2,
        "step": state.step,
        "n_evals": state.n_evals,
        "rng": rng.bit_generator.state,
        "structure": structure,
        "extra": extra or {},
    }
    meta["checksum"] = _checksum(arrays, meta)
    payload = {f"a{i}": a for i, a in enumerate(arrays)}
    atomic_write_npz(path, meta=np.array(json.dumps(meta)), **payload)
    return Path(path)


def load_checkpoint(
    path: str | os.PathLike[str],
) -> tuple[TrainState, dict[str, Any], dict[str, Any]]:
    """Read a checkpoint; returns ``(state, rng_state, extra)``.

    Raises:
        CheckpointError: naming the file, if it is missing, truncated or altered.
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {str(path)!r} does not exist.")
    try:
        with np.load(path, allow_pickle=False) as data:
            meta = json.loads(str(data["meta"]))
            n = sum(1 for k in data.files if k.startswith("a"))
            arrays = [data[f"a{i}"] for i in range(n)]
        if not isinstance(meta, dict):
            raise ValueError("its 'meta' entry is not a JSON object")
    # a damaged zip raises anything from BadZipFile and zlib.error to NotImplementedError
    # ("compression method not supported") or RuntimeError ("encrypted")
    except Exception as err:
        raise CheckpointError(
            f"Checkpoint {str(path)!r} is unreadable (truncated or not a checkpoint): {err}"
        ) from err
    # format 1 (before meta was covered) checked the arrays only
    covered = meta if meta.get("format", 1) >= 2 else None
    if _checksum(arrays, covered) != meta.get("checksum"):
        raise CheckpointError(
            f"Checkpoint {str(path)!r} failed its checksum: the file was altered or corrupted."
        )
    try:
        by_index = dict(enumerate(arrays))
        structure = meta["structure"]
        state = TrainState(
            step=int(meta["step"]),
            weights=_decode(structure["weights"], by_index),
            rule_state=_decode(structure["rule_state"], by_index),
            n_evals=int(meta.get("n_evals", 0)),
        )
    except CheckpointError:
        raise
    except Exception as err:  # a well-formed file of another layout
        raise CheckpointError(
            f"Checkpoint {str(path)!r} does not describe a training state: {err!r}"
        ) from err
    return state, meta["rng"], meta.get("extra", {})


def checkpoint_path(directory: str | os.PathLike[str], step: int) -> Path:
    """``<directory>/ckpt-<step:08d>.npz``."""
    return Path(directory) / f"ckpt-{step:08d}.npz"


def list_checkpoints(directory: str | os.PathLike[str]) -> list[Path]:
    """Checkpoint files in ``directory``, oldest first."""
    directory = Path(directory)
    if not directory.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in directory.iterdir() if (m := _NAME.match(p.name))]
    return [p for _, p in sorted(found)]


def latest_checkpoint(
    directory: str | os.PathLike[str],
    on_bad: Any = None,
) -> tuple[Path, TrainState, dict[str, Any], dict[str, Any]] | None:
    """The newest checkpoint that loads and passes its checksum, or None.

    A bad newer file is skipped (falling back to the previous good one);
    ``on_bad(path, error)`` is called for each, e.g. to warn the user.
    """
    for path in reversed(list_checkpoints(directory)):
        try:
            state, rng_state, extra = load_checkpoint(path)
        except CheckpointError as err:
            if on_bad is not None:
                on_bad(path, err)
            continue
        return path, state, rng_state, extra
    return None
