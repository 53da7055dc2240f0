"""``slamon subscribers list|export|delete``: the status page's subscribers, for admins.

Straight to the config's database, whether or not ``slamon run`` is up. Addresses are
personal data: ``export`` writes them for the admin who asked, ``delete`` removes a
subscriber by id, address or webhook URL (what a person asking to be forgotten gives).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path

from slamon.cli.common import Subparsers, load, with_config


def _run(args: argparse.Namespace) -> int:
    from slamon.store import migrate
    from slamon.store.sql import Store
    from slamon.store.subscribers import SubscriberStore, subscriber_json, subscribers_csv

    config = load(args.config)

    async def work() -> int:
        store = Store.from_url(config.store.url)
        try:
            await migrate.upgrade(store.engine)
            subscribers = SubscriberStore(store)
            found = await subscribers.all()
            if args.subscribers_command == "list":
                if args.json:
                    print(json.dumps([subscriber_json(s) for s in found], indent=2))
                    return 0
                for s in found:
                    scope = " ".join(s.components) or "(all components)"
                    print(
                        f"{s.id}  {s.kind:<7} {s.target}  {scope}  "
                        f"confirmed {s.confirmed_at.isoformat()}"
                    )
                print(f"{len(found)} subscriber(s)", file=sys.stderr)
                return 0
            if args.subscribers_command == "export":
                exported.append(subscribers_csv(found))
                exported.append(str(len(found)))
                return 0
            wanted = set(args.who)
            gone = [s for s in found if wanted & {s.id, s.email, s.webhook_url}]
            for s in gone:
                await subscribers.remove(s.id)
                print(f"deleted {s.id} ({s.kind})")
            missing = wanted - {v for s in gone for v in (s.id, s.email, s.webhook_url)}
            for who in sorted(missing):
                print(f"slamon: no subscriber {who}", file=sys.stderr)
            return 1 if missing else 0
        finally:
            await store.close()

    exported: list[str] = []
    code = asyncio.run(work())
    if exported:
        text, count = exported
        if args.output:
            Path(args.output).write_text(text, encoding="utf-8")
            print(f"{args.output}: {count} subscriber(s)", file=sys.stderr)
        else:
            sys.stdout.write(text)
    return code


def add_parsers(sub: Subparsers) -> None:
    """``subscribers list|export|delete``."""
    subs = sub.add_parser("subscribers", help="the status page's subscribers (admin)")
    ssub = subs.add_subparsers(dest="subscribers_command", required=True)
    listing = with_config(ssub.add_parser("list", help="every subscriber"))
    listing.add_argument("--json", action="store_true", help="print JSON")
    listing.set_defaults(func=_run)
    export = with_config(ssub.add_parser("export", help="every subscriber as CSV"))
    export.add_argument("-o", "--output", help="write to this file (default: stdout)")
    export.set_defaults(func=_run)
    delete = with_config(ssub.add_parser("delete", help="delete subscribers"))
    delete.add_argument("who", nargs="+", help="a subscriber's id, email address or webhook URL")
    delete.set_defaults(func=_run)
