"""spiking_synrl: learning rules a synapse or a neuron could run, on rate and spiking networks.

The public namespace (users import from here and from the subpackages
``spiking_synrl.rules``, ``.substrates``, ``.tasks``, ``.training``)::

    from spiking_synrl import Trainer, make_rule, make_task, make_network

Importing the package never imports brian2; the Brian2 substrate loads only when
a spiking network (``make_network("snn", ...)``) is asked for.
"""

from __future__ import annotations

from spiking_synrl.errors import (
    CapabilityError,
    CheckpointError,
    ConfigError,
    DependencyNotInstalled,
    NameNotFound,
    NonFiniteLossError,
    SynRLError,
    WeightSpecError,
)
from spiking_synrl.evaluate import evaluate_proposal, evaluate_weights
from spiking_synrl.rules import RULES, LearningRule, apply_updates, make_rule
from spiking_synrl.substrates import MLP, NETWORKS, RNN, Substrate, make_network
from spiking_synrl.tasks import TASKS, Task, make_task
from spiking_synrl.training import (
    Callback,
    Checkpointer,
    EarlyStopping,
    History,
    JSONLLogger,
    ProgressBar,
    Trainer,
    TrainState,
    train_step,
)
from spiking_synrl.types import Batch, Evaluation, Forward, Proposal, WeightSpec

__version__ = "0.1.0"

__all__ = [
    "MLP",
    "NETWORKS",
    "RNN",
    "RULES",
    "TASKS",
    "Batch",
    "Callback",
    "CapabilityError",
    "CheckpointError",
    "Checkpointer",
    "ConfigError",
    "DependencyNotInstalled",
    "EarlyStopping",
    "Evaluation",
    "Forward",
    "History",
    "JSONLLogger",
    "LearningRule",
    "NameNotFound",
    "NonFiniteLossError",
    "ProgressBar",
    "Proposal",
    "Substrate",
    "SynRLError",
    "Task",
    "TrainState",
    "Trainer",
    "WeightSpec",
    "WeightSpecError",
    "__version__",
    "apply_updates",
    "evaluate_proposal",
    "evaluate_weights",
    "make_network",
    "make_rule",
    "make_task",
    "train_step",
]
