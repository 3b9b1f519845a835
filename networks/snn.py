"""Spiking network recipe chosen by task type (``--net snn``).

Static tasks get the feed-forward LIF network (:mod:`networks.lif_feedforward`),
sequence tasks the recurrent one (:mod:`networks.lif_recurrent`). Both are
:class:`spiking_synrl.substrates.brian.BrianSubstrate` objects; brian2 is imported
only when one is built.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spiking_synrl.tasks.base import Task

__all__ = ["build"]


def build(task: Task, hidden: Sequence[int] = (32,), **params: Any) -> Any:
    """A spiking network for ``task``: recurrent for sequences, feed-forward otherwise."""
    if task.sequence:
        from networks import lif_recurrent

        return lif_recurrent.build(task, hidden, **params)
    from networks import lif_feedforward

    return lif_feedforward.build(task, hidden, **params)
