"""Rate-coded MLP recipe: ``n_in -> hidden... -> n_out`` for a static task.

See :mod:`spiking_synrl.substrates.mlp` for the equations. Output units are
linear (logits for cross-entropy, values for MSE).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spiking_synrl.errors import ConfigError
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.tasks.base import Task


def build(task: Task, hidden: Sequence[int] = (32,), **params: Any) -> MLP:
    """An :class:`MLP` with the task's input and output sizes."""
    if task.sequence:
        raise ConfigError(
            f"The 'net' parameter must be 'rnn' for the sequence task {task.name!r}. "
            "Got 'mlp' instead."
        )
    return MLP(task.n_inputs, tuple(hidden), task.n_outputs, **params)
