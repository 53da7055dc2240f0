"""HTTP: one module per surface, each adding its routes to the aiohttp app.

``public`` (the status site, public JSON, /metrics, /healthz), ``push`` (heartbeats),
``admin`` (incidents, maintenance, alerts; admin token), ``reports`` (finance token),
``auth`` (bearer tokens), ``keys`` (the typed app key of the runtime). ``app`` puts
them together; nothing here imports ``app``.
"""
