"""Shared pieces of the paper-reproduction scripts: seed lists, result rows, row commands.

Every ``benchmarks/reproduce_*.py`` script (and ``compare_dopamine_wp.py``,
``snn_digits.py``) exposes ``parse_args(argv) -> argparse.Namespace`` and
``collect_rows(args) -> list[dict]``: its measurements as data, one row per
method and task, each with the command line that regenerates exactly that row.
``benchmarks/reproduce_all.py`` merges the rows with the papers' published
figures into ``RESULTS.md``; each script's ``main()`` prints its own table.

A row (:func:`make_row`) is a plain dict with the keys ``paper``, ``key`` (unique
within the paper; matched against the published figures), ``method``, ``task``,
``metric``, ``unit``, ``settings``, ``seeds``, ``values`` (one per seed; ``nan``
for a run that diverged or failed), ``mean`` and ``std`` (over the finite
values; population std, as numpy's default), ``n_failed``, ``extra`` (a short
note shown next to the mean), ``wall_s`` and ``command``. Scripts add their own
keys for their printed tables.
"""

from __future__ import annotations

import argparse
import math
import shlex
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np


def parse_seeds(text: str) -> list[int]:
    """The seeds of ``--seeds``: ``"5"`` (the first five, 0-4), ``"0-4"`` or ``"0,2,7"``.

    >>> parse_seeds("3"), parse_seeds("2-4"), parse_seeds("0,5"), parse_seeds("7-7")
    ([0, 1, 2], [2, 3, 4], [0, 5], [7])
    """
    text = str(text).strip()
    try:
        if "," in text:
            seeds = [int(part) for part in text.split(",") if part.strip()]
        elif "-" in text:
            low, _, high = text.partition("-")
            seeds = list(range(int(low), int(high) + 1))
        else:
            seeds = list(range(int(text)))
    except ValueError:
        seeds = []
    if not seeds or min(seeds) < 0 or len(set(seeds)) != len(seeds):
        raise argparse.ArgumentTypeError(
            "--seeds must be a count N (seeds 0..N-1), a range A-B or a list A,B,C of distinct "
            f"non-negative ints. Got {text!r} instead."
        )
    return seeds


def format_seeds(seeds: Sequence[int]) -> str:
    """The ``--seeds`` argument that :func:`parse_seeds` turns back into ``seeds``.

    >>> format_seeds([0, 1, 2]), format_seeds([4]), format_seeds([0, 2])
    ('0-2', '4-4', '0,2')
    """
    seeds = list(seeds)
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))):
        return f"{seeds[0]}-{seeds[-1]}"
    return ",".join(str(s) for s in seeds)


def _format_value(value: Any, action: argparse.Action) -> list[str]:
    if action.type is parse_seeds:
        return [format_seeds(value)]
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [str(value)]


def command_line(
    script: str,
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    *,
    always: Iterable[str] = (),
    skip: Iterable[str] = (),
    **overrides: Any,
) -> str:
    """``python benchmarks/<script> ...`` with every option of ``args`` that is not its default.

    Options named in ``always`` are written even at their default (the budgets, so the
    command still means the same run if a default changes); ``skip`` leaves options out
    (``quick``, ``jobs``); ``overrides`` replace values (``methods="anp"`` narrows the
    command to one row). Values are formatted back into what ``parser`` accepts.
    """
    always, skip = set(always), {"help", *skip}
    parts = ["python", f"benchmarks/{script}"]
    for action in parser._actions:  # the parser is the single source of the flags' spelling
        dest = action.dest
        if not action.option_strings or dest in skip:
            continue
        value = overrides[dest] if dest in overrides else getattr(args, dest)
        default = action.default
        if isinstance(default, str) and action.type is not None and not isinstance(value, str):
            default = action.type(default)  # argparse converts string defaults the same way
        if dest not in always and dest not in overrides and value == default:
            continue
        flag = max(action.option_strings, key=len)
        if action.nargs == 0:  # store_true
            if value:
                parts.append(flag)
            continue
        parts += [flag, *_format_value(value, action)]
    return shlex.join(parts)


def make_row(
    *,
    paper: str,
    key: str,
    method: str,
    task: str,
    metric: str,
    unit: str,
    settings: str,
    seeds: Sequence[int],
    values: Sequence[float],
    command: str,
    extra: str = "",
    wall_s: float = float("nan"),
    **more: Any,
) -> dict[str, Any]:
    """One result row; ``mean``/``std`` over the finite ``values`` (nan if none is finite).

    >>> row = make_row(paper="p", key="k", method="m", task="t", metric="acc", unit="%",
    ...                settings="", seeds=[0, 1, 2], values=[1.0, 3.0, float("nan")], command="c")
    >>> row["mean"], row["std"], row["n_failed"]
    (2.0, 1.0, 1)
    """
    vals = [float(v) for v in values]
    finite = [v for v in vals if math.isfinite(v)]
    return {
        "paper": paper,
        "key": key,
        "method": method,
        "task": task,
        "metric": metric,
        "unit": unit,
        "settings": settings,
        "seeds": list(seeds),
        "values": vals,
        "mean": float(np.mean(finite)) if finite else float("nan"),
        "std": float(np.std(finite)) if finite else float("nan"),
        "n_failed": len(vals) - len(finite),
        "extra": extra,
        "wall_s": float(wall_s),
        "command": command,
        **more,
    }
