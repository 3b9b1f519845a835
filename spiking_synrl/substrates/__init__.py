"""Substrates: networks as functions of their weights.

Registry values are ``"module:Class"`` strings so that the Brian2 substrate (the
only module importing brian2) loads only when a spiking network is asked for.
"""

from __future__ import annotations

import importlib
from typing import Any

from spiking_synrl.errors import ConfigError
from spiking_synrl.substrates.base import ACTIVATIONS, Substrate
from spiking_synrl.substrates.mlp import MLP
from spiking_synrl.substrates.rnn import RNN
from spiking_synrl.validation import check_int, check_kwargs, check_name

__all__ = [
    "ACTIVATIONS",
    "MLP",
    "NETWORKS",
    "RNN",
    "SUBSTRATES",
    "Substrate",
    "load_substrate_class",
    "make_network",
]

SUBSTRATES: dict[str, str] = {
    "mlp": "spiking_synrl.substrates.mlp:MLP",
    "rnn": "spiking_synrl.substrates.rnn:RNN",
}


def load_substrate_class(name: str) -> Any:
    """The substrate class registered under ``name`` (imported on demand)."""
    key = check_name(name, "network", SUBSTRATES)
    module, cls = SUBSTRATES[key].split(":")
    return getattr(importlib.import_module(module), cls)


#: network recipes by CLI name: ``build(task, hidden, **params) -> Substrate``
NETWORKS: dict[str, str] = {
    "mlp": "networks.rate_mlp:build",
    "rnn": "networks.rate_rnn:build",
    "snn": "networks.snn:build",
}


def make_network(name: str, task: Any, hidden: Any = (32,), **params: Any) -> Substrate:
    """Build the network recipe ``name`` sized for ``task``."""
    key = check_name(name, "network", NETWORKS)
    if isinstance(hidden, int) and not isinstance(hidden, bool):
        hidden = [hidden]
    if not isinstance(hidden, (list, tuple)):
        raise ConfigError(
            f"The 'hidden' parameter of the {key!r} network must be a list of layer sizes, "
            f"e.g. [32] or [64, 32]. Got {hidden!r} instead."
        )
    hidden = [check_int(h, "hidden", f"the {key!r} network", low=1) for h in hidden]
    module, func = NETWORKS[key].split(":")
    try:
        build = getattr(importlib.import_module(module), func)
    except ImportError as err:  # a recipe whose back-end is missing
        from spiking_synrl.errors import DependencyNotInstalled

        raise DependencyNotInstalled(f"The {name!r} network cannot be loaded: {err}") from err
    cls = {"mlp": MLP, "rnn": RNN}.get(key)
    if cls is not None and "device" in params:
        raise ConfigError(
            f"The 'device' parameter applies only to spiking networks (--net snn); the "
            f"{key!r} network is plain numpy. Got device={params['device']!r}."
        )
    if cls is not None:
        check_kwargs(
            cls.__init__,
            params,
            f"The {key!r} network",
            ("n_inputs", "n_outputs", "hidden", "n_hidden"),
        )
    return build(task, hidden, **params)
