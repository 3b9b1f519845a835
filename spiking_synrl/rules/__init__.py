"""Learning rules, one interface for all (see :mod:`spiking_synrl.rules.base`).

=======================  ==========================================================
registry name            rule
=======================  ==========================================================
``synaptic-q``           :class:`SynapticQ` (Bhargava, Rezaei & Lankarany 2022)
``dopamine``             :class:`Dopamine` (reconstruction of Nambusubramaniyan et al. 2025)
``weight-perturbation``  :class:`WeightPerturbation`
``node-perturbation``    :class:`NodePerturbation`
``anp``                  :class:`ActivityNodePerturbation` (García Fernández et al. 2024)
``learned-feedback``     :class:`LearnedFeedback` (Lansdell, Prakash & Kording 2020)
``feedback-alignment``   :class:`FeedbackAlignment` (Lillicrap et al. 2016)
``backprop``, ``bptt``   :class:`Backprop`, :class:`BPTT` (gradient baselines)
=======================  ==========================================================
"""

from __future__ import annotations

import importlib
from typing import Any

from spiking_synrl.rules.base import LearningRule, apply_updates, synapse_keys
from spiking_synrl.validation import check_kwargs, check_name

__all__ = ["RULES", "LearningRule", "apply_updates", "load_rule_class", "make_rule", "synapse_keys"]

RULES: dict[str, str] = {
    "synaptic-q": "spiking_synrl.rules.synaptic_q:SynapticQ",
    "dopamine": "spiking_synrl.rules.dopamine:Dopamine",
    "weight-perturbation": "spiking_synrl.rules.weight_perturbation:WeightPerturbation",
    "node-perturbation": "spiking_synrl.rules.node_perturbation:NodePerturbation",
    "anp": "spiking_synrl.rules.node_perturbation:ActivityNodePerturbation",
    "learned-feedback": "spiking_synrl.rules.learned_feedback:LearnedFeedback",
    "feedback-alignment": "spiking_synrl.rules.learned_feedback:FeedbackAlignment",
    "backprop": "spiking_synrl.rules.backprop:Backprop",
    "bptt": "spiking_synrl.rules.backprop:BPTT",
}


def load_rule_class(name: str) -> Any:
    """The rule class registered under ``name`` (``_`` and ``-`` alike)."""
    key = check_name(name, "rule", RULES)
    module, cls = RULES[key].split(":")
    return getattr(importlib.import_module(module), cls)


def make_rule(name: str, **params: Any) -> LearningRule[Any]:
    """Build a rule by registry name; unknown parameters get a clear error.

    Examples:
        >>> make_rule("backprop", lr=0.05)
        Backprop(lr=0.05, optimizer='sgd', momentum=0.0)
    """
    cls = load_rule_class(name)
    check_kwargs(cls.__init__, params, cls.__name__)
    return cls(**params)
