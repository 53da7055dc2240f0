"""Opening, updating and resolving incidents as components change state.

A component's state is ``component_state`` of its monitors' states (worst, or its
quorum). The engine tells us of every monitor state change (a listener, on the event
loop, so it never waits); we recompute the components that monitor belongs to and
queue each component change for one task that writes incidents in order.

The rules:

* A component that becomes degraded or down opens an incident at the change's time
  (the start of the outage, back-dated to the first failing check). If an automatic
  incident opened less than ``group_window`` before is still open, the component joins
  it instead: one incident per correlated outage.
* Impact: minor while the incident's components are only degraded, major when one is
  down, critical when two or more are down at once. It only ever rises.
* A later change of a bad component (degraded to down, ...) adds an automatic update.
* A component that is up again, or in maintenance, leaves the incident; when the last
  one leaves, the incident is resolved at that change's time. Unknown (no data, slamon
  stopped) neither opens nor resolves anything.
* Automatic updates are written by ``slamon`` and never count as an acknowledgement.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sla_engine.accounting.components import component_state
from sla_engine.incidents import Impact, Incident
from sla_engine.time.states import State
from slamon.events import IncidentEvent, IncidentEventKind, StateChange
from slamon.store.incidents import AUTOMATIC_AUTHOR, IncidentStore

if TYPE_CHECKING:
    from slamon.config.components import ComponentConfig
    from slamon.config.model import Config
    from slamon.engine import Engine

log = logging.getLogger("slamon.incidents")


_BAD = (State.DEGRADED, State.DOWN)


_IMPACT_ORDER = (Impact.NONE, Impact.MINOR, Impact.MAJOR, Impact.CRITICAL)


@dataclass(frozen=True, slots=True)
class ComponentChange:
    """A component's state changed at ``at``."""

    component_id: str
    previous: State
    state: State
    at: datetime


def impact_of(states: list[State]) -> Impact:
    """The impact rule: minor if only degraded, major with one down, critical with more."""
    down = sum(s is State.DOWN for s in states)
    if down >= 2:
        return Impact.CRITICAL
    if down == 1:
        return Impact.MAJOR
    return Impact.MINOR if any(s is State.DEGRADED for s in states) else Impact.NONE


def _raise(current: Impact, new: Impact) -> Impact:
    return max(current, new, key=_IMPACT_ORDER.index)


