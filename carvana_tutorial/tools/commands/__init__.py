"""Sub-commands of ``carvana-tutorial``; see :mod:`carvana_tutorial.cli`."""
