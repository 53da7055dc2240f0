"""``slamon agent``: probe from one location and publish the results over MQTT."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from slamon.cli.common import Subparsers, load, with_config


def _cmd_agent(args: argparse.Namespace) -> int:
    import uvloop

    from slamon.bus.agent import run_agent

    config = load(args.config)
    if config.bus.kind != "mqtt":
        print(f'slamon: {args.config}: bus.kind must be "mqtt" for an agent', file=sys.stderr)
        return 2
    if args.location not in config.bus.locations:
        print(
            f"slamon: location {args.location!r} is not in bus.locations "
            f"({', '.join(config.bus.locations)})",
            file=sys.stderr,
        )
        return 2

    async def go() -> None:
        task = asyncio.current_task()
        assert task is not None
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, task.cancel)
        await run_agent(config, args.location, args.spool)

    try:
        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            runner.run(go())
    except asyncio.CancelledError:
        logging.getLogger("slamon.agent").info("agent stopped; the spool keeps what is unsent")
    return 0


def add_parsers(sub: Subparsers) -> None:
    """``agent``."""
    agent = with_config(sub.add_parser("agent", help="probe from one location, publish over MQTT"))
    agent.add_argument("--location", required=True, help="this agent's location id")
    agent.add_argument("--spool", help="on-disk buffer file (overrides agent.spool)")
    agent.set_defaults(func=_cmd_agent)
