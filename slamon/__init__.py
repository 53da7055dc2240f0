"""slamon's application shell: everything that does I/O, in rooms by capability.

``config`` (the TOML and its validation), ``cli`` (the commands), ``bus`` (results from
probes and agents to the engine), ``engine`` (confirmation, quorum, state changes),
``alerting`` (alerts, incidents, maintenance, SLOs, notifiers), ``reports`` (finance),
``site`` (the status site), ``web`` (HTTP), ``metrics`` (Prometheus collectors),
``store`` (SQL). ``events`` holds the values that cross rooms, ``runtime`` the typed
bag of one process's objects, and ``app`` is the one module that knows every room.
The core packages (``probes``, ``sla_engine``, ``statuspage``) never import slamon.
"""

__version__ = "0.1.0"
