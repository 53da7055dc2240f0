"""Fixed status-page snapshots for the golden, size, leak and browser tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sla_engine.incidents import (
    Impact,
    Incident,
    IncidentStatus,
    IncidentUpdate,
    MaintenanceWindow,
)
from sla_engine.time.states import State
from statuspage.customer import CustomerView
from statuspage.snapshot import (
    ComponentView,
    DayStat,
    IncidentView,
    LatencyPoint,
    MaintenanceView,
    PageSnapshot,
)

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
TODAY = date(2026, 11, 27)
DAY = 86400


def days(bad: dict[int, tuple[int, int, int]] | None = None, n: int = 90) -> tuple[DayStat, ...]:
    """``n`` days ending today; ``bad`` maps days-ago to (down, maintenance, unknown) s."""
    bad = bad or {}
    out = []
    for ago in range(n - 1, -1, -1):
        down, maint, unknown = bad.get(ago, (0, 0, 0))
        length = 12 * 3600 if ago == 0 else DAY  # today: measured until noon
        counted = length - maint - unknown
        percent = None if counted <= 0 else Decimal(100) * (1 - Decimal(down) / Decimal(counted))
        out.append(DayStat(TODAY - timedelta(days=ago), percent, down, 0, maint, unknown))
    return tuple(out)


def latency(seed: int, hours: int = 168) -> tuple[LatencyPoint, ...]:
    start = NOW.replace(minute=0) - timedelta(hours=hours - 1)
    out = []
    for h in range(hours):
        if (h + seed) % 53 == 0:
            out.append(LatencyPoint(start + timedelta(hours=h), None))
            continue
        base = 80 + (h * 7 + seed * 13) % 60 + (40 if (h // 24) % 3 == 0 else 0)
        out.append(LatencyPoint(start + timedelta(hours=h), float(base)))
    return tuple(out)


def component(
    i: int,
    state: State = State.UP,
    group: str = "",
    bad: dict[int, tuple[int, int, int]] | None = None,
) -> ComponentView:
    d = days(bad)
    return ComponentView(
        id=f"svc-{i:03d}",
        name=f"Service {i}",
        description="" if i % 3 else f"Public service number {i}",
        group=group,
        state=state,
        since=NOW - timedelta(hours=3 + i),
        days=d,
        uptime_90=Decimal("99.98") if bad else Decimal(100),
        uptime_30=Decimal("99.95") if bad else Decimal(100),
        latency=latency(i),
        response_ms=120.0 + i,
        members=2,
        members_down=2 if state is State.DOWN else 0,
        first_seen=NOW - timedelta(days=200),
    )


INCIDENT = Incident(
    id="inc-2026-11-27-api",
    title="Elevated error rates on the API",
    component_ids=("api",),
    impact=Impact.MAJOR,
    status=IncidentStatus.IDENTIFIED,
    opened=NOW - timedelta(minutes=50),
    acknowledged=NOW - timedelta(minutes=45),
    updates=(
        IncidentUpdate(
            NOW - timedelta(minutes=45),
            IncidentStatus.INVESTIGATING,
            "We are looking into errors on the API.",
            "oncall-alice",
        ),
        IncidentUpdate(
            NOW - timedelta(minutes=20),
            IncidentStatus.IDENTIFIED,
            "A faulty deploy was found and is being rolled back.",
            "oncall-alice",
        ),
    ),
)
RESOLVED = Incident(
    id="inc-2026-10-03-web",
    title="Website unreachable",
    component_ids=("web",),
    impact=Impact.CRITICAL,
    status=IncidentStatus.RESOLVED,
    opened=datetime(2026, 10, 3, 8, 10, tzinfo=UTC),
    resolved=datetime(2026, 10, 3, 8, 52, tzinfo=UTC),
    updates=(
        IncidentUpdate(
            datetime(2026, 10, 3, 8, 15, tzinfo=UTC),
            IncidentStatus.INVESTIGATING,
            "The website does not answer.",
            "bob",
        ),
        IncidentUpdate(
            datetime(2026, 10, 3, 8, 40, tzinfo=UTC),
            IncidentStatus.MONITORING,
            "The load balancer was restarted; watching.",
            "bob",
        ),
        IncidentUpdate(
            datetime(2026, 10, 3, 8, 52, tzinfo=UTC),
            IncidentStatus.RESOLVED,
            "Resolved.",
            "bob",
        ),
    ),
)
MAINT_NEXT = MaintenanceWindow(
    id="db-upgrade",
    title="Database upgrade",
    description="PostgreSQL moves to a new major version; writes pause for a few minutes.",
    component_ids=("api", "web"),
    start=datetime(2026, 11, 29, 2, 0, tzinfo=UTC),
    end=datetime(2026, 11, 29, 3, 0, tzinfo=UTC),
)
MAINT_NOW = MaintenanceWindow(
    id="cdn-move",
    title="CDN provider change",
    description="",
    component_ids=("cdn",),
    start=NOW - timedelta(minutes=30),
    end=NOW + timedelta(minutes=30),
)


def snapshot(language: str = "en") -> PageSnapshot:
    """A small page: groups, an incident, maintenance, a degraded and a silent component."""
    api = ComponentView(
        id="api",
        name="Public API",
        description="REST and GraphQL",
        group="Core",
        state=State.DOWN,
        since=NOW - timedelta(minutes=50),
        days=days({0: (3000, 0, 0), 12: (420, 0, 0), 40: (5, 3600, 0), 55: (4000, 0, 7200)}),
        uptime_90=Decimal("99.9012345"),
        uptime_30=Decimal("99.8765"),
        latency=latency(1),
        response_ms=143.0,
        members=3,
        members_down=1,
        first_seen=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    web = ComponentView(
        id="web",
        name="Website",
        description="",
        group="Core",
        state=State.UP,
        since=datetime(2026, 10, 3, 8, 52, tzinfo=UTC),
        days=days({55: (2520, 0, 0)}),
        uptime_90=Decimal("99.98"),
        uptime_30=Decimal(100),
        latency=latency(2),
        response_ms=88.0,
        first_seen=datetime(2026, 1, 5, 9, 0, tzinfo=UTC),
    )
    cdn = ComponentView(
        id="cdn",
        name="CDN",
        description="Static assets",
        group="Edge",
        state=State.MAINTENANCE,
        since=NOW - timedelta(minutes=30),
        days=days({0: (0, 1800, 0)}),
        uptime_90=Decimal(100),
        uptime_30=Decimal(100),
        latency=latency(3),
        response_ms=21.0,
    )
    search = ComponentView(
        id="search",
        name="Search",
        description="",
        group="Edge",
        state=State.DEGRADED,
        since=NOW - timedelta(hours=2),
        days=days({1: (100, 0, 0)}),
        uptime_90=Decimal("99.99"),
        uptime_30=Decimal("99.99"),
        latency=latency(4),
        response_ms=1900.0,
    )
    mail = ComponentView(
        id="mail",
        name="Email delivery",
        description="",
        group="",
        state=State.UNKNOWN,
        since=None,
        days=days(dict.fromkeys(range(60, 90), (0, 0, DAY))),
        uptime_90=Decimal(100),
        uptime_30=Decimal(100),
    )
    return PageSnapshot(
        title="Example status",
        description="Live state of Example's public services.",
        timezone="Europe/Oslo",
        language=language,
        url="https://status.example.com/",
        generated_at=NOW,
        components=(api, web, cdn, search, mail),
        incidents=(IncidentView.of(INCIDENT), IncidentView.of(RESOLVED)),
        maintenance=(MaintenanceView.of(MAINT_NEXT), MaintenanceView.of(MAINT_NOW)),
        subscribe=True,
        subscribe_webhooks=True,
    )


def big_snapshot(n: int = 100) -> PageSnapshot:
    """``n`` components in groups of ten, each with three days to tell, one down."""
    comps = []
    for i in range(n):
        # Every component has three days worth telling (downtime, maintenance, a short
        # blip); every tenth started 20 days into the window (no data before).
        bad = {i % 90: (600, 0, 0), (i * 7 + 3) % 90: (0, 3600, 0), (i * 13 + 5) % 90: (40, 0, 0)}
        if i % 10 == 0:
            bad.update(dict.fromkeys(range(70, 90), (0, 0, DAY)))
        state = State.DOWN if i == 7 else State.UP
        comps.append(component(i, state, group=f"Region {i // 10 + 1}", bad=bad))
    base = snapshot()
    return PageSnapshot(
        title=base.title,
        description=base.description,
        timezone=base.timezone,
        language="en",
        url=base.url,
        generated_at=NOW,
        components=tuple(comps),
        incidents=base.incidents,
        maintenance=base.maintenance,
        subscribe=True,
    )


def customer() -> CustomerView:
    """ACME's page: one availability contract below target, one latency contract met."""
    from statuspage.customer import ContractView, CountedSpan, ExcludedSpan, PastPeriod

    start = datetime(2026, 10, 31, 23, 0, tzinfo=UTC)
    availability = ContractView(
        id="acme-api",
        sli="availability",
        scope=("Public API",),
        target=Decimal("99.9"),
        period="2026-11",
        period_start=start,
        period_end=datetime(2026, 11, 30, 23, 0, tzinfo=UTC),
        measured_until=NOW,
        complete=False,
        sli_percent=Decimal("99.8427672955974842767295597"),
        met=False,
        unit="seconds",
        budget_left_percent=Decimal("-57.232704"),
        budget_left=Decimal("-1310.4"),
        unknown_seconds=420,
        maintenance_seconds=1800,
        excluded_seconds=1800,
        counted=(
            CountedSpan(
                datetime(2026, 11, 10, 10, 0, tzinfo=UTC),
                datetime(2026, 11, 10, 11, 0, tzinfo=UTC),
                "3600",
                ("API outage",),
            ),
        ),
        excluded=(
            ExcludedSpan(
                "API overloaded",
                "customer_caused",
                datetime(2026, 11, 20, 9, 0, tzinfo=UTC),
                datetime(2026, 11, 20, 9, 30, tzinfo=UTC),
                1800,
            ),
        ),
        past=(
            PastPeriod(
                "2026-10", Decimal("99.977598"), True, Decimal("77.598208"), "0 % = 0.00 EUR"
            ),
            PastPeriod("2026-09", Decimal("99.5"), False, Decimal("-400"), "10 % = 100.00 EUR"),
        ),
        credit="10 % = 100.00 EUR",
    )
    latency = replace(
        availability,
        id="acme-latency",
        sli="latency",
        unit="checks",
        target=Decimal("95"),
        sli_percent=Decimal("98.7"),
        met=True,
        budget_left_percent=Decimal("74"),
        budget_left=Decimal("2140"),
        counted=(),
        excluded=(),
        past=(),
        credit=None,
    )
    return CustomerView("C-1001", "ACME Corp", (availability, latency))
