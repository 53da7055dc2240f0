"""``slamon run``, ``slamon engine`` and ``slamon check-config``: the serving process."""

from __future__ import annotations

import argparse
import logging
import sys

from slamon.cli.common import Subparsers, load, with_config


def _cmd_check_config(args: argparse.Namespace) -> int:
    config = load(args.config)
    print(f"{args.config}: ok, {len(config.monitors)} monitors")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import uvloop
    from aiohttp import web

    from slamon.app import build_runtime, create_app, tune_gc

    config = load(args.config)
    host = args.host or config.server.host
    port = args.port if args.port is not None else config.server.port
    app = create_app(build_runtime(config))
    logging.getLogger("slamon").info(
        "slamon: %d monitors, store %s, serving http://%s:%d/",
        len(config.monitors),
        config.store.url.split("://")[0],
        host,
        port,
    )

    async def settle(_app: web.Application) -> None:
        tune_gc()  # after the runtime started: what exists now lives for the process

    app.on_startup.append(settle)
    # uvloop: measured ~30% less CPU per HTTP check than asyncio's loop (bench/).
    web.run_app(
        app,
        host=host,
        port=port,
        print=None,
        access_log=None,
        loop=uvloop.new_event_loop(),
    )
    return 0


def _cmd_engine(args: argparse.Namespace) -> int:
    config = load(args.config)
    if config.bus.kind != "mqtt":
        print(
            f'slamon: {args.config}: bus.kind must be "mqtt" for `slamon engine` '
            "(use `slamon run` for a single process)",
            file=sys.stderr,
        )
        return 2
    return _cmd_run(args)


def add_parsers(sub: Subparsers) -> None:
    """``run``, ``engine`` and ``check-config``."""
    run = with_config(sub.add_parser("run", help="probe, store, serve the page and metrics"))
    run.add_argument("--host", help="listen address (overrides server.host)")
    run.add_argument("--port", type=int, help="listen port (overrides server.port)")
    run.set_defaults(func=_cmd_run)

    engine = with_config(
        sub.add_parser("engine", help="like run, for bus.kind = mqtt: ingest from agents")
    )
    engine.add_argument("--host", help="listen address (overrides server.host)")
    engine.add_argument("--port", type=int, help="listen port (overrides server.port)")
    engine.set_defaults(func=_cmd_engine)

    check = with_config(sub.add_parser("check-config", help="validate the config and exit"))
    check.set_defaults(func=_cmd_check_config)
