r"""Synaptic-level Q-learning: every synapse is an agent sharing one Q-table.

Each synapse :math:`w_k` moves by an action :math:`a_t \in \{-\alpha_s, 0, +\alpha_s\}`
chosen :math:`\epsilon`-greedily from one Q-table shared by all synapses; the only
feedback is one global binary reward:

.. math::

    s_t = (R_{t-2}, R_{t-1}, a_{t-2}, a_{t-1}), \qquad
    a_t = \begin{cases} \mathcal U\{-1, 0, +1\} & \text{with probability } \epsilon \\
          \arg\max_a Q(s_t, a) & \text{otherwise} \end{cases}

    w_k \leftarrow w_k + \alpha_s\, a_t \quad (2\alpha_s \text{ for bias weights}), \qquad
    R_t = \operatorname{sign}(L_{t-1} - L_t) \quad (R_t = -1 \text{ on a tie})

    Q(s_t, a_t) \leftarrow Q(s_t, a_t)
        + \alpha \big[R_t + \gamma \max_{a'} Q(s_{t+1}, a') - Q(s_t, a_t)\big]
    \quad \text{(adaptive mode only, once per synapse and step)}

==========================  ================  ===========================================
symbol                      code              meaning
==========================  ================  ===========================================
:math:`\alpha_s`            ``alpha_s``       synaptic step ("synaptic learning rate")
:math:`\epsilon`            ``epsilon``       exploration probability
:math:`\alpha`              ``lr``            Q-learning rate (adaptive mode)
:math:`\gamma`              ``gamma``         discount (adaptive mode)
:math:`Q`                   ``state.q``       ``(81, 3)`` table, row
                                              ``s = 27 r_2 + 9 r_1 + 3 a_2 + a_1``,
                                              column ``a`` (codes: action 0/1/2 =
                                              -/0/+, reward 0/1/2 = -1/neutral/+1)
:math:`a_{t-2}, a_{t-1}`    ``state.hist``    one uint8 per synapse, ``4 a_2 + a_1``
:math:`R_{t-2}, R_{t-1}`    ``state.r2, r1``  the two last global rewards (shared)
:math:`L_t`                 ``prev_loss``     mean loss of the evaluated candidate on
                                              the step's batch
==========================  ================  ===========================================

Every synapse starts with the null action as its history and the rewards start
"neutral", as in the authors' code. One step of the rule is one turn of the
authors' loop: evaluate the *current* weights (the proposal's only candidate is
the weights themselves), turn the loss change into the reward of the action
applied last, update the table, then choose and return the next action as the
weight update. The first step only measures the initial loss: it has no action to
reward, so adaptive mode skips its Q-update and its reward counts as neutral.

*Static* mode uses a frozen table (by default the policy shipped with the package,
learned with :func:`spiking_synrl.policy.learn_policy`); *adaptive* mode keeps
learning it (from zeros by default) while the network trains.

Implementation notes. All synapses with the same :math:`(s_t, a_t)` share the
reward and the next state :math:`s_{t+1} = (R_{t-1}, R_t, a_{t-1}, a_t)`, hence the
target, so the :math:`n` per-synapse updates of one step collapse to
:math:`Q \leftarrow y + (1-\alpha)^n (Q - y)` with :math:`y` the target computed
from the table at the start of the step. (The authors' sequential loop reads the
table as it changes, which matters only when :math:`R_{t-2} = R_{t-1} = R_t`, where
one pair's next state is another pair's state; ours does not depend on the order
in which synapses are visited.) The count
:math:`n` per :math:`(s, a)` follows from the number of synapses per history
(kept in the state) and the few explorers, so no pass over the synapses is needed.
Exploration is drawn as *deviators* (see ``_draw_deviators``): the synapses whose
action differs from the greedy one, the same law as one Bernoulli(:math:`\epsilon`)
explorer per synapse at the cost of about :math:`2\epsilon n/3` draws instead of
:math:`n`. Who deviates, and how, does not depend on the reward, so ``ask`` draws
it (``tell`` takes no generator) and ``tell`` fills in the greedy actions of
everyone else. Both per-synapse loops, drawing the deviators and choosing every
action, are compiled C (``_synaptic_q_kernel.c``, built at install) when a
compiler was found, with numpy references that give the same arrays from the same
random stream (:data:`KERNEL` says which runs).

Reference: A. Bhargava, M. R. Rezaei, M. Lankarany, "Gradient-free neural network
training via synaptic-level reinforcement learning", AppliedMath 2(2):185-195
(2022), arXiv:2105.14383; code ``github.com/amanb2000/SynRL`` (``SynRLv6.jl``).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from spiking_synrl.errors import ConfigError
from spiking_synrl.rules.base import LearningRule, synapse_keys
from spiking_synrl.types import Capability, Evaluation, Proposal, Weights
from spiking_synrl.validation import check_array, check_float, check_int, check_options

try:  # the compiled loops (setup.py); absent when the install had no C compiler
    from spiking_synrl.rules import _synaptic_q_kernel
except ImportError:  # pragma: no cover - depends on the install
    _synaptic_q_kernel = None

__all__ = [
    "KERNEL",
    "N_ACTIONS",
    "N_STATES",
    "SynapticQ",
    "SynapticQState",
    "q_update",
    "state_index",
]

#: action codes (``w += (a - 1) * alpha_s``) and reward codes (``R = r - 1``)
DEC, NULL, INC = 0, 1, 2
R_NEG, R_NEUTRAL, R_POS = 0, 1, 2
N_STATES, N_ACTIONS = 81, 3
#: per-synapse history code ``4 a_2 + a_1`` of the 9 (a_2, a_1) pairs, in row order
_HCODES = np.array([4 * a2 + a1 for a2 in range(3) for a1 in range(3)], dtype=np.uint8)
_INITIAL_HIST = 4 * NULL + NULL
#: synapses per block of deviator draws
_CHUNK = 1 << 16
#: what runs the per-synapse loops: "compiled" (C, built at install) or "numpy"
#: (the reference, used when no compiler was found); both give the same arrays
KERNEL = "numpy" if _synaptic_q_kernel is None else "compiled"
_A2, _A1, _A = np.indices((3, 3, 3))  # (a_{t-2}, a_{t-1}, a_t) of each count


def state_index(r2: int, r1: int, a2: int, a1: int) -> int:
    """Row of the Q-table for rewards ``(R_{t-2}, R_{t-1})`` and actions ``(a_{t-2}, a_{t-1})``.

    All arguments are codes in ``{0, 1, 2}`` (reward -1/neutral/+1; action -/0/+).
    """
    return 27 * r2 + 9 * r1 + 3 * a2 + a1


@dataclass(frozen=True, eq=False)
class SynapticQState:
    """Everything SynapticQ changes while training.

    Attributes:
        hist: one uint8 per synapse, ``4 a_{t-1} + a_t``: its last two actions, the
            latest (``a_t``) applied but not yet rewarded. All synaptic keys are
            concatenated in sorted-key order (C order within a key).
        counts: ``(3, 3, 3)`` number of synapses (all keys) per
            ``(a_{t-2}, a_{t-1}, a_t)``: the latest action and the history it was
            chosen from, all :func:`q_update` needs once its reward is known;
            ``counts.sum(axis=0)`` counts the synapses per history code.
        q: ``(81, 3)`` the shared Q-table.
        r2: reward code of the step before ``r1`` (0, 1, 2 = -1, neutral, +1).
        r1: reward code of the last rewarded step; ``(r2, r1)`` is the reward part
            of the state in which the latest action was chosen.
        prev_loss: the loss of the last evaluated weights (None before the first step).
        step: number of completed steps.
    """

    hist: np.ndarray
    counts: np.ndarray
    q: np.ndarray
    r2: int
    r1: int
    prev_loss: float | None
    step: int


def q_update(
    q: np.ndarray,
    counts: np.ndarray,
    r2: int,
    r1: int,
    reward: int,
    lr: float,
    gamma: float,
) -> np.ndarray:
    """One step of shared Q-learning, all synapses' transitions at once.

    Args:
        q: ``(81, 3)`` table before the step (not modified).
        counts: ``(3, 3, 3)`` number of synapses per ``(a_{t-2}, a_{t-1}, a_t)``.
        r2, r1: reward codes of the state the actions were taken in.
        reward: reward code of this step, ``R_POS`` or ``R_NEG``.
        lr, gamma: Q-learning rate and discount.

    Returns:
        The new table: each ``(s, a)`` with ``n`` synapses moved ``n`` times towards
        its target ``R + gamma max_a' Q(s', a')`` (targets from ``q``).
    """
    rows = 27 * r2 + 9 * r1 + 3 * _A2 + _A1
    next_rows = 27 * r1 + 9 * reward + 3 * _A1 + _A
    target = (reward - 1) + gamma * q[next_rows].max(axis=-1)
    old = q[rows, _A]
    new_q = q.copy()
    # n updates towards a fixed target: y + (1 - lr)^n (Q - y); untouched if n = 0
    moved = target + (1.0 - lr) ** counts * (old - target)
    new_q[rows, _A] = np.where(counts > 0, moved, old)
    return new_q


def _check_schedule(value: Any, owner: str) -> tuple[tuple[int, float], ...]:
    """``{step: alpha_s}`` or ``[(step, alpha_s), ...]`` -> sorted pairs."""
    if value is None:
        return ()
    pairs = list(value.items()) if isinstance(value, Mapping) else value
    msg = (
        f"The 'alpha_s_schedule' parameter of {owner} must be a dict {{step: alpha_s}} or a "
        f"list of (step, alpha_s) pairs with steps >= 1 and alpha_s > 0. Got {value!r} instead."
    )
    try:
        out = []
        for step, alpha in pairs:
            out.append(
                (
                    check_int(int(step) if isinstance(step, str) else step, "step", owner, low=1),
                    check_float(alpha, "alpha_s", owner, low=0.0),
                )
            )
    except (TypeError, ValueError):
        raise ConfigError(msg) from None
    return tuple(sorted(out))


_THREAD_SCRATCH = threading.local()


def _identity_scratch() -> np.ndarray:
    """This thread's ``arange(_CHUNK)`` (int32) for ``_synaptic_q_kernel.sample``,
    which leaves it as it found it. Kept rather than rebuilt: a fresh 256 KB array
    each step costs as much as all the draws."""
    scratch = getattr(_THREAD_SCRATCH, "identity", None)
    if scratch is None:
        scratch = _THREAD_SCRATCH.identity = np.arange(_CHUNK, dtype=np.int32)
    return scratch


def _draw_deviators(
    n: int, epsilon: float, rng: np.random.Generator, kernel: str | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The synapses that leave their greedy action this step: ``(pos, bit)``.

    An explorer draws its action uniformly, so with probability 1/3 it takes the
    greedy action anyway and cannot be told from a greedy synapse. The same law
    is therefore: each synapse independently *deviates* with probability
    ``2 epsilon / 3`` and then takes one of its two non-greedy actions,
    ``(greedy + 1 + bit) mod 3`` with a fair ``bit``. Deviators are drawn block by
    block as a Binomial number of distinct uniform positions (the law of one
    Bernoulli per synapse, at the cost of ~``2 epsilon n / 3`` draws instead of
    ``n``). None of this depends on the reward, so ``ask`` draws it (``tell``
    takes no generator) and ``tell`` fills in the actions once the greedy ones
    are known.

    The positions are ``rng.choice(size, k, replace=False)``. For the large
    blocks, where numpy shuffles the tail of a fresh ``arange(size)``, the compiled
    ``_synaptic_q_kernel.sample`` makes the same draws from the same bit generator
    without building that array (``kernel``, default :data:`KERNEL`, picks; the
    results are identical, which the tests check against numpy).

    Returns:
        pos: int64 flat positions, distinct, block after block of :data:`_CHUNK`
        synapses (in no order within a block); bit: uint8, 0 or 1, one per position.
    """
    p = 2.0 * epsilon / 3.0
    if p == 0.0 or n == 0:
        return np.empty(0, np.int64), np.empty(0, np.uint8)
    compiled = (kernel or KERNEL) == "compiled"
    bitgen = rng.bit_generator
    scratch = _identity_scratch() if compiled else None
    pos = []
    for start in range(0, n, _CHUNK):
        size = min(_CHUNK, n - start)
        k = rng.binomial(size, p)
        # numpy's own test for its tail-shuffle branch (Generator.choice, shuffle=True)
        if compiled and size > 10_000 and k > size // 50:
            block = np.empty(k, dtype=np.int64)
            with bitgen.lock:
                _synaptic_q_kernel.sample(bitgen.capsule, scratch, size, start, block)
        else:
            block = rng.choice(size, size=k, replace=False) + start
        pos.append(block)
    pos_all = np.concatenate(pos)
    return pos_all, rng.integers(0, 2, size=pos_all.size, dtype=np.uint8)


