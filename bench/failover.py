"""Failover bench: three cluster engines, two agents; SIGKILL and SIGTERM them mid-stream.

The longer version of tests/test_failover.py (tests/cluster_fleet.py), with the
production lease time by default (``--ttl 10``, renewed every ``ttl / 5``):

1. SIGKILL the engine holding the leader lease, later the one holding the most shards,
   while a monitor is failing; it recovers; both restart. Per death: seconds from the
   signal until every shard is held again by a live engine (by the database's clock:
   about the lease time), and the takers' ``slamon_shard_failover_seconds`` (from the
   lease's end to consuming).
2. SIGTERM each engine in turn and restart it (a rolling upgrade): the handover time.

At the end of each: results lost, duplicated, seconds stored unknown where the results
say what it was, and the notifications told (one firing and one resolved expected).
A private Mosquitto and a fresh PostgreSQL database each run.

    .venv/bin/python bench/failover.py [--ttl 10] [--ledger FILE] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest import create_pg_database, drop_pg_database  # bench/ingest.py
from ledger import record  # bench/ledger.py

from tests.brokers import PrivateBroker
from tests.cluster_fleet import ClusterFleet, Outcome, kill_scenario, rolling_scenario


async def one(
    opts: argparse.Namespace, workdir: Path, scenario: str
) -> tuple[Outcome, tuple[float, float]]:
    broker = PrivateBroker(workdir)
    broker.start()
    url = await create_pg_database()
    fleet = ClusterFleet(
        workdir,
        url,
        broker_port=broker.port,
        shards=opts.shards,
        lease_ttl=opts.ttl,
        renew_every=opts.ttl / 5,
        monitors=opts.monitors,
    )
    try:
        await fleet.start()
        load_before = os.getloadavg()[0]
        if scenario == "kill":
            outcome = await kill_scenario(fleet, settle=opts.settle)
        else:
            outcome = await rolling_scenario(fleet, settle=opts.settle)
        return outcome, (load_before, os.getloadavg()[0])
    finally:
        await fleet.close()
        broker.stop()
        await drop_pg_database(url)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--ttl", type=float, default=10.0, help="[cluster] lease_ttl, seconds")
    parser.add_argument("--shards", type=int, default=6)
    parser.add_argument("--monitors", type=int, default=30, help="TCP monitors (1 s interval)")
    parser.add_argument("--settle", type=float, default=10.0, help="seconds between faults")
    parser.add_argument("--ledger", help="append the figures to this ledger file")
    parser.add_argument("--quick", action="store_true", help="ttl 3 s, short pauses (make bench)")
    opts = parser.parse_args()
    if opts.quick:
        opts.ttl, opts.settle, opts.monitors = 3.0, 3.0, 12
    command = "bench/failover.py " + " ".join(sys.argv[1:])
    print(
        f"3 engines, {opts.shards} shards, lease_ttl {opts.ttl:g}s (renewed every "
        f"{opts.ttl / 5:g}s), {opts.monitors + 1} monitors at 1 s from 2 agents"
    )
    worst_kill = worst_term = 0.0
    lost = duplicated = 0
    unknown = 0.0
    told_ok = True
    for scenario in ("kill", "rolling"):
        with tempfile.TemporaryDirectory(prefix="slamon-failover-") as tmp:
            outcome, (before, after) = asyncio.run(one(opts, Path(tmp), scenario))
        print(f"{scenario}: load average {before:.2f} -> {after:.2f} ({os.cpu_count()} cores)")
        for line in outcome.report:
            print(f"  {line}")
        times = [f.reassigned_s for f in outcome.failovers]
        if scenario == "kill":
            worst_kill = max(times)
            told_ok = outcome.told == ["firing", "resolved"]
        else:
            worst_term = max(times)
        lost += outcome.audit.lost
        duplicated += outcome.audit.duplicated
        unknown += outcome.unknown_s
    print(
        f"worst: SIGKILL to shards held again {worst_kill:.2f}s (ttl {opts.ttl:g}s), "
        f"SIGTERM handover {worst_term:.2f}s; lost {lost}, duplicated {duplicated}, "
        f"unknown where results say {unknown:.3f}s; notifications "
        f"{'one firing, one resolved' if told_ok else 'NOT one firing and one resolved'}"
    )
    figures = [
        ("sigkill_reassign_s", worst_kill, "s", "<= 15", "lower", "none"),
        ("sigterm_handover_s", worst_term, "s", "<= 2", "lower", "cpu"),
        ("lost", lost, "results", "<= 0", "lower", "none"),
        ("duplicated", duplicated, "results", "<= 0", "lower", "none"),
        ("unknown_s", unknown, "s", "<= 0", "lower", "none"),
    ]
    for name, value, unit, goal, better, scales in figures:
        record(
            opts.ledger,
            f"failover.{name}",
            value,
            unit=unit,
            goal=goal,
            better=better,
            scales=scales,
            command=command,
        )


if __name__ == "__main__":
    main()
