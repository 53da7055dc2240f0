"""Talking to monitored services: one module per probe type, and the scheduler.

Every probe type exports ``Settings`` (a frozen pydantic model) and
``async def probe(ctx, target, settings) -> Result``; ``probes.registry`` maps type
names to them, and ``probes.dispatch.run_check`` owns the timeout and turns any
exception into a failed Result.
"""
