"""SLIs: SLOs, error budgets and burn rates, latency sketches, quality, incident response."""
