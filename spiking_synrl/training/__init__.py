"""Training: the pure step, the Trainer, callbacks and checkpoints."""

from spiking_synrl.training.callbacks import (
    Callback,
    Checkpointer,
    EarlyStopping,
    JSONLLogger,
    ProgressBar,
)
from spiking_synrl.training.checkpoint import latest_checkpoint, load_checkpoint, save_checkpoint
from spiking_synrl.training.step import TrainState, train_step
from spiking_synrl.training.trainer import History, Trainer

__all__ = [
    "Callback",
    "Checkpointer",
    "EarlyStopping",
    "History",
    "JSONLLogger",
    "ProgressBar",
    "TrainState",
    "Trainer",
    "latest_checkpoint",
    "load_checkpoint",
    "save_checkpoint",
    "train_step",
]
