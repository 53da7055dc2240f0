"""The status site: computed from the store and the engine, rendered, published.

``views`` reads the inputs and computes the snapshot, ``build`` renders one build,
``worker`` does it in a lower-priority process for large sites, ``publisher`` keeps
the running service's copy fresh, ``folder`` writes a build atomically to disk.
"""
