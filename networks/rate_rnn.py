"""Rate-coded Elman RNN recipe for sequence tasks (one recurrent tanh layer).

See :mod:`spiking_synrl.substrates.rnn` for the equations (García Fernández,
Keemink & van Gerven 2024).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spiking_synrl.errors import ConfigError
from spiking_synrl.substrates.rnn import RNN
from spiking_synrl.tasks.base import Task


def build(task: Task, hidden: Sequence[int] = (64,), **params: Any) -> RNN:
    """An :class:`RNN` with ``hidden[0]`` recurrent units."""
    if len(hidden) != 1:
        raise ConfigError(
            "The 'hidden' parameter of the rnn network must be one layer size, e.g. [500]. "
            f"Got {list(hidden)!r} instead."
        )
    if not task.sequence:
        raise ConfigError(
            f"The 'net' parameter must be 'mlp' for the static task {task.name!r}. "
            "Got 'rnn' instead."
        )
    return RNN(task.n_inputs, hidden[0], task.n_outputs, **params)
