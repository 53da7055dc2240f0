"""slamon's application shell: config, CLI, store, bus, engine, metrics, web."""

__version__ = "0.1.0"
