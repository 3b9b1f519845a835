r"""SynapticQ policies: learn a shared Q-table, save it, load it, print it.

A policy is the ``(81, 3)`` Q-table of :class:`~spiking_synrl.rules.synaptic_q.SynapticQ`
(row ``s = 27 r_2 + 9 r_1 + 3 a_2 + a_1``, column = action; codes 0/1/2 mean
-1/neutral/+1 for rewards and -/0/+ for actions). Bhargava et al. (2022) learn it
once with the *adaptive* rule on a simulated decision-boundary task (a student MLP
matching a random teacher MLP), then use it frozen (*static*) on other tasks:

.. math::

    Q(s_t, a_t) \leftarrow Q(s_t, a_t)
        + \alpha \big[R_t + \gamma \max_{a'} Q(s_{t+1}, a') - Q(s_t, a_t)\big]

:func:`learn_policy` does this over many episodes (a fresh teacher and a fresh
single-layer student each, the table carried over) and, as single runs are
unreliable, over a few restarts of which it keeps the table that best trains a
larger held-out network (:func:`policy_score`). :func:`save_policy` /
:func:`load_policy` store a table as an ``.npz`` (the table plus a JSON metadata
string with the command that produced it) with a readable ``.json`` beside it,
and :func:`greedy_table` gives the 4 x 9
greedy-action table printed in the paper's style (rows ``(R_{t-2}, R_{t-1})``,
columns ``(a_{t-2}, a_{t-1})``).

The shipped default, :data:`DEFAULT_POLICY_PATH`, was produced by
``learn_policy`` with the command recorded in its metadata (``synrl policy show``).

Reference: Bhargava, Rezaei & Lankarany, AppliedMath 2(2):185-195 (2022); the
authors' golden table is :data:`GOLDEN_GREEDY` (from ``golden_pol2cy.jld2``, see
``shared/papers.md`` §1(a)), kept for comparison only.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from spiking_synrl.errors import ConfigError
from spiking_synrl.validation import check_float, check_int

__all__ = [
    "DEFAULT_POLICY_PATH",
    "GOLDEN_GREEDY",
    "format_greedy",
    "greedy_table",
    "learn_policy",
    "load_policy",
    "policy_score",
    "save_policy",
    "table_from_greedy",
]

#: the policy used by ``SynapticQ(mode="static")`` when none is given
DEFAULT_POLICY_PATH = Path(__file__).resolve().parent / "policies" / "default.npz"
_SHAPE = (81, 3)
_SYMBOLS = {-1: "-", 0: "0", 1: "+"}

#: greedy action (-1, 0, +1) of the authors' golden policy per steady state: rows
#: (R_{t-2}, R_{t-1}) = (-1,-1), (-1,+1), (+1,-1), (+1,+1); columns (a_{t-2}, a_{t-1})
#: = (-,-), (-,0), (-,+), (0,-), (0,0), (0,+), (+,-), (+,0), (+,+)  [papers.md §1(a)]
GOLDEN_GREEDY = np.array(
    [
        [1, 0, 0, 1, 1, 1, 1, -1, 0],
        [1, 1, 1, -1, 1, 1, 0, 0, -1],
        [1, -1, -1, 1, -1, -1, 0, -1, 0],
        [1, -1, 0, 0, 1, 1, -1, 1, -1],
    ]
)


# -- tables ---------------------------------------------------------------------------
def _check_table(q: Any, where: str) -> np.ndarray:
    arr = np.asarray(q)
    if arr.shape != _SHAPE or arr.dtype.kind != "f":
        raise ConfigError(
            f"The Q-table in {where} must be a float array of shape {_SHAPE}. "
            f"Got {arr.dtype} with shape {arr.shape} instead."
        )
    if not np.all(np.isfinite(arr)):
        raise ConfigError(f"The Q-table in {where} holds NaN or infinite values.")
    return arr.astype(np.float64)


def greedy_table(q: np.ndarray) -> np.ndarray:
    """The 4 x 9 greedy actions (-1, 0, +1) of the steady states, as in the paper.

    Rows are ``(R_{t-2}, R_{t-1})`` = (-1,-1), (-1,+1), (+1,-1), (+1,+1); columns are
    ``(a_{t-2}, a_{t-1})`` = (-,-), (-,0), (-,+), (0,-), ..., (+,+). Ties go to the
    first action (decrement), like Julia's ``argmax``.

    Examples:
        >>> greedy_table(table_from_greedy(GOLDEN_GREEDY)).tolist() == GOLDEN_GREEDY.tolist()
        True
    """
    q = _check_table(q, "greedy_table")
    greedy = np.argmax(q.reshape(3, 3, 9, 3), axis=-1) - 1  # (r2, r1, a2*3 + a1)
    return greedy[np.ix_([0, 2], [0, 2])].reshape(4, 9)


def table_from_greedy(greedy: np.ndarray, initial_action: int = 1) -> np.ndarray:
    """A Q-table (1 on the greedy action, 0 elsewhere) realising a 4 x 9 greedy table.

    States with a neutral reward (the first two steps) get all zeros (-> decrement),
    except the very first state, whose greedy action is ``initial_action``, as in
    the authors' golden table.
    """
    greedy = np.asarray(greedy)
    if greedy.shape != (4, 9) or not np.isin(greedy, (-1, 0, 1)).all():
        raise ConfigError(
            "The 'greedy' table must be a 4 x 9 array of -1, 0, +1. "
            f"Got shape {greedy.shape} instead."
        )
    q = np.zeros((3, 3, 9, 3))
    for i, (r2, r1) in enumerate([(0, 0), (0, 2), (2, 0), (2, 2)]):
        q[r2, r1, np.arange(9), greedy[i] + 1] = 1.0
    q[1, 1, 4, initial_action + 1] = 1.0  # (neutral, neutral, 0, 0)
    return q.reshape(_SHAPE)


def format_greedy(q: np.ndarray) -> str:
    """The greedy table of ``q`` as a markdown table (``-``, ``0``, ``+``)."""
    table = greedy_table(q)
    cols = [f"{_SYMBOLS[a2]},{_SYMBOLS[a1]}" for a2 in (-1, 0, 1) for a1 in (-1, 0, 1)]
    lines = ["| R(t-2),R(t-1) \\ a(t-2),a(t-1) | " + " | ".join(cols) + " |"]
    lines.append("|---" * (len(cols) + 1) + "|")
    for label, row in zip(["-1,-1", "-1,+1", "+1,-1", "+1,+1"], table, strict=True):
        lines.append(f"| {label} | " + " | ".join(_SYMBOLS[int(v)] for v in row) + " |")
    return "\n".join(lines)


# -- files ----------------------------------------------------------------------------
def save_policy(
    path: str | os.PathLike[str], q_table: np.ndarray, metadata: dict[str, Any]
) -> Path:
    """Write a policy atomically: ``path`` (.npz) and a readable ``.json`` beside it.

    Args:
        path: the ``.npz`` file to write (its directory is created).
        q_table: ``(81, 3)`` float table.
        metadata: JSON-able description (the command and parameters that made it).

    Returns:
        The path written.
    """
    from spiking_synrl.training.checkpoint import atomic_write_npz, atomic_write_text

    path = Path(path)
    q = _check_table(q_table, repr(str(path)))
    try:
        meta_text = json.dumps(metadata, sort_keys=True)
    except TypeError as err:
        raise ConfigError(f"The policy metadata must be JSON-serialisable: {err}") from None
    atomic_write_npz(path, q_table=q, metadata=np.array(meta_text))
    readable = {
        **metadata,
        "greedy_table": format_greedy(q).splitlines(),
        "q_table_file": path.name,
    }
    atomic_write_text(path.with_suffix(".json"), json.dumps(readable, indent=2) + "\n")
    return path


def load_policy(path: str | os.PathLike[str]) -> tuple[np.ndarray, dict[str, Any]]:
    """Read a policy written by :func:`save_policy`.

    Returns:
        ``(q_table, metadata)``.

    Raises:
        ConfigError: naming the file, if it is missing, not a policy file, or its
            table has the wrong shape or dtype.
    """
    path = Path(path)
    if not path.is_file():
        raise ConfigError(
            f"The policy file {str(path)!r} does not exist. Learn one with "
            "`synrl policy learn --out PATH` or pass policy=None for the default."
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            if "q_table" not in data.files:
                raise ConfigError(
                    f"The policy file {str(path)!r} has no 'q_table' array "
                    f"(found {sorted(data.files)}); it is not a SynapticQ policy."
                )
            q = data["q_table"]
            meta_text = str(data["metadata"]) if "metadata" in data.files else "{}"
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise ConfigError(
            f"The policy file {str(path)!r} is unreadable (not an .npz policy): {err}"
        ) from None
    q = _check_table(q, f"policy file {str(path)!r}")
    try:
        metadata = json.loads(meta_text)
    except json.JSONDecodeError as err:
        raise ConfigError(f"The metadata of policy file {str(path)!r} is not JSON: {err}") from None
    return q, metadata


# -- learning -------------------------------------------------------------------------
def _sizes(value: Any, name: str) -> tuple[int, ...]:
    sizes = (value,) if isinstance(value, (int, np.integer)) else value
    if not isinstance(sizes, (tuple, list)):
        raise ConfigError(
            f"The {name!r} parameter of learn_policy must be a list of layer sizes. "
            f"Got {value!r} instead."
        )
    return tuple(check_int(s, name, "learn_policy", low=1) for s in sizes)


def _learn_one(
    seed: int,
    steps: int,
    episodes: int,
    task_kw: dict[str, Any],
    student: tuple[int, ...],
    rule_kw: dict[str, Any],
    bar: Any,
) -> np.ndarray:
    """One Q-learning run: ``episodes`` fresh (teacher, student) pairs, one shared table."""
    from spiking_synrl.rules.synaptic_q import N_ACTIONS, N_STATES, SynapticQ
    from spiking_synrl.substrates.mlp import MLP
    from spiking_synrl.tasks import make_task
    from spiking_synrl.training.step import TrainState, train_step

    rng = np.random.default_rng(seed)
    q = np.zeros((N_STATES, N_ACTIONS))
    done = 0
    for episode in range(episodes):
        n_steps = (steps * (episode + 1)) // episodes - done
        task = make_task("random-teacher", seed=int(rng.integers(2**31)), **task_kw)
        net = MLP(
            task.n_inputs, student, task.n_outputs, activation="tanh", output_activation="tanh"
        )
        rule = SynapticQ(mode="adaptive", policy=q, **rule_kw)
        weights = net.init_weights(rng)
        state = TrainState(0, weights, rule.init(weights, rng))
        for _ in range(n_steps):
            state, _ = train_step(rule, net, task, state, rng)
        q = state.rule_state.q
        done += n_steps
        if bar is not None:
            bar.update(n_steps)
    return q


def policy_score(q: np.ndarray, *, seed: int = 0, steps: int = 3000, tasks: int = 3) -> float:
    """How well a table trains, frozen, a network unlike the ones it was learned on.

    Mean over ``tasks`` random-teacher tasks (10 inputs, teacher 10-10-1) of
    ``log(L_final / L_initial)`` of a 10-20-1 tanh student trained ``steps``
    full-batch steps by ``SynapticQ(alpha_s=0.01, mode="static", policy=q)``.
    Lower is better; a table that does not train scores about 0 or above.
    """
    from spiking_synrl.rules.synaptic_q import SynapticQ
    from spiking_synrl.substrates.mlp import MLP
    from spiking_synrl.tasks import make_task
    from spiking_synrl.training.step import TrainState, train_step

    rng = np.random.default_rng(seed)
    scores = []
    for _ in range(tasks):
        task_seed = int(rng.integers(2**31))
        task = make_task("random-teacher", seed=task_seed, n_inputs=10, teacher_hidden=(10,))
        net = MLP(10, (20,), 1, activation="tanh", output_activation="tanh")
        rule = SynapticQ(alpha_s=0.01, mode="static", policy=q)
        weights = net.init_weights(rng)
        state = TrainState(0, weights, rule.init(weights, rng))
        first = last = 0.0
        for i in range(steps):
            state, metrics = train_step(rule, net, task, state, rng)
            first = metrics["loss"] if i == 0 else first
            last = metrics["loss"]
        scores.append(np.log(max(last, 1e-300) / first))
    return float(np.mean(scores))


def learn_policy(
    *,
    seed: int = 0,
    steps: int = 100_000,
    episodes: int = 100,
    restarts: int = 4,
    n_inputs: int = 5,
    teacher_hidden: Sequence[int] = (),
    student_hidden: Sequence[int] = (),
    n_outputs: int = 1,
    input_scale: float = 1.0,
    n_samples: int = 200,
    epsilon: float = 0.1,
    lr: float = 0.01,
    gamma: float = 0.9,
    alpha_s: float = 0.01,
    score_steps: int = 3000,
    score_tasks: int = 3,
    progress: bool = False,
) -> np.ndarray:
    """Learn a SynapticQ table with the adaptive rule on random-teacher tasks.

    Each run trains ``episodes`` fresh (teacher, student) pairs in turn, ``steps //
    episodes`` full-batch steps each, with ``SynapticQ(mode="adaptive")`` starting
    from the table left by the previous episode (zeros at first), so the table sees
    the early, fast-learning phase of many networks. The default student is a
    single-layer perceptron (5 inputs, tanh output: 6 synapses), as in the authors'
    single-perceptron notebooks: with few synapses each one's action visibly moves
    the shared reward, which the table needs to learn anything but noise.

    With ``restarts > 1`` the runs start from different seeds and the table with the
    best :func:`policy_score` (frozen, on held-out random-teacher tasks with a
    larger network) is returned: single runs are not reliable (about one in three
    gives a table that does not train larger networks).

    Args:
        seed: seeds everything (teachers, students, rule, scoring tasks).
        steps: training steps of each run, over all its episodes.
        episodes: (teacher, student) pairs per run.
        restarts: independent runs; the best-scoring table is returned.
        n_inputs, teacher_hidden, n_outputs, input_scale, n_samples: the
            random-teacher task (see :class:`~spiking_synrl.tasks.RandomTeacher`).
        student_hidden: hidden layer sizes of the student (tanh, tanh output).
        epsilon, lr, gamma, alpha_s: the adaptive rule's parameters.
        score_steps, score_tasks: size of the :func:`policy_score` used to choose
            among restarts.
        progress: show a progress bar (tqdm).

    Returns:
        The learned ``(81, 3)`` Q-table.
    """
    owner = "learn_policy"
    seed = check_int(seed, "seed", owner, low=0)
    steps = check_int(steps, "steps", owner, low=1)
    episodes = check_int(episodes, "episodes", owner, low=1, high=steps)
    restarts = check_int(restarts, "restarts", owner, low=1)
    student = _sizes(student_hidden, "student_hidden")
    task_kw = {
        "n_inputs": check_int(n_inputs, "n_inputs", owner, low=1),
        "teacher_hidden": _sizes(teacher_hidden, "teacher_hidden"),
        "n_outputs": check_int(n_outputs, "n_outputs", owner, low=1),
        "input_scale": check_float(input_scale, "input_scale", owner, low=0.0),
        "n_samples": check_int(n_samples, "n_samples", owner, low=1),
    }
    rule_kw = {"alpha_s": alpha_s, "epsilon": epsilon, "lr": lr, "gamma": gamma}
    run_seeds, score_seed = np.random.SeedSequence(seed).spawn(2)
    seeds = [int(s.generate_state(1)[0]) for s in run_seeds.spawn(restarts)]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps * restarts, desc="learn_policy", unit="step")
    try:
        tables = [_learn_one(s, steps, episodes, task_kw, student, rule_kw, bar) for s in seeds]
    finally:
        if bar is not None:
            bar.close()
    if restarts == 1:
        return tables[0]
    score_at = int(score_seed.generate_state(1)[0])
    scores = [policy_score(q, seed=score_at, steps=score_steps, tasks=score_tasks) for q in tables]
    return tables[int(np.argmin(scores))]
