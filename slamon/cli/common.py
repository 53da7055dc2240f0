"""What every command shares: the ``--config`` option and loading it (exit 2 when invalid)."""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING, Any

from slamon.config.common import ConfigError
from slamon.discovery.source import ConfigSource

if TYPE_CHECKING:
    from slamon.config.model import Config

DEFAULT_CONFIG = "config.toml"

Subparsers = Any  # argparse's _SubParsersAction is private; its add_parser is all we use


def load(path: str, *, offline: bool = False) -> Config:
    """The validated config at ``path``; print every error and exit 2 if it is invalid.

    ``offline``: the command does not run the service, so the service's own secrets
    (``${ENV}`` tokens and passwords) may be unset; the database URL may not.
    """
    return load_source(path, offline=offline)[1]


def load_source(path: str, *, offline: bool = False) -> tuple[ConfigSource, Config]:
    """The config at ``path`` (with discovered monitors) and where it came from.

    Prints every error and exits 2 if it is invalid. A discovery file with problems
    is reported and skipped; it does not make the config invalid.
    """
    source = ConfigSource(path)
    try:
        return source, source.load(offline=offline)
    except ConfigError as exc:
        print(f"slamon: invalid configuration in {path}:", file=sys.stderr)
        for line in exc.errors:
            print(f"  {line}", file=sys.stderr)
        raise SystemExit(2) from None


def with_config(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """``p`` with the ``--config`` option every command takes."""
    p.add_argument("--config", "-c", default=DEFAULT_CONFIG, help="path to config.toml")
    return p
