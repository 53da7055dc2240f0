"""``slamon statuspage build``: render the public site from the store into a folder."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping
from datetime import UTC, datetime

from slamon.cli.common import Subparsers, load, with_config


def _cmd_statuspage_build(args: argparse.Namespace) -> int:
    from slamon.site.build import render_from_store
    from slamon.site.folder import SiteFolderError, write_site
    from slamon.store import migrate
    from slamon.store.sql import Store
    from statuspage.render import PageRenderer

    config = load(args.config, offline=True)
    out = args.out or config.statuspage.output or "site"

    async def go() -> Mapping[str, bytes]:
        store = Store.from_url(config.store.url)
        try:
            await migrate.upgrade(store.engine)
            return await render_from_store(config, store, PageRenderer(), datetime.now(UTC))
        finally:
            await store.close()

    files = asyncio.run(go())
    try:
        build = write_site(files, out)
    except SiteFolderError as exc:
        print(f"slamon: {exc}", file=sys.stderr)
        return 2
    size = sum(len(b) for b in files.values())
    print(f"{out} -> {build}: {len(files)} files, {size} bytes")
    return 0


def add_parsers(sub: Subparsers) -> None:
    """``statuspage build``."""
    page = sub.add_parser("statuspage", help="the public status site")
    page_sub = page.add_subparsers(dest="statuspage_command", required=True)
    build = with_config(
        page_sub.add_parser("build", help="render the site from the store into a folder")
    )
    build.add_argument(
        "--out", help="folder (a link swapped atomically) [statuspage.output, else ./site]"
    )
    build.set_defaults(func=_cmd_statuspage_build)
