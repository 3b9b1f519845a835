"""Parameter checks at the public boundary, all with one message shape.

``The 'sigma' parameter of WeightPerturbation must be a float in (0, inf). Got -0.1
instead.`` (after ``sklearn/utils/_param_validation.py``). Registry misses add
"Did you mean ...?" from :mod:`difflib` (after Gymnasium's ``_check_name_exists``).
"""

from __future__ import annotations

import difflib
import math
import numbers
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from spiking_synrl.errors import ConfigError, NameNotFound

__all__ = [
    "check_bool",
    "check_int",
    "check_float",
    "check_options",
    "check_name",
    "check_path",
    "check_array",
    "check_generator",
    "did_you_mean",
    "real_array",
]


def _fail(name: str, owner: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(
        f"The {name!r} parameter of {owner} must be {expected}. Got {value!r} instead."
    )


def _interval(low: float | None, high: float | None, closed: str) -> str:
    left = "[" if closed in ("left", "both") and low is not None else "("
    right = "]" if closed in ("right", "both") and high is not None else ")"
    lo = "-inf" if low is None else f"{low:g}"
    hi = "inf" if high is None else f"{high:g}"
    return f"{left}{lo}, {hi}{right}"


def _in_range(value: float, low: float | None, high: float | None, closed: str) -> bool:
    below = low is not None and (value < low or (value == low and closed not in ("left", "both")))
    above = high is not None and (
        value > high or (value == high and closed not in ("right", "both"))
    )
    return not (below or above)


def check_float(
    value: Any,
    name: str,
    owner: str,
    low: float | None = None,
    high: float | None = None,
    closed: str = "neither",
) -> float:
    """Return ``value`` as a finite float inside the interval, or raise ConfigError."""
    expected = f"a float in {_interval(low, high, closed)}"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise _fail(name, owner, expected, value)
    out = float(value)
    if not math.isfinite(out) or not _in_range(out, low, high, closed):
        raise _fail(name, owner, expected, value)
    return out


def check_int(
    value: Any,
    name: str,
    owner: str,
    low: int | None = None,
    high: int | None = None,
) -> int:
    """Return ``value`` as an int in ``[low, high]``, or raise ConfigError."""
    expected = f"an int in {_interval(low, high, 'both')}"
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise _fail(name, owner, expected, value)
    out = int(value)
    if not _in_range(out, low, high, "both"):
        raise _fail(name, owner, expected, value)
    return out


def check_bool(value: Any, name: str, owner: str) -> bool:
    """Return ``value`` if it is a bool, else raise ConfigError."""
    if not isinstance(value, (bool, np.bool_)):
        raise _fail(name, owner, "a bool", value)
    return bool(value)


def check_path(value: Any, name: str, owner: str) -> Path:
    """Return ``value`` (a str or os.PathLike) as a Path, or raise ConfigError."""
    if isinstance(value, str) and value.strip():
        return Path(value)
    if isinstance(value, os.PathLike) and not isinstance(value, bytes):
        path = os.fspath(value)
        if isinstance(path, str):
            return Path(path)
    raise _fail(name, owner, "a path (a non-empty str or pathlib.Path)", value)


def check_options(value: Any, name: str, owner: str, options: Iterable[str]) -> str:
    """Return ``value`` if it is one of ``options``, else raise ConfigError."""
    options = list(options)
    if not isinstance(value, str) or value not in options:
        hint = did_you_mean(value, options) if isinstance(value, str) else ""
        raise ConfigError(
            f"The {name!r} parameter of {owner} must be one of "
            f"{', '.join(repr(o) for o in options)}. Got {value!r} instead.{hint}"
        )
    return value


def did_you_mean(value: str, options: Iterable[str]) -> str:
    """A " Did you mean: 'x'?" suffix for the closest option, or ''."""
    close = difflib.get_close_matches(value, list(options), n=3, cutoff=0.5)
    if not close:
        return ""
    return " Did you mean: " + " or ".join(repr(c) for c in close) + "?"


def check_name(value: Any, kind: str, registry: Mapping[str, Any]) -> str:
    """Normalise a registry name (``_`` and ``-`` alike) or raise NameNotFound."""
    if not isinstance(value, str):
        raise NameNotFound(
            f"The {kind} name must be a str, one of {sorted(registry)}. Got {value!r} instead."
        )
    key = value.strip().lower().replace("_", "-")
    if key in registry:
        return key
    raise NameNotFound(
        f"No {kind} named {value!r}. Known {kind}s: {', '.join(sorted(registry))}."
        + did_you_mean(key, registry)
    )


def real_array(value: Any) -> np.ndarray | None:
    """``value`` as a float array, or None if it is not real numbers.

    Text, bytes, complex numbers, dates and ragged nested lists give None (numpy
    would raise, warn, or silently drop an imaginary part).

    Examples:
        >>> real_array([[1, 2], [3, 4]]).dtype
        dtype('float64')
        >>> real_array("1.5") is None, real_array([1j]) is None, real_array([[1], [2, 3]])
        (True, True, None)
    """
    try:
        raw = np.asarray(value)
        if raw.dtype.kind not in "biufO":
            return None
        return raw if raw.dtype == np.float64 else raw.astype(float)
    except (TypeError, ValueError, OverflowError):
        return None


def check_array(
    value: Any,
    name: str,
    owner: str,
    shape: tuple[int | None, ...] | None = None,
    finite: bool = True,
) -> np.ndarray:
    """Return ``value`` as a float array of the given shape (None = any size)."""
    arr = real_array(value)
    if arr is None:
        raise _fail(name, owner, "an array of real numbers", value)
    if shape is not None:
        ok = arr.ndim == len(shape) and all(
            s is None or s == d for s, d in zip(shape, arr.shape, strict=True)
        )
        if not ok:
            want = "(" + ", ".join("any" if s is None else str(s) for s in shape) + ")"
            raise ConfigError(
                f"The {name!r} parameter of {owner} must be an array of shape {want}. "
                f"Got shape {arr.shape} instead."
            )
    if finite and not np.all(np.isfinite(arr)):
        raise ConfigError(
            f"The {name!r} parameter of {owner} must hold only finite numbers. "
            f"Got {int(np.sum(~np.isfinite(arr)))} NaN or infinite values instead."
        )
    return arr


def check_generator(rng: Any, owner: str) -> np.random.Generator:
    """Insist on a ``numpy.random.Generator``: no hidden global randomness."""
    if not isinstance(rng, np.random.Generator):
        raise ConfigError(
            f"The 'rng' parameter of {owner} must be a numpy.random.Generator "
            f"(np.random.default_rng(seed)). Got {type(rng).__name__} instead."
        )
    return rng


def check_kwargs(
    func: Any, params: Mapping[str, Any], owner: str, exclude: Iterable[str] = ()
) -> None:
    """Raise ConfigError if ``params`` holds a keyword ``func`` does not accept."""
    import inspect

    sig = inspect.signature(func)
    skip = {"self", *exclude}
    accepted = [
        n
        for n, p in sig.parameters.items()
        if n not in skip and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    ]
    for key in params:
        if key not in accepted:
            raise ConfigError(
                f"{owner} has no parameter {key!r}. Accepted: {', '.join(accepted)}."
                + did_you_mean(key, accepted)
            )
