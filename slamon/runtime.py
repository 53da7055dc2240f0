"""The long-lived objects of one slamon process, as one typed value.

``app.py`` builds it; the web handlers read it through ``web.keys.RUNTIME``. Only the
types of its parts are imported here, so that reading it costs no import of theirs.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from statuspage.render import PageRenderer

if TYPE_CHECKING:
    from prometheus_client import CollectorRegistry

    from probes.scheduler import Scheduler
    from slamon.alerting.operations import Operations
    from slamon.alerting.subscribers import Subscriptions
    from slamon.bus.ingest import MqttIngest
    from slamon.bus.inprocess import InProcessBus
    from slamon.cluster.member import Member
    from slamon.config.model import Config
    from slamon.discovery.catalog import Catalog
    from slamon.engine import Engine
    from slamon.metrics.live import LiveCollector, SchedulerMetrics
    from slamon.site.publisher import SitePublisher
    from slamon.store.sql import Store
    from slamon.store.writer import Writer
    from slamon.web.push import PushService


@dataclass
class ReloadStatus:
    """What /metrics says about this process's config and its reloads."""

    successful: bool = True
    success_at: float = field(default_factory=time.time)
    hash: str = ""
    reloads: int = 0
    failures: int = 0


@dataclass
class Runtime:
    """Every long-lived object of one slamon process, created from the config."""

    config: Config
    store: Store
    writer: Writer
    engine: Engine
    bus: InProcessBus
    scheduler: Scheduler
    registry: CollectorRegistry
    scheduler_metrics: SchedulerMetrics
    renderer: PageRenderer = field(default_factory=PageRenderer)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    page_dirty: asyncio.Event = field(default_factory=asyncio.Event)
    site: SitePublisher | None = None
    push: PushService | None = None
    live: LiveCollector | None = None
    ops: Operations | None = None
    ingest: MqttIngest | None = None
    subscriptions: Subscriptions | None = None
    # In a cluster ([cluster] enabled): this engine's leases, shards and leadership.
    member: Member | None = None
    ops_started: bool = False
    reload_status: ReloadStatus = field(default_factory=ReloadStatus)
    # The discovery sources' files (set when the config came from a file).
    catalog: Catalog | None = None
