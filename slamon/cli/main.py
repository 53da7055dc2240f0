"""The ``slamon`` command: the argument parser and its entry point.

Each command group lives in its own module with an ``add_parsers(sub)``; a command
imports its machinery only when it runs, so ``slamon report`` never loads the web server.
"""

from __future__ import annotations

import argparse
import logging
from collections.abc import Sequence

from slamon.cli import agent, db, incident, report, rules, run, statuspage, subscribers


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every subcommand."""
    parser = argparse.ArgumentParser(prog="slamon", description="Uptime and SLA monitor.")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug detail")
    sub = parser.add_subparsers(dest="command", required=True)
    for group in (run, agent, db, rules, incident, report, statuspage, subscribers):
        group.add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``slamon`` console script."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("alembic").setLevel(logging.WARNING)
    result: int = args.func(args)
    return result
