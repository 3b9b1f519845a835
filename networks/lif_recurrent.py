r"""Recurrent LIF recipe for sequence tasks: input currents, recurrent spikes, linear readout.

Each hidden neuron integrates the input current of the current input step, its
bias, node noise and the spikes of the other hidden neurons (Gerstner et al.,
*Neuronal Dynamics*, 2014, §1.3 and ch. 12):

.. math::

    \tau_m \frac{dv_j}{dt} = -v_j + I^{in}_j(t) + I^{bias}_j + I^{noise}_j(t),
    \qquad I^{in}_j(t) = \sum_i W_{ij}\, u_i(t)

    v_j > v_{th} \Rightarrow \text{spike},\ v_j \leftarrow v_{reset}\ \text{for}\ t_{ref};
    \qquad \text{spike of } i:\ v_j \leftarrow v_j + w_{scale} R_{ij}

    y_t = a(t_{end})\, V + c, \qquad
    a_j(t) = \frac{w_{scale}\,\tau_m}{\tau_r} \sum_{t^f_j \le t} e^{-(t - t^f_j)/\tau_r}

=================  ======================================================  =========
symbol             meaning                                                 default
=================  ======================================================  =========
``tau_m_ms``       membrane time constant                                  10 ms
``v_th``           threshold (potentials are in units of it)               1
``v_reset``        reset potential (= rest)                                0
``refractory_ms``  absolute refractory period                              2 ms
``w_scale``        jump of ``v`` per recurrent spike and unit weight       1
``step_ms``        duration of one input step (input held constant)        10 ms
``trace_tau_ms``   :math:`\tau_r`, time constant of the readout filter     20 ms
``rec_gain``       initial recurrent weights :math:`\mathcal N(0, g^2/H)`  0.5
=================  ======================================================  =========

:math:`u(t)` is a ``TimedArray`` (one value per input step), :math:`W` (``"in->hid"``)
and :math:`R` (``"hid->hid"``) are Brian ``Synapses``, :math:`V` (``"hid->out"``) is
applied in numpy to the filtered spike trains sampled at the end of each step.
``I_in``, ``I_bias`` and ``I_noise`` are declared by
:class:`spiking_synrl.substrates.brian.BrianRecurrent`. The input current varies
in time, so the integration method is exponential Euler. This module does not
import brian2.

Reference: W. Gerstner, W. M. Kistler, R. Naud, L. Paninski, *Neuronal Dynamics*
(Cambridge UP, 2014); Brian2 documentation, "Input stimuli" (``TimedArray``) and
"Synapses" (summed variables).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spiking_synrl.errors import ConfigError
from spiking_synrl.tasks.base import Task
from spiking_synrl.validation import check_kwargs

__all__ = ["NEURON", "PARAMS", "SYNAPSE_ON_PRE", "build", "network"]

#: LIF neuron; ``I_in``, ``I_bias`` and ``I_noise`` are declared by the substrate
NEURON = {
    "equations": (
        "dv/dt = (-v + I_in + I_bias + I_noise) / (tau_m_ms * ms) : 1 (unless refractory)"
    ),
    "threshold": "v > v_th",
    "reset": "v = v_reset",
    "refractory": "refractory_ms * ms",
    "method": "exponential_euler",
}
#: recurrent delta synapse
SYNAPSE_ON_PRE = "v_post += w_scale * w"
#: constants compiled into the network (plain floats, unit suffixes)
PARAMS = {"v_th": 1.0, "v_reset": 0.0, "refractory_ms": 2.0}


def network(
    n_inputs: int,
    n_hidden: int = 64,
    n_outputs: int = 1,
    *,
    v_th: float = PARAMS["v_th"],
    v_reset: float = PARAMS["v_reset"],
    refractory_ms: float = PARAMS["refractory_ms"],
    **params: Any,
) -> Any:
    """A :class:`~spiking_synrl.substrates.brian.BrianRecurrent` with this recipe.

    Args:
        v_th, v_reset, refractory_ms: neuron constants.
        **params: any other :class:`BrianRecurrent` argument (``device``,
            ``step_ms``, ``batch_size``...).
    """
    from spiking_synrl.substrates.brian import BrianRecurrent

    check_kwargs(
        BrianRecurrent.__init__,
        params,
        "The 'snn' network",
        ("n_inputs", "n_hidden", "n_outputs", "neuron", "params", "on_pre"),
    )
    constants = {"v_th": v_th, "v_reset": v_reset, "refractory_ms": refractory_ms}
    return BrianRecurrent(
        n_inputs,
        n_hidden,
        n_outputs,
        neuron=NEURON,
        on_pre=SYNAPSE_ON_PRE,
        params=constants,
        **params,
    )


def build(task: Task, hidden: Sequence[int] = (64,), **params: Any) -> Any:
    """The recurrent LIF network sized for a sequence ``task`` (one hidden layer)."""
    if len(hidden) != 1:
        raise ConfigError(
            "The 'hidden' parameter of the recurrent snn network must be one layer size, "
            f"e.g. [64]. Got {list(hidden)!r} instead."
        )
    if not task.sequence:
        raise ConfigError(
            f"The recurrent LIF network needs a sequence task; {task.name!r} is static "
            "(use the feed-forward recipe, networks.lif_feedforward)."
        )
    return network(task.n_inputs, int(hidden[0]), task.n_outputs, **params)
