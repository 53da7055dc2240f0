"""What follows a state change: alerts, incidents, maintenance, SLOs, notifications.

``alerts`` (slamon's own alerts and their evaluation), ``incidents`` (opened and resolved
as components change), ``maintenance`` (windows entered and left), ``slo`` and
``forecasts`` (budgets and breach forecasts), ``rules`` (Prometheus rules for the SLOs),
``operations`` (all of it wired to the engine), and ``notify`` (where messages go).
May import ``engine``, ``events``, ``store``, ``reports.gather`` and ``metrics``.
"""
