"""Training callbacks: progress bar, JSON-lines metrics log, checkpoints, early stop.

A callback gets ``on_train_begin(trainer, state)``, ``on_step_end(trainer, state,
metrics)`` and ``on_train_end(trainer, state)``; ``trainer.request_stop()`` ends a
run. Callbacks that keep state for exact resumption implement ``state_dict`` and
``load_state_dict`` (JSON-able), which the checkpointer stores.
"""

from __future__ import annotations

import json
import logging
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from spiking_synrl.errors import ConfigError
from spiking_synrl.training.checkpoint import (
    checkpoint_path,
    list_checkpoints,
    remove_stale_temporaries,
    save_checkpoint,
)
from spiking_synrl.training.step import TrainState
from spiking_synrl.validation import check_float, check_int, check_options

if TYPE_CHECKING:
    from spiking_synrl.training.trainer import Trainer

__all__ = ["Callback", "Checkpointer", "EarlyStopping", "JSONLLogger", "ProgressBar"]

log = logging.getLogger(__name__)


class Callback:
    """Base class: every hook is a no-op."""

    def on_train_begin(self, trainer: Trainer, state: TrainState) -> None:
        """Called once before the first step (also on resume)."""

    def on_step_end(self, trainer: Trainer, state: TrainState, metrics: dict[str, float]) -> None:
        """Called after every step with that step's metrics."""

    def on_train_end(self, trainer: Trainer, state: TrainState) -> None:
        """Called once after the last step."""

    def state_dict(self) -> dict[str, Any]:
        """JSON-able state to restore on resume (none by default)."""
        return {}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Restore what :meth:`state_dict` returned."""


class ProgressBar(Callback):
    """A tqdm bar showing the loss and the latest evaluation metrics."""

    def __init__(self, desc: str = "train", leave: bool = True) -> None:
        self.desc, self.leave = desc, leave
        self._bar: Any = None
        self._shown: dict[str, float] = {}

    def on_train_begin(self, trainer: Trainer, state: TrainState) -> None:
        from tqdm.auto import tqdm

        self._bar = tqdm(
            total=trainer.n_steps, initial=state.step, desc=self.desc, leave=self.leave
        )

    def on_step_end(self, trainer: Trainer, state: TrainState, metrics: dict[str, float]) -> None:
        self._shown["loss"] = metrics.get("loss", math.nan)
        for key, value in metrics.items():
            if key.startswith(trainer.eval_prefix):
                self._shown[key] = value
        self._bar.update(1)
        if state.step % 20 == 0 or state.step == trainer.n_steps:
            self._bar.set_postfix({k: f"{v:.4g}" for k, v in self._shown.items()}, refresh=False)

    def on_train_end(self, trainer: Trainer, state: TrainState) -> None:
        if self._bar is not None:
            self._bar.close()


class JSONLLogger(Callback):
    """Append one JSON line of metrics per logged step to ``path``.

    Each line is flushed as it is written. On resume the file is cut back to the
    checkpoint's step, so a resumed run's log equals an uninterrupted one's.
    """

    def __init__(self, path: str | os.PathLike[str], every: int = 1) -> None:
        self.path = Path(path)
        self.every = check_int(every, "every", "JSONLLogger", low=1)
        self._fh: Any = None

    def on_train_begin(self, trainer: Trainer, state: TrainState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        truncate_log(self.path, state.step)
        self._fh = open(self.path, "a", encoding="utf-8")  # noqa: SIM115 (kept open)

    def on_step_end(self, trainer: Trainer, state: TrainState, metrics: dict[str, float]) -> None:
        evaluated = any(k.startswith(trainer.eval_prefix) for k in metrics)
        if state.step % self.every == 0 or evaluated or state.step == trainer.n_steps:
            record = {"step": state.step, "n_evals": state.n_evals, **metrics}
            self._fh.write(json.dumps(record, allow_nan=True) + "\n")
            self._fh.flush()

    def on_train_end(self, trainer: Trainer, state: TrainState) -> None:
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def truncate_log(path: Path, step: int) -> None:
    """Keep only the complete lines of ``path`` with ``"step" <= step``."""
    if not path.exists():
        return
    kept = []
    with open(path, encoding="utf-8") as fh:
        for line in fh:
            if not line.endswith("\n"):
                break  # a line cut by a crash
            try:
                if json.loads(line)["step"] <= step:
                    kept.append(line)
            except (ValueError, KeyError):
                break
    from spiking_synrl.training.checkpoint import atomic_write_text

    atomic_write_text(path, "".join(kept))


class Checkpointer(Callback):
    """Save the training state every ``every`` steps and at the end, atomically.

    Keeps the newest ``keep`` checkpoints in ``directory``. At the start of a run
    it deletes the temporary files of writes that a killed run left unfinished.
    """

    def __init__(self, directory: str | os.PathLike[str], every: int = 1000, keep: int = 3):
        self.directory = Path(directory)
        self.every = check_int(every, "every", "Checkpointer", low=1)
        self.keep = check_int(keep, "keep", "Checkpointer", low=1)

    def on_train_begin(self, trainer: Trainer, state: TrainState) -> None:
        for path in remove_stale_temporaries(self.directory):
            log.info("removed %s, left by a checkpoint write that was killed", path)

    def save(self, trainer: Trainer, state: TrainState) -> Path:
        """Write a checkpoint of ``state`` now."""
        extra = {"callbacks": trainer.callback_states()}
        path = save_checkpoint(
            checkpoint_path(self.directory, state.step), state, trainer.rng, extra
        )
        for old in list_checkpoints(self.directory)[: -self.keep]:
            old.unlink(missing_ok=True)
        return path

    def on_step_end(self, trainer: Trainer, state: TrainState, metrics: dict[str, float]) -> None:
        if state.step % self.every == 0:
            self.save(trainer, state)

    def on_train_end(self, trainer: Trainer, state: TrainState) -> None:
        # also after a NaN in the first step: the last good state is then step 0
        if not checkpoint_path(self.directory, state.step).exists():
            self.save(trainer, state)


class EarlyStopping(Callback):
    """Stop when an evaluated metric stops improving or reaches a target.

    Args:
        monitor: metric name, e.g. ``"val_loss"`` or ``"val_accuracy"``.
        mode: ``"min"`` or ``"max"``.
        patience: evaluations without improvement before stopping (0 = never).
        target: stop as soon as the metric is at least as good as this.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        mode: str = "min",
        patience: int = 10,
        target: float | None = None,
    ) -> None:
        if not isinstance(monitor, str) or not monitor:
            raise ConfigError(
                "The 'monitor' parameter of EarlyStopping must be a metric name such as "
                f"'val_loss' or 'val_accuracy'. Got {monitor!r} instead."
            )
        self.monitor = monitor
        self.mode = check_options(mode, "mode", "EarlyStopping", ("min", "max"))
        self.patience = check_int(patience, "patience", "EarlyStopping", low=0)
        self.target = None if target is None else check_float(target, "target", "EarlyStopping")
        self.best: float | None = None
        self.wait = 0
        self.stopped_at: int | None = None

    def _better(self, a: float, b: float) -> bool:
        return a < b if self.mode == "min" else a > b

    def on_step_end(self, trainer: Trainer, state: TrainState, metrics: dict[str, float]) -> None:
        if self.monitor not in metrics:
            return
        value = metrics[self.monitor]
        if self.target is not None and not self._better(self.target, value):
            self.stopped_at = state.step
            trainer.request_stop()
            return
        if self.best is None or self._better(value, self.best):
            self.best, self.wait = value, 0
        else:
            self.wait += 1
            if self.patience and self.wait >= self.patience:
                self.stopped_at = state.step
                trainer.request_stop()

    def state_dict(self) -> dict[str, Any]:
        return {"best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.best, self.wait = state.get("best"), int(state.get("wait", 0))
