"""``slamon incident ...``: the incident timeline from a terminal, straight to the database.

The commands use the config's store URL, so they work whether or not ``slamon run``
is up; the running process sees the changes on its next read.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from probes.durations import parse_duration
from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.incidents import Impact, Incident, IncidentStatus
from sla_engine.time.intervals import Interval
from slamon.cli.common import Subparsers, load, with_config
from slamon.events import incident_json
from slamon.store import migrate
from slamon.store.incidents import IncidentNotFound, IncidentStore
from slamon.store.sql import Store

if TYPE_CHECKING:
    from slamon.config.model import Config


def _whoami() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _when(text: str | None) -> datetime:
    if text is None:
        return datetime.now(UTC)
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise SystemExit(f"slamon: {text!r}: give a time zone offset (Z or +01:00)")
    return value.astimezone(UTC)


def _show(incident: Incident, as_json: bool) -> None:
    if as_json:
        print(json.dumps(incident_json(incident), indent=2))
        return
    print(f"{incident.id}  {incident.title}")
    components = ", ".join(incident.component_ids)
    print(f"  impact {incident.impact}, status {incident.status}, components {components}")
    print(f"  opened       {incident.opened.isoformat()}")
    print(f"  acknowledged {incident.acknowledged.isoformat() if incident.acknowledged else '-'}")
    print(f"  resolved     {incident.resolved.isoformat() if incident.resolved else '-'}")
    if incident.excluded is not None:
        by, why = incident.excluded_by, incident.exclusion_reason
        print(f"  excluded     {incident.excluded} by {by}: {why}")
    for u in incident.updates:
        print(f"  {u.at.isoformat()}  {u.status:<13} {u.author}: {u.message}")


async def _with_store(config: Config, work: Callable[[IncidentStore], Awaitable[int]]) -> int:
    store = Store.from_url(config.store.url)
    try:
        await migrate.upgrade(store.engine)
        return await work(IncidentStore(store))
    finally:
        await store.close()


def _run(args: argparse.Namespace) -> int:
    config = load(args.config, offline=True)
    action = args.incident_command

    async def work(incidents: IncidentStore) -> int:
        try:
            if action == "list":
                now = datetime.now(UTC)
                window = Interval(now - timedelta(seconds=parse_duration(args.since)), now)
                found = await incidents.incidents(window, args.component or None)
                if args.json:
                    print(json.dumps([incident_json(i) for i in found], indent=2))
                for i in found if not args.json else []:
                    state = "open" if i.resolved is None else "resolved"
                    mark = f" [excluded: {i.excluded}]" if i.excluded else ""
                    print(
                        f"{i.id}  {i.opened.isoformat()}  {state:<8} {i.impact:<8} {i.title}{mark}"
                    )
                return 0
            if action == "show":
                found_one = await incidents.incident(args.id)
                if found_one is None:
                    print(f"slamon: no incident {args.id}", file=sys.stderr)
                    return 1
                _show(found_one, args.json)
                return 0
            if action == "open":
                known = {c.id for c in config.effective_components()}
                unknown = [c for c in args.component if c not in known]
                if unknown:
                    print(f"slamon: unknown component(s): {', '.join(unknown)}", file=sys.stderr)
                    return 2
                incident = await incidents.open(
                    title=args.title,
                    component_ids=args.component,
                    impact=Impact(args.impact),
                    opened=_when(args.at),
                    message=args.message or "",
                    author=args.author,
                    automatic=False,
                )
            elif action == "update":
                incident = await incidents.add_update(
                    args.id, IncidentStatus(args.status), args.message, args.author, _when(args.at)
                )
            elif action == "ack":
                incident = await incidents.acknowledge(args.id, args.author, _when(args.at))
            elif action == "resolve":
                incident = await incidents.resolve(
                    args.id, _when(args.at), args.message, args.author
                )
            elif action == "exclude":
                incident = await incidents.mark_excluded(
                    args.id, ExclusionKind(args.kind), args.reason, args.author
                )
            else:  # include: lift the exclusion
                incident = await incidents.mark_excluded(args.id, None, "", args.author)
        except IncidentNotFound:
            print(f"slamon: no incident {args.id}", file=sys.stderr)
            return 1
        except ValueError as exc:
            print(f"slamon: {exc}", file=sys.stderr)
            return 2
        _show(incident, args.json)
        return 0

    return asyncio.run(_with_store(config, work))


def add_parsers(sub: Subparsers) -> None:
    """Register ``slamon incident list|show|open|update|ack|resolve|exclude|include``."""
    incident = sub.add_parser("incident", help="list and annotate incidents")
    isub = incident.add_subparsers(dest="incident_command", required=True)
    me = _whoami()

    def cmd(name: str, help_text: str, *, needs_id: bool = True) -> argparse.ArgumentParser:
        p = with_config(isub.add_parser(name, help=help_text))
        if needs_id:
            p.add_argument("id", help="incident id (see `slamon incident list`)")
        p.add_argument("--json", action="store_true", help="print JSON")
        p.set_defaults(func=_run)
        return p

    listing = cmd("list", "incidents of a recent span", needs_id=False)
    listing.add_argument("--since", default="30d", help="how far back (default 30d)")
    listing.add_argument("--component", action="append", help="only this component (repeatable)")
    cmd("show", "one incident with its timeline")

    opening = cmd("open", "open an incident by hand", needs_id=False)
    opening.add_argument("--title", required=True)
    opening.add_argument("--component", action="append", required=True)
    opening.add_argument("--impact", choices=[i.value for i in Impact], default="minor")
    opening.add_argument("--message")
    opening.add_argument("--at", help="ISO 8601 time with offset (default now)")
    opening.add_argument("--author", default=me)

    update = cmd("update", "add a timeline entry (the first by a person acknowledges)")
    update.add_argument("--status", required=True, choices=[s.value for s in IncidentStatus])
    update.add_argument("--message", required=True)
    update.add_argument("--at", help="ISO 8601 time with offset (default now)")
    update.add_argument("--author", default=me)

    ack = cmd("ack", "acknowledge")
    ack.add_argument("--at", help="ISO 8601 time with offset (default now)")
    ack.add_argument("--author", default=me)

    res = cmd("resolve", "resolve by hand")
    res.add_argument("--message", required=True)
    res.add_argument("--at", help="ISO 8601 time with offset (default now)")
    res.add_argument("--author", default=me)

    exc = cmd("exclude", "exclude from SLA accounting (customer-caused, force majeure)")
    exc.add_argument("--kind", required=True, choices=[k.value for k in ExclusionKind])
    exc.add_argument("--reason", required=True)
    exc.add_argument("--author", default=me, help="who marks it (kept for finance)")

    inc = cmd("include", "lift an exclusion")
    inc.add_argument("--author", default=me)