class IncidentManager:
    """Keeps automatic incidents in step with component states."""

    def __init__(
        self,
        config: Config,
        engine: Engine,
        incidents: IncidentStore,
        *,
        group_window: timedelta = timedelta(minutes=15),
        max_queue: int = 10_000,
    ) -> None:
        self.engine = engine
        self.store = incidents
        self.group_window = group_window
        self.components: dict[str, ComponentConfig] = {
            c.id: c for c in config.effective_components()
        }
        self.by_monitor: dict[str, list[str]] = {}
        for c in self.components.values():
            for m in c.monitors:
                self.by_monitor.setdefault(m, []).append(c.id)
        self.states: dict[str, State] = dict.fromkeys(self.components, State.UNKNOWN)
        self.open_by_component: dict[str, str] = {}
        self.listeners: list[Callable[[IncidentEvent], None]] = []
        self.queue: asyncio.Queue[ComponentChange] = asyncio.Queue(max_queue)
        self.dropped = 0
        self.errors = 0
        self._writing: asyncio.Future[None] | None = None

    def reconfigure(self, config: Config, at: datetime) -> None:
        """Follow a reloaded config's components; a kept one keeps its state and incident.

        A component whose state differs under its new members is told as a change at
        ``at``, like any other.
        """
        self.components = {c.id: c for c in config.effective_components()}
        self.by_monitor = {}
        for c in self.components.values():
            for m in c.monitors:
                self.by_monitor.setdefault(m, []).append(c.id)
        states = {}
        for cid, comp in self.components.items():
            new = component_state([self.engine.state(m) for m in comp.monitors], comp.quorum)
            old = self.states.get(cid, State.UNKNOWN)
            states[cid] = new
            if new is not old:
                try:
                    self.queue.put_nowait(ComponentChange(cid, old, new, at))
                except asyncio.QueueFull:
                    self.dropped += 1
        self.states = states

    def name(self, component_id: str) -> str:
        """A component's public name."""
        return self.components[component_id].name

    # -- on the engine's call stack: never blocks ------------------------------------

    def on_state_change(self, change: StateChange) -> None:
        """Engine listener: queue the component changes a monitor change causes."""
        for cid in self.by_monitor.get(change.monitor_id, ()):
            comp = self.components[cid]
            states = [
                change.state if m == change.monitor_id else self.engine.state(m)
                for m in comp.monitors
            ]
            new = component_state(states, comp.quorum)
            old = self.states[cid]
            if new is old:
                continue
            self.states[cid] = new
            try:
                self.queue.put_nowait(ComponentChange(cid, old, new, change.at))
            except asyncio.QueueFull:
                self.dropped += 1
                log.error("incident queue full: dropped a change of component %s", cid)

    # -- the task ---------------------------------------------------------------------

    async def recover(self) -> None:
        """Pick up automatic incidents left open by an earlier run."""
        for incident in await self.store.open_incidents():
            if incident.automatic:
                for cid in incident.component_ids:
                    if cid in self.components:
                        self.open_by_component[cid] = incident.id

    async def run(self) -> None:
        """Handle queued component changes until cancelled.

        A change being written is shielded from the cancel: a write cut off mid-way
        would leave its transaction (and SQLite's lock) open. ``settle`` waits for it.
        """
        while True:
            change = await self.queue.get()
            self._writing = asyncio.ensure_future(self.handle_safely(change))
            await asyncio.shield(self._writing)

    async def settle(self, grace: float) -> None:
        """Wait (at most ``grace`` seconds) for a write a cancel of ``run`` left going."""
        if self._writing is not None and not self._writing.done():
            await asyncio.wait({self._writing}, timeout=grace)

    async def drain(self) -> None:
        """Handle what is queued now (tests, shutdown)."""
        while not self.queue.empty():
            await self.handle_safely(self.queue.get_nowait())

    async def handle_safely(self, change: ComponentChange) -> None:
        """Handle one change; a store failure is logged, never raised."""
        try:
            await self.handle(change)
        except Exception:
            self.errors += 1
            log.exception("incident update for component %s failed", change.component_id)

    def _emit(self, kind: IncidentEventKind, incident: Incident) -> None:
        event = IncidentEvent(kind, incident)
        for listener in self.listeners:
            try:
                listener(event)
            except Exception:
                log.exception("incident listener failed")

    def _title(self, component_ids: list[str]) -> str:
        states = [self.states[c] for c in component_ids]
        names = [self.name(c) for c in component_ids]
        what = "down" if any(s is State.DOWN for s in states) else "degraded"
        joined = names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
        return f"{joined} {'is' if len(names) == 1 else 'are'} {what}"

    async def _current(self, cid: str) -> Incident | None:
        incident_id = self.open_by_component.get(cid)
        if incident_id is None:
            return None
        incident = await self.store.incident(incident_id)
        if incident is None or incident.resolved is not None:
            # Resolved (or deleted) by a person meanwhile: the next bad state opens anew.
            for c, i in list(self.open_by_component.items()):
                if i == incident_id:
                    del self.open_by_component[c]
            return None
        return incident

    async def _note(self, incident: Incident, message: str, at: datetime) -> Incident:
        """An automatic timeline entry that keeps the incident's current status."""
        return await self.store.add_update(
            incident.id, incident.status, message, AUTOMATIC_AUTHOR, at, human=False
        )

    def _members(self, incident_id: str) -> list[str]:
        return sorted(c for c, i in self.open_by_component.items() if i == incident_id)

    async def handle(self, change: ComponentChange) -> None:
        """Apply one component change to the incidents."""
        cid, state = change.component_id, change.state
        if state is State.UNKNOWN:
            return
        incident = await self._current(cid)
        if state in _BAD:
            word = "down" if state is State.DOWN else "degraded"
            if incident is not None:
                members = self._members(incident.id)
                impact = _raise(incident.impact, impact_of([self.states[c] for c in members]))
                await self.store.set_fields(incident.id, impact=impact)
                updated = await self._note(incident, f"{self.name(cid)} is {word}.", change.at)
                self._emit(IncidentEventKind.UPDATED, updated)
                return
            joined = await self._join(cid, change, word)
            if joined:
                return
            opened = await self.store.open(
                title=self._title([cid]),
                component_ids=[cid],
                impact=impact_of([state]),
                opened=change.at,
                message=f"{self.name(cid)} is {word}. Detected by slamon.",
            )
            self.open_by_component[cid] = opened.id
            log.warning("incident %s opened: %s", opened.id, opened.title)
            self._emit(IncidentEventKind.OPENED, opened)
            return
        # Up or in maintenance: the component leaves its incident.
        if incident is None:
            return
        remaining = [c for c in self._members(incident.id) if c != cid]
        why = "is in maintenance" if state is State.MAINTENANCE else "has recovered"
        if remaining:
            updated = await self._note(incident, f"{self.name(cid)} {why}.", change.at)
            del self.open_by_component[cid]
            self._emit(IncidentEventKind.UPDATED, updated)
            return
        resolved = await self.store.resolve(
            incident.id,
            change.at,
            f"{self.name(cid)} {why}; all affected components are operational again.",
            AUTOMATIC_AUTHOR,
            human=False,
        )
        # Only once it is written: readers of open_by_component see it resolved.
        del self.open_by_component[cid]
        log.warning("incident %s resolved", incident.id)
        self._emit(IncidentEventKind.RESOLVED, resolved)

    async def _join(self, cid: str, change: ComponentChange, word: str) -> bool:
        """Add ``cid`` to a recent open automatic incident; False when there is none."""
        recent: list[Incident] = []
        for incident_id in set(self.open_by_component.values()):
            incident = await self.store.incident(incident_id)
            if (
                incident is not None
                and incident.resolved is None
                and incident.automatic
                and change.at - incident.opened <= self.group_window
            ):
                recent.append(incident)
        if not recent:
            return False
        incident = max(recent, key=lambda i: (i.opened, i.id))
        self.open_by_component[cid] = incident.id
        members = self._members(incident.id)
        impact = _raise(incident.impact, impact_of([self.states[c] for c in members]))
        await self.store.set_fields(
            incident.id,
            component_ids=[*incident.component_ids, cid],
            impact=impact,
            title=self._title(members),
        )
        updated = await self._note(incident, f"{self.name(cid)} is {word} too.", change.at)
        self._emit(IncidentEventKind.UPDATED, updated)
        return True
