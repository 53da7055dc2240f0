"""``slamon db upgrade``: apply the database migrations."""

from __future__ import annotations

import argparse
import asyncio

from slamon.cli.common import Subparsers, load, with_config


def _cmd_db_upgrade(args: argparse.Namespace) -> int:
    from slamon.store import migrate
    from slamon.store.sql import Store

    config = load(args.config, offline=True)

    async def go() -> str | None:
        store = Store.from_url(config.store.url)
        try:
            await migrate.upgrade(store.engine)
            return await migrate.current_revision(store.engine)
        finally:
            await store.close()

    print(f"database at revision {asyncio.run(go())}")
    return 0


def add_parsers(sub: Subparsers) -> None:
    """``db upgrade``."""
    db = sub.add_parser("db", help="database maintenance")
    db_sub = db.add_subparsers(dest="db_command", required=True)
    up = with_config(db_sub.add_parser("upgrade", help="apply the migrations"))
    up.set_defaults(func=_cmd_db_upgrade)
