"""The configuration: ``config.toml``'s shape, one module per section, and loading it.

``load`` reads, substitutes ``${ENV}`` (``env``), validates and cross-checks; ``model``
is the whole file; each other module is one section's models. Imports the value types
and settings models of ``probes`` and ``sla_engine``, nothing of the rest of slamon, and
no implementation: a notifier type is a name and a settings model here.
"""