def _choose_numpy(
    hist: np.ndarray,
    greedy: np.ndarray,
    pos: np.ndarray,
    bit: np.ndarray,
    stops: np.ndarray,
    alphas: np.ndarray,
    delta: np.ndarray,
    nxt: np.ndarray,
    by_code: np.ndarray,
) -> None:
    """Every synapse's next action, written into ``delta``, ``nxt`` and ``by_code``.

    The reference implementation: ``_synaptic_q_kernel.choose`` (C, built by
    setup.py) computes the same arrays bit for bit, several times faster.

    Args:
        hist: flat uint8 history codes ``4 a_{t-1} + a_t`` of all synapses.
        greedy: ``(9,)`` uint8 greedy action per history, rows ``3 a_{t-1} + a_t``.
        pos, bit: the deviators from :func:`_draw_deviators`.
        stops: int64 end (exclusive) of each weight array in the flat order.
        alphas: float64 step size of each weight array.
        delta: out, float64 weight step ``alpha (a_{t+1} - 1)`` of every synapse.
        nxt: out, uint8 next history code ``4 a_t + a_{t+1}``.
        by_code: int64 ``(32,)``, incremented: deviators per ``2 h + bit``.
    """
    action = greedy[3 * (hist >> 2) + (hist & 3)]
    h = hist[pos]
    action[pos] = (greedy[3 * (h >> 2) + (h & 3)] + 1 + bit) % 3
    np.bitwise_or((hist & 3) << 2, action, out=nxt)
    starts = np.concatenate([[0], stops[:-1]])
    for start, stop, alpha in zip(starts, stops, alphas, strict=True):
        np.multiply(action[start:stop].view(np.int8) - 1, alpha, out=delta[start:stop])
    by_code += np.bincount(2 * h + bit, minlength=32)


