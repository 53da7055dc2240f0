"""The whole configuration file: every section, and what follows from them together."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Self

from pydantic import (
    Field,
    PrivateAttr,
)

from probes.dispatch import Check
from probes.push import PushMonitor
from probes.registry import PROBE_TYPES
from sla_engine.accounting.confirmation import ConfirmPolicy
from sla_engine.accounting.quorum import default_quorum
from slamon.config.alerts import AlertsConfig
from slamon.config.bus import AgentConfig, BusConfig
from slamon.config.cluster import ClusterConfig
from slamon.config.common import Section
from slamon.config.components import ComponentConfig
from slamon.config.contracts import ContractConfig, CustomerConfig
from slamon.config.discovery import DiscoveryConfig
from slamon.config.maintenance import MaintenanceConfig
from slamon.config.monitors import MonitorConfig
from slamon.config.notifiers import NotifierConfig
from slamon.config.scheduler import ConfirmationConfig, SchedulerConfig
from slamon.config.server import ServerConfig
from slamon.config.slos import SLOConfig
from slamon.config.statuspage import StatusPageConfig
from slamon.config.store import StoreConfig
from slamon.config.subscriptions import SubscriptionsConfig


class Config(Section):
    """The whole configuration file."""

    server: ServerConfig = ServerConfig()
    store: StoreConfig = StoreConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    confirmation: ConfirmationConfig = ConfirmationConfig()
    bus: BusConfig = BusConfig()
    agent: AgentConfig = AgentConfig()
    cluster: ClusterConfig = ClusterConfig()
    statuspage: StatusPageConfig = StatusPageConfig()
    monitors: list[MonitorConfig] = Field(default_factory=list)
    components: list[ComponentConfig] = Field(default_factory=list)
    contracts: list[ContractConfig] = Field(default_factory=list)
    customers: list[CustomerConfig] = Field(default_factory=list)
    maintenance: list[MaintenanceConfig] = Field(default_factory=list)
    alerts: AlertsConfig = AlertsConfig()
    slos: list[SLOConfig] = Field(default_factory=list)
    notifiers: list[NotifierConfig] = Field(default_factory=list)
    subscriptions: SubscriptionsConfig = SubscriptionsConfig()
    discovery: list[DiscoveryConfig] = Field(default_factory=list)

    # effective_components(), made once per config (model_copy forgets it).
    _components: list[ComponentConfig] | None = PrivateAttr(default=None)

    def model_copy(self, *, update: Mapping[str, Any] | None = None, deep: bool = False) -> Self:
        """A copy (see pydantic); what was derived from the monitors is made anew."""
        copy = super().model_copy(update=update, deep=deep)
        copy._components = None
        return copy

    def effective_components(self) -> list[ComponentConfig]:
        """The configured components; without any, one per public monitor."""
        if self.components:
            return list(self.components)
        if self._components is None:
            self._components = self._monitor_components()
        return list(self._components)

    def _monitor_components(self) -> list[ComponentConfig]:
        # Built from validated monitors, so not validated again: with ten thousand
        # discovered monitors, validating them cost a quarter of a second per call.
        return [
            ComponentConfig.model_construct(
                id=m.id,
                name=m.display_name,
                description=m.description,
                group="",
                monitors=[m.id],
                quorum=None,
            )
            for m in self.monitors
            if m.public
        ]

    def policy_for(self, monitor: MonitorConfig) -> ConfirmPolicy:
        """The confirmation policy of ``monitor``, defaults filled in."""
        return ConfirmPolicy(
            down_after=monitor.down_after or self.confirmation.down_after,
            up_after=monitor.up_after or self.confirmation.up_after,
        )

    def locations_for(self, monitor: MonitorConfig) -> list[str]:
        """Where ``monitor`` is checked from: this process, or its agents' locations.

        Push monitors are received by the engine itself, so they have its location.
        """
        if self.bus.kind == "inprocess" or monitor.type == "push":
            return [self.scheduler.location]
        return list(monitor.locations or self.bus.locations)

    def quorum_for(self, monitor: MonitorConfig) -> int:
        """How many of its locations must agree: configured, or a strict majority."""
        n = len(self.locations_for(monitor))
        return min(monitor.quorum or default_quorum(n), n)

    def checks(self, location: str | None = None) -> list[Check]:
        """A Check per scheduled monitor (all but push; from ``location``, if given)."""
        return [
            Check(
                monitor_id=m.id,
                type=m.type,
                target=m.target,
                interval=m.interval,
                timeout=m.effective_timeout,
                settings=m.settings,
            )
            for m in self.monitors
            if PROBE_TYPES[m.type].scheduled
            and (location is None or location in self.locations_for(m))
        ]

    def push_monitors(self) -> list[PushMonitor]:
        """The push monitors, each with its configured or a fresh random token."""
        return [
            PushMonitor.make(m.id, m.interval, m.settings)
            for m in self.monitors
            if m.type == "push"
        ]
