"""Three engines, two agents, Mosquitto, PostgreSQL: SIGKILL and SIGTERM engines mid-stream.

``kill``: results flowing, a monitor fails, the engine holding the leader lease (and the
most shards) is SIGKILLed, later another; the monitor recovers; both restart. Asserted:
every result the agents spooled is stored exactly once; no monitor is stored unknown
where the results say what it was; each death's shards have a new owner within 15 s
(lease_ttl 2 s); the failing monitor produced exactly one firing and one resolved
notification (a retried delivery carries the same Idempotency-Key and counts once).

``rolling``: each engine in turn gets SIGTERM (a rolling upgrade) and restarts; the
handover time is printed, not asserted (a shared machine); nothing is lost, duplicated
or left unknown.

Bounded: each wait has a limit; each test takes one to three minutes.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.cluster_fleet import ClusterFleet, kill_scenario, rolling_scenario
from tests.conftest import port_open, require

pytestmark = [pytest.mark.slow, pytest.mark.mqtt, pytest.mark.postgres]


async def test_sigkill_the_leader_then_another_nothing_lost_nothing_told_twice(
    tmp_path: Path, fresh_pg: str
) -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    fleet = ClusterFleet(tmp_path, fresh_pg, lease_ttl=2.0, renew_every=0.5)
    try:
        await fleet.start()
        outcome = await kill_scenario(fleet)
    finally:
        await fleet.close()
    report = "\n".join(outcome.report)
    print(report)
    a = outcome.audit
    assert a.produced > 500, report
    assert (a.lost, a.duplicated, a.unexpected) == (0, 0, 0), report
    assert a.total("unknown_with_data") == 0, report
    assert a.total("nodata_as_known") == 0, report
    assert a.total("disagree") == 0, report
    assert outcome.failovers[0].leader, report  # the first one killed held the lead
    for f in outcome.failovers:
        assert f.reassigned_s <= 15, report
    assert outcome.told == ["firing", "resolved"], report


async def test_rolling_sigterm_of_each_engine_hands_over_and_loses_nothing(
    tmp_path: Path, fresh_pg: str
) -> None:
    require(port_open("127.0.0.1", 1883), "Mosquitto on 127.0.0.1:1883")
    fleet = ClusterFleet(tmp_path, fresh_pg, lease_ttl=2.0, renew_every=0.5)
    try:
        await fleet.start()
        outcome = await rolling_scenario(fleet)
    finally:
        await fleet.close()
    report = "\n".join(outcome.report)
    print(report)
    a = outcome.audit
    assert len(outcome.failovers) == 3
    assert a.produced > 500, report
    assert (a.lost, a.duplicated, a.unexpected) == (0, 0, 0), report
    assert a.total("unknown_with_data") == 0, report
    assert a.total("nodata_as_known") == 0, report
    assert a.total("disagree") == 0, report
    assert outcome.told == [], report  # nothing failed: nothing told
