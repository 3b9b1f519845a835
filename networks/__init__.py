"""Concrete network recipes built on the spiking_synrl machinery.

Each recipe is a ``build(task, hidden, **params)`` function returning a substrate
sized for the task. The toolkit refers to them by ``"module:function"`` strings
(:data:`spiking_synrl.substrates.NETWORKS`), so this package imports spiking_synrl
and never the reverse.
"""
