"""Time: half-open intervals, calendar periods in a zone, states, recurring windows.

The ground floor: imports nothing of ``sla_engine`` but ``sla_engine.incidents``'s values.
"""
