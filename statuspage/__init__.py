"""Rendering the public status page: a pure function of a snapshot and ``now``."""
