r"""Feed-forward LIF recipe: Poisson inputs -> LIF hidden layer(s) -> LIF outputs.

Leaky integrate-and-fire neurons with delta (voltage-jump) synapses, in units of
the threshold (Gerstner et al., *Neuronal Dynamics*, 2014, §1.3):

.. math::

    \tau_m \frac{dv}{dt} = -v + I_{bias} + I_{noise}, \qquad
    v > v_{th} \Rightarrow \text{spike},\ v \leftarrow v_{reset}\ \text{for}\ t_{ref};
    \qquad \text{on a presynaptic spike: } v \leftarrow v + w_{scale}\, w

======================  ====================================================  ==========
symbol                  meaning                                               default
======================  ====================================================  ==========
``tau_m_ms``            membrane time constant                                10 ms
``v_th``                threshold (potentials are in units of it)             1
``v_reset``             reset potential (= rest)                              0
``refractory_ms``       absolute refractory period                            2 ms
``w_scale``             jump of ``v`` per spike and unit weight               1
``duration_ms``         simulated time per evaluation (one sample)            100 ms
``max_rate_hz``         Poisson rate of an input feature equal to 1           100 Hz
``output_rate_hz``      rate above baseline read as 1 (MSE) / one logit unit  100 Hz
``logit_gain``          (cross-entropy) logits = gain * rate / output_rate    4
``output_baseline_hz``  (MSE) output rate that reads as 0                     0 Hz
======================  ====================================================  ==========

A constant current :math:`I` above threshold makes the neuron fire at
:math:`r = 1/(t_{ref} + \tau_m \ln\frac{I}{I - v_{th}})` (e.g. 112 Hz at
:math:`I = 2`), so in the substrate's rate view (activity = mean current per unit
weight, :mod:`spiking_synrl.substrates.brian`) each layer behaves like a
thresholded, saturating ReLU of its mean input current.

The strings below are handed to :class:`spiking_synrl.substrates.brian.BrianFeedForward`,
which declares ``I_bias`` and ``I_noise`` and builds the Brian objects. This
module does not import brian2. Plain floats with unit suffixes (``tau_m_ms``) are
turned into quantities inside the strings (``tau_m_ms * ms``).

Reference: W. Gerstner, W. M. Kistler, R. Naud, L. Paninski, *Neuronal Dynamics*
(Cambridge UP, 2014), ch. 1; Brian2 documentation, "Models and neuron groups".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from spiking_synrl.errors import ConfigError
from spiking_synrl.tasks.base import Task
from spiking_synrl.validation import check_float, check_kwargs

__all__ = ["NEURON", "PARAMS", "SYNAPSE_ON_PRE", "build", "network"]

#: LIF neuron; ``I_bias`` and ``I_noise`` are declared by the substrate
NEURON = {
    "equations": "dv/dt = (-v + I_bias + I_noise) / (tau_m_ms * ms) : 1 (unless refractory)",
    "threshold": "v > v_th",
    "reset": "v = v_reset",
    "refractory": "refractory_ms * ms",
    "method": "exact",
}
#: delta synapse: every presynaptic spike moves v by w_scale * w
SYNAPSE_ON_PRE = "v_post += w_scale * w"
#: constants compiled into the network (plain floats, unit suffixes)
PARAMS = {"v_th": 1.0, "v_reset": 0.0, "refractory_ms": 2.0}


def network(
    n_inputs: int,
    hidden: Sequence[int] = (32,),
    n_outputs: int = 10,
    *,
    loss: str = "ce",
    output_rate_hz: float = 100.0,
    logit_gain: float = 4.0,
    output_baseline_hz: float = 0.0,
    v_th: float = PARAMS["v_th"],
    v_reset: float = PARAMS["v_reset"],
    refractory_ms: float = PARAMS["refractory_ms"],
    **params: Any,
) -> Any:
    """A :class:`~spiking_synrl.substrates.brian.BrianFeedForward` with this recipe.

    Args:
        loss: ``"ce"`` (outputs are logits, ``logit_gain`` per ``output_rate_hz``)
            or ``"mse"`` (output 1 = ``output_rate_hz``).
        output_rate_hz, logit_gain: the readout scale, see the module docstring.
        output_baseline_hz: (MSE) the output rate read as 0, so that an output
            is ``(rate - output_baseline_hz) / output_rate_hz``. A baseline above 0
            keeps outputs whose target is 0 firing, where their spike counts still
            respond to weight changes (silence is a flat region for every rule).
        v_th, v_reset, refractory_ms: neuron constants.
        **params: any other :class:`BrianFeedForward` argument (``device``,
            ``duration_ms``, ``batch_size``...).
    """
    from spiking_synrl.substrates.brian import BrianFeedForward

    owner = "The 'snn' network"
    check_kwargs(
        BrianFeedForward.__init__,
        params,
        owner,
        (
            "n_inputs",
            "hidden",
            "n_outputs",
            "neuron",
            "params",
            "on_pre",
            "readout_scale",
            "readout_offset",
        ),
    )
    rate = check_float(output_rate_hz, "output_rate_hz", owner, low=0.0)
    gain = check_float(logit_gain, "logit_gain", owner, low=0.0)
    baseline = check_float(output_baseline_hz, "output_baseline_hz", owner, low=0.0, closed="left")
    if loss not in ("ce", "mse"):
        raise ConfigError(f"The 'loss' parameter of {owner} must be 'ce' or 'mse'. Got {loss!r}.")
    duration_s = check_float(params.get("duration_ms", 100.0), "duration_ms", owner, low=0.0) / 1e3
    per_spike = 1.0 / (rate * duration_s)  # output 1 = output_rate_hz
    readout = per_spike * (gain if loss == "ce" else 1.0)
    constants = {"v_th": v_th, "v_reset": v_reset, "refractory_ms": refractory_ms}
    return BrianFeedForward(
        n_inputs,
        tuple(hidden),
        n_outputs,
        neuron=NEURON,
        on_pre=SYNAPSE_ON_PRE,
        params=constants,
        readout_scale=readout,
        readout_offset=baseline / rate if loss == "mse" else 0.0,
        **params,
    )


def build(task: Task, hidden: Sequence[int] = (32,), **params: Any) -> Any:
    """The feed-forward LIF network sized for a static ``task``."""
    if task.sequence:
        raise ConfigError(
            f"The feed-forward LIF network needs a static task; {task.name!r} is a "
            "sequence task (use the recurrent recipe, networks.lif_recurrent)."
        )
    return network(task.n_inputs, tuple(hidden), task.n_outputs, loss=task.loss_name, **params)
