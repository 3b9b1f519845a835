"""Exception hierarchy of spiking_synrl.

Every error the toolkit raises on purpose subclasses :class:`SynRLError`, so a
caller can catch the toolkit's own complaints apart from bugs (after
``gymnasium/error.py``). Each message names the parameter, what was expected
and what was given.
"""

from __future__ import annotations

__all__ = [
    "CapabilityError",
    "CheckpointError",
    "ConfigError",
    "DependencyNotInstalled",
    "NameNotFound",
    "NonFiniteLossError",
    "SynRLError",
    "WeightSpecError",
]


class SynRLError(Exception):
    """Base class of every error raised on purpose by spiking_synrl."""


class ConfigError(SynRLError, ValueError):
    """A parameter has the wrong type, range or value."""


class NameNotFound(ConfigError, KeyError):
    """A registry name (rule, task, network, device) does not exist."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0]) if self.args else ""


class WeightSpecError(ConfigError):
    """Weights do not match the substrate's weight specification."""


class CapabilityError(SynRLError):
    """A rule needs something (gradients, node noise) the substrate cannot give."""


class DependencyNotInstalled(SynRLError, ImportError):
    """An optional dependency is missing; the message gives the pip command."""


class CheckpointError(SynRLError):
    """A checkpoint is missing, truncated or altered."""


class NonFiniteLossError(SynRLError, FloatingPointError):
    """Training produced a NaN or infinite loss or weight."""
