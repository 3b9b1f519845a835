"""Substrates: networks as functions of their weights.

Registry values are ``"module:Class"`` strings so that the Brian2 substrate (the
only module importing brian2) loads only when a spiking network is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from spiking_synrl.substrates.base import ACTIVATIONS, Substrate
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.substrates.rnn import RNN
from spiking_synrl.validation import check_name

__all__ = ["ACTIVATIONS", "MLP", "RNN", "SUBSTRATES", "Substrate", "load_substrate_class"]

SUBSTRATES: dict[str, str] = {
    "mlp": "spiking_synrl.substrates.mlp:MLP",
    "rnn": "spiking_synrl.substrates.rnn:RNN",
}


def load_substrate_class(name: str) -> Any:
    """The substrate class registered under ``name`` (imported on demand)."""
    key = check_name(name, "network", SUBSTRATES)
    module, cls = SUBSTRATES[key].split(":")
    return getattr(importlib.import_module(module), cls)
