"""Reports: a contract's period evaluated and explained, what-if cases, suggestions, forecasts.

The top floor of the engine: it may import every other part of ``sla_engine``.
"""
