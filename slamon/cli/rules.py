"""``slamon rules``: Prometheus recording and alerting rules for every SLO."""

from __future__ import annotations

import argparse
import sys

from slamon.cli.common import Subparsers, load, with_config


def _cmd_rules(args: argparse.Namespace) -> int:
    from slamon.alerting.rules import render_rules

    config = load(args.config, offline=True)
    text = render_rules(config)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w", encoding="utf-8") as out:
            out.write(text)
        print(f"{args.output}: rules for {len(config.slos)} SLOs", file=sys.stderr)
    return 0


def add_parsers(sub: Subparsers) -> None:
    """``rules``."""
    rules = with_config(sub.add_parser("rules", help="Prometheus rules for every SLO"))
    rules.add_argument("--output", "-o", default="-", help="file to write (default stdout)")
    rules.set_defaults(func=_cmd_rules)