def _choose(
    hist: np.ndarray,
    greedy: np.ndarray,
    deviators: tuple[np.ndarray, np.ndarray],
    stops: np.ndarray,
    alphas: np.ndarray,
    kernel: str | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(delta, nxt, by_code)`` of :func:`_choose_numpy`, computed by ``kernel``
    (default: :data:`KERNEL`)."""
    delta = np.empty(hist.size)
    nxt = np.empty(hist.size, dtype=np.uint8)
    by_code = np.zeros(32, dtype=np.int64)
    compiled = (kernel or KERNEL) == "compiled"
    choose = _synaptic_q_kernel.choose if compiled else _choose_numpy
    choose(hist, greedy, *deviators, stops, alphas, delta, nxt, by_code)
    return delta, nxt, by_code


class SynapticQ(LearningRule[SynapticQState]):
    """Synapse-level epsilon-greedy Q-learning with one shared table.

    Args:
        alpha_s: synaptic step added to or subtracted from a weight (bias weights,
            ``"bias->*"``, move by ``2 alpha_s`` as in the authors' code).
        epsilon: probability that a synapse takes a uniformly random action (else
            the greedy one; ties go to the first action, decrement, like Julia's
            ``argmax`` in the authors' code).
        mode: ``"static"`` (frozen table) or ``"adaptive"`` (Q-learning while training).
        lr: Q-learning rate :math:`\\alpha` (adaptive mode).
        gamma: discount :math:`\\gamma` (adaptive mode).
        policy: the initial Q-table: a ``.npz`` path written by
            :func:`spiking_synrl.policy.save_policy`, ``"golden"`` (the authors'
            published greedy table, :data:`spiking_synrl.policy.GOLDEN_GREEDY`), or
            an ``(81, 3)`` array. None means the shipped default policy (static) or
            zeros (adaptive).
        alpha_s_schedule: optional ``{step: alpha_s}`` switches, e.g. ``{100000: 5e-5}``
            (from that 1-based step on); None keeps ``alpha_s``.

    Examples:
        >>> from spiking_synrl.testing import solve
        >>> solve(SynapticQ(alpha_s=0.02), steps=300) < 0.05
        True
    """

    name: ClassVar[str] = "synaptic-q"
    requires: ClassVar[frozenset[Capability]] = frozenset()
    finite_updates: ClassVar[bool] = True  # +-alpha_s or 0, alpha_s checked finite

    def __init__(
        self,
        alpha_s: float = 5e-3,
        epsilon: float = 0.1,
        mode: str = "static",
        lr: float = 0.01,
        gamma: float = 0.9,
        policy: str | os.PathLike[str] | np.ndarray | None = None,
        alpha_s_schedule: Mapping[int, float] | Sequence[tuple[int, float]] | None = None,
    ) -> None:
        owner = type(self).__name__
        self.alpha_s = check_float(alpha_s, "alpha_s", owner, low=0.0)
        self.epsilon = check_float(epsilon, "epsilon", owner, low=0.0, high=1.0, closed="both")
        self.mode = check_options(mode, "mode", owner, ("static", "adaptive"))
        self.lr = check_float(lr, "lr", owner, low=0.0, high=1.0, closed="right")
        self.gamma = check_float(gamma, "gamma", owner, low=0.0, high=1.0, closed="left")
        self.policy = policy
        self.alpha_s_schedule = alpha_s_schedule
        self._schedule = _check_schedule(alpha_s_schedule, owner)
        self._q0 = self._initial_table(policy, owner)

    def _initial_table(self, policy: Any, owner: str) -> np.ndarray:
        from spiking_synrl.policy import (
            DEFAULT_POLICY_PATH,
            GOLDEN_GREEDY,
            load_policy,
            table_from_greedy,
        )

        if policy is None:
            if self.mode == "adaptive":
                return np.zeros((N_STATES, N_ACTIONS))
            policy = DEFAULT_POLICY_PATH
        if isinstance(policy, str) and policy == "golden":
            return table_from_greedy(GOLDEN_GREEDY)
        if isinstance(policy, (str, os.PathLike)):
            return load_policy(policy)[0]
        return check_array(policy, "policy", owner, shape=(N_STATES, N_ACTIONS)).copy()

    def alpha_at(self, step: int) -> float:
        """The synaptic step used at 1-based step ``step`` (after schedule switches)."""
        alpha = self.alpha_s
        for switch, value in self._schedule:
            if step >= switch:
                alpha = value
        return alpha

    # -- the maths --------------------------------------------------------------
    def _init(self, weights: dict[str, np.ndarray], rng: np.random.Generator) -> SynapticQState:
        n_synapses = sum(int(np.size(weights[k])) for k in synapse_keys(weights))
        hist = np.full(n_synapses, _INITIAL_HIST, dtype=np.uint8)
        counts = np.zeros((3, 3, 3), dtype=np.int64)
        counts[NULL, NULL, NULL] = n_synapses
        return SynapticQState(hist, counts, self._q0.copy(), R_NEUTRAL, R_NEUTRAL, None, 0)

    def greedy_actions(self, state: SynapticQState) -> np.ndarray:
        """``(3, 3)`` greedy action code per ``(a_{t-1}, a_t)`` for the rewards ``(r2, r1)``."""
        start = state_index(state.r2, state.r1, 0, 0)
        return np.argmax(state.q[start : start + 9], axis=1).reshape(3, 3)

    def _ask(
        self, state: SynapticQState, weights: Weights, rng: np.random.Generator
    ) -> tuple[Proposal, SynapticQState]:
        keys = synapse_keys(weights)
        n = sum(int(np.size(weights[k])) for k in keys)
        if n != state.hist.size:
            raise ConfigError(
                f"{type(self).__name__}: the weights have {n} synapses but the state was "
                f"made for {state.hist.size}; call init first."
            )
        deviators = _draw_deviators(n, self.epsilon, rng)
        # the candidate is the current weights: this step measures them, tell moves them
        return Proposal((dict(weights),), private={"deviators": deviators}), state

    def _tell(
        self, state: SynapticQState, proposal: Proposal, evaluations: Sequence[Evaluation]
    ) -> tuple[dict[str, np.ndarray], SynapticQState, dict[str, float]]:
        loss = evaluations[0].mean_loss
        q, r2, r1 = state.q, state.r2, state.r1
        if state.prev_loss is None:
            reward = R_NEUTRAL  # the initial loss: no action to reward yet
        else:
            reward = R_POS if state.prev_loss > loss else R_NEG  # a tie is penalised
            if self.mode == "adaptive":
                q = q_update(q, state.counts, r2, r1, reward, self.lr, self.gamma)
            r2, r1 = r1, reward
        # the next action, from s = (r2, r1, a_{t-1}, a_t) with the updated table
        start = state_index(r2, r1, 0, 0)
        greedy = np.argmax(q[start : start + 9], axis=1).astype(np.uint8)
        alpha = self.alpha_at(state.step + 1)
        weights = proposal.candidates[0]
        keys = synapse_keys(weights)
        shapes = [np.shape(weights[k]) for k in keys]
        stops = np.cumsum([int(np.prod(s, dtype=np.int64)) for s in shapes], dtype=np.int64)
        alphas = np.array([2.0 * alpha if k.startswith("bias->") else alpha for k in keys])
        flat, nxt, by_code = _choose(
            state.hist, greedy, proposal.private["deviators"], stops, alphas
        )
        # synapses per (a_{t-1}, a_t, a_{t+1}): greedy for all but the deviators
        rows = np.arange(9)
        dev = by_code.reshape(16, 2)[_HCODES]  # (9 histories, bit)
        counts = np.zeros((9, 3), dtype=np.int64)
        counts[rows, greedy] = state.counts.sum(axis=0).reshape(-1) - dev.sum(axis=1)
        counts[rows, (greedy + 1) % 3] += dev[:, 0]
        counts[rows, (greedy + 2) % 3] += dev[:, 1]
        counts = counts.reshape(3, 3, 3)
        new_state = SynapticQState(
            hist=nxt,
            counts=counts,
            q=q,
            r2=r2,
            r1=r1,
            prev_loss=loss,
            step=state.step + 1,
        )
        per_action = counts.sum(axis=(0, 1)) / max(int(counts.sum()), 1)
        metrics = {
            "reward": float(reward - 1),
            "frac_dec": float(per_action[DEC]),
            "frac_null": float(per_action[NULL]),
            "frac_inc": float(per_action[INC]),
            "alpha_s": float(alpha),
        }
        deltas = np.split(flat, stops[:-1])
        updates = {k: d.reshape(s) for k, d, s in zip(keys, deltas, shapes, strict=True)}
        return updates, new_state, metrics
