"""Tasks: data, loss and metrics, reached by name through a lazy registry.

The registry maps kebab-case names to ``"module:Class"`` strings, so a task's
dependencies (scikit-learn for the digits tasks) load only when it is made
(after Gymnasium's ``register(id=..., entry_point="module:Class")``).

Registered tasks (name: class, kind, loss; reference in ``shared/papers.md``):

- ``xor``: :class:`~.xor.XOR`, static, mse (§5, paper 3).
- ``digits``: :class:`~.digits.Digits`, static, ce (§1(c), §5: notMNIST substitute).
- ``random-teacher``: :class:`~.random_teacher.RandomTeacher`, static, mse (§1(c)).
- ``mackey-glass``: :class:`~.mackey_glass.MackeyGlass`, sequence, mse (§4(c)).
- ``copy``: :class:`~.copy_task.CopyTask`, sequence, mse or ce (§4(c)).
- ``seq-digits``: :class:`~.seq_digits.SeqDigits`, sequence, ce (§4(c), §5: psMNIST substitute).

Examples:
    >>> from spiking_synrl.tasks import make_task
    >>> task = make_task("xor")
    >>> task.split("train").inputs.shape
    (4, 2)
    >>> make_task("mackey_glass", seed=1, n_train=500, n_test=200).n_inputs
    1
"""

from __future__ import annotations

import importlib
import inspect
from typing import Any

from spiking_synrl.errors import ConfigError
from spiking_synrl.tasks.base import Task
from spiking_synrl.validation import check_name

__all__ = [
    "TASKS",
    "XOR",
    "CopyTask",
    "Digits",
    "MackeyGlass",
    "RandomTeacher",
    "SeqDigits",
    "Task",
    "load_task_class",
    "make_task",
]

#: task name -> ``"module:Class"`` entry point (imported on first use)
TASKS: dict[str, str] = {
    "xor": "spiking_synrl.tasks.xor:XOR",
    "digits": "spiking_synrl.tasks.digits:Digits",
    "mackey-glass": "spiking_synrl.tasks.mackey_glass:MackeyGlass",
    "copy": "spiking_synrl.tasks.copy_task:CopyTask",
    "random-teacher": "spiking_synrl.tasks.random_teacher:RandomTeacher",
    "seq-digits": "spiking_synrl.tasks.seq_digits:SeqDigits",
}


def load_task_class(name: str) -> type[Task]:
    """The Task subclass registered under ``name`` (``_`` and ``-`` alike).

    Raises:
        NameNotFound: for an unknown name, with "Did you mean ...?" suggestions.
    """
    key = check_name(name, "task", TASKS)
    module_name, class_name = TASKS[key].split(":")
    cls: type[Task] = getattr(importlib.import_module(module_name), class_name)
    return cls


def _accepted_params(cls: type[Task]) -> list[str]:
    params = inspect.signature(cls.__init__).parameters.values()
    return [p.name for p in params if p.name != "self" and p.kind is p.KEYWORD_ONLY]


def make_task(name: str, seed: int = 0, **params: Any) -> Task:
    """Build the task registered under ``name``.

    Args:
        name: a key of :data:`TASKS`; case, ``_`` and ``-`` are normalised.
        seed: seeds all of the task's randomness (data generation, splits).
        **params: the task's own parameters (see each class).

    Returns:
        The constructed task.

    Raises:
        NameNotFound: for an unknown task name (with suggestions).
        ConfigError: for an unknown or invalid parameter.
    """
    cls = load_task_class(name)
    accepted = _accepted_params(cls)
    for key in params:
        if key not in accepted:
            raise ConfigError(
                f"The {key!r} parameter is not accepted by {cls.__name__} "
                f"(task {cls.name!r}). Accepted parameters: {', '.join(accepted)}."
            )
    return cls(seed=seed, **params)


_CLASSES = {entry.split(":")[1]: entry for entry in TASKS.values()}


def __getattr__(attr: str) -> Any:
    """Import task classes lazily: ``from spiking_synrl.tasks import MackeyGlass``."""
    if attr in _CLASSES:
        module_name, class_name = _CLASSES[attr].split(":")
        return getattr(importlib.import_module(module_name), class_name)
    raise AttributeError(f"module {__name__!r} has no attribute {attr!r}")
