"""spiking_synrl: learning rules a synapse or neuron could run, on rate and spiking nets."""
