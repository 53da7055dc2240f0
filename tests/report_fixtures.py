"""A small world for report tests: config, contracts, and a month of stored history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from probes.result import Result
from sla_engine.accounting.exclusions import ExclusionKind
from sla_engine.incidents import Impact
from sla_engine.time.states import State
from slamon.config.load import parse_config
from slamon.config.model import Config
from slamon.store.incidents import IncidentStore
from slamon.store.sql import IntervalChange, Store

# Fixed instants: June 2026 is long over, so reports are of a closed period.
NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def t(day: int, hour: int = 0, minute: int = 0, second: int = 0) -> datetime:
    return datetime(2026, 6, day, hour, minute, second, tzinfo=UTC)


def config_data(url: str) -> dict[str, Any]:
    mon = {"type": "http", "target": "http://127.0.0.1/"}
    tiers = [
        {"below": "99.99", "credit_percent": 10},
        {"below": "99.9", "credit_percent": 25},
        {"below": "99", "credit_percent": 50},
    ]
    return {
        "store": {"url": url},
        "server": {"finance_token": "fin-token", "admin_token": "adm-token"},
        "monitors": [{"id": m, **mon} for m in ("api-eu", "api-us", "web")],
        "components": [
            {"id": "api", "name": "API", "monitors": ["api-eu", "api-us"]},
            {"id": "website", "name": "Website", "monitors": ["web"]},
        ],
        "maintenance": [
            {
                "id": "mw-1",
                "title": "Database upgrade",
                "components": ["api"],
                "start": "2026-06-05T01:00:00+00:00",
                "end": "2026-06-05T01:30:00+00:00",
            }
        ],
        "contracts": [
            {
                "id": "acme-api",
                "customer": "ACME Corp",
                "customer_id": "C-1001",
                "components": ["api"],
                "target": "99.99",
                "timezone": "Europe/Oslo",
                "maintenance": "exclude_from_total",
                "unknown": "down",
                "tiers": tiers,
                "credit_cap_percent": "30",
                "monthly_fee": "2500.00",
                "currency": "EUR",
            },
            {
                "id": "globex-web",
                "customer": 'Globex, "West" division',
                "customer_id": "C-2002",
                "monitors": ["web"],
                "target": "99.9",
                "timezone": "America/New_York",
                "accounting": "minutes_any",
                "unknown": "exclude",
                "tiers": tiers,
                "monthly_fee": "1200",
                "currency": "USD",
            },
            {
                "id": "acme-latency",
                "customer": "ACME Corp",
                "customer_id": "C-1001",
                "monitors": ["api-eu"],
                "sli": "latency",
                "percentile": "95",
                "latency_limit": "300ms",
                "target": "95",
                "unknown": "exclude",
                "tiers": [{"below": "95", "credit_percent": 5}],
                "monthly_fee": "100000",
                "currency": "JPY",
            },
        ],
    }


def make_config(url: str) -> Config:
    return parse_config(config_data(url), {})


def _changes() -> list[IntervalChange]:
    c = IntervalChange
    return [
        c("api-eu", State.UP, t(1) - timedelta(days=2)),
        c("api-us", State.UP, t(1) - timedelta(days=2)),
        c("web", State.UP, t(1) - timedelta(days=2)),
        # api-eu down 01:00-02:00 on the 5th; maintenance covers 01:00-01:30.
        c("api-eu", State.DOWN, t(5, 1)),
        c("api-eu", State.UP, t(5, 2)),
        # Both API monitors down 10:00-10:20 on the 12th; 10:00-10:10 is customer-caused.
        c("api-eu", State.DOWN, t(12, 10)),
        c("api-us", State.DOWN, t(12, 10, 5)),
        c("api-eu", State.UP, t(12, 10, 20)),
        c("api-us", State.UP, t(12, 10, 20)),
        # api-us silent for 15 minutes on the 20th (no data: unknown).
        c("api-us", State.UNKNOWN, t(20, 3)),
        c("api-us", State.UP, t(20, 3, 15)),
        # web down 30.5 seconds across a minute boundary, and degraded for an hour.
        c("web", State.DOWN, t(8, 9, 59, 45)),
        c(
            "web",
            State.UP,
            t(
                8,
                10,
                0,
                15,
            ),
        ),
        c("web", State.DEGRADED, t(9, 14)),
        c("web", State.UP, t(9, 15)),
    ]


def _results() -> list[Result]:
    out = []
    for hour in range(24):
        at = t(3, hour, 30)
        for k in range(20):
            latency = 0.1 if k < 18 else 0.5
            out.append(Result("api-eu", "local", at + timedelta(seconds=k), State.UP, latency))
    return out


async def populate(store: Store) -> None:
    await store.write_batch(_results(), _changes(), {})
    await store_incidents(store)


async def late_outage(store: Store) -> None:
    """Data that arrives after finalization: web down 5 minutes on June 25th."""
    await store.write_batch(
        [],
        [
            IntervalChange("web", State.DOWN, t(25, 12)),
            IntervalChange("web", State.UP, t(25, 12, 5)),
        ],
        {},
    )


async def store_incidents(store: Store) -> None:
    """Two incidents on the API, the second marked customer-caused, as people would."""
    incidents = IncidentStore(store)
    await incidents.open(
        title="API errors",
        component_ids=["api"],
        impact=Impact.MAJOR,
        opened=t(12, 10),
        incident_id="inc-1",
    )
    await incidents.acknowledge("inc-1", "bob@example.com", t(12, 10, 3))
    await incidents.resolve("inc-1", t(12, 10, 20), "fixed", "bob@example.com")
    await incidents.open(
        title="Customer firewall blocked probes",
        component_ids=["api"],
        impact=Impact.MINOR,
        opened=t(12, 10),
        incident_id="inc-2",
    )
    await incidents.resolve("inc-2", t(12, 10, 10), "customer reverted", "bob@example.com")
    await incidents.mark_excluded(
        "inc-2",
        ExclusionKind.CUSTOMER_CAUSED,
        "customer firewall change, ticket 4411",
        "alice@example.com",
    )
