"""The one compiled piece: SynapticQ's action-choice loop (everything else is in pyproject.toml).

``optional=True``: without a working C compiler the install still succeeds and
SynapticQ uses its numpy reference implementation (``synaptic_q.KERNEL`` says which).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "spiking_synrl.rules._synaptic_q_kernel",
            sources=["spiking_synrl/rules/_synaptic_q_kernel.c"],
            optional=True,
        )
    ]
)
