"""Live reload: re-read the config and apply the difference to the running process.

A reload comes from SIGHUP, ``POST /-/reload``, or a changed discovery file.

An invalid file changes nothing: its errors are logged with their TOML paths and
``slamon_config_last_reload_successful`` is 0 until a good one loads. A valid one is
applied as a difference: new monitors start on their phase, removed ones stop (their
open interval closed at the reload instant), changed ones restart only where their
check changed, and every unchanged monitor keeps its confirmation state, schedule and
open interval. Contracts, SLOs, components, maintenance, notifiers, push monitors and
the status page follow. What needs a restart (the listen address, the store, the bus,
this process's location) is named in a warning and left as it is.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from probes.push import PushMonitor
from slamon.config.common import ConfigError

if TYPE_CHECKING:
    from slamon.config.model import Config
    from slamon.discovery.source import ConfigSource
    from slamon.runtime import Runtime

log = logging.getLogger("slamon.reload")

# Sections (and keys) read once at start: a change waits for the next restart.
_AT_RESTART = (
    ("server", ("host", "port")),
    ("store", None),
    ("bus", None),
    ("agent", None),
    ("scheduler", None),
)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One reload: applied, or the errors that kept it from being applied."""

    errors: tuple[str, ...] = ()
    added: tuple[str, ...] = ()
    changed: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        """True when applied."""
        return not self.errors


def _needs_restart(old: Config, new: Config) -> list[str]:
    out = []
    for section, keys in _AT_RESTART:
        a, b = getattr(old, section), getattr(new, section)
        for key in keys or type(a).model_fields:
            if getattr(a, key) != getattr(b, key):
                out.append(f"{section}.{key}")
    return out


async def apply(runtime: Runtime, new: Config, at: datetime) -> Outcome:
    """Make the running process follow ``new``, as a difference from its config."""
    old = runtime.config
    before = {m.id: m for m in old.monitors}
    after = {m.id: m for m in new.monitors}
    added = sorted(set(after) - set(before))
    removed = sorted(set(before) - set(after))
    changed = sorted(m for m in set(after) & set(before) if after[m] != before[m])
    for key in _needs_restart(old, new):
        log.warning("reload: %s changed; it takes effect at the next restart", key)
    runtime.engine.reconfigure(
        {m.id: new.policy_for(m) for m in new.monitors},
        locations={m.id: new.locations_for(m) for m in new.monitors},
        quorum={m.id: new.quorum_for(m) for m in new.monitors},
        intervals={m.id: m.covered_seconds for m in new.monitors},
        at=at,
    )
    if old.bus.kind != "mqtt":  # with agents, they probe; this process only ingests
        runtime.scheduler.update(new.checks())
    if runtime.push is not None:
        current = runtime.push.book.monitors
        runtime.push.reconfigure(
            current[m.id]
            if m.id in current and before.get(m.id) == m
            else PushMonitor.make(m.id, m.interval, m.settings)
            for m in new.monitors
            if m.type == "push"
        )
    if runtime.live is not None:
        runtime.live.monitor_names.clear()
        runtime.live.monitor_names.update((m.id, m.display_name) for m in new.monitors)
    if runtime.ingest is not None:
        runtime.ingest.reconfigure(new)
    if runtime.member is not None:
        runtime.member.reconfigure(new)
    if runtime.ops is not None:
        await runtime.ops.reconfigure(new, at)
    if runtime.site is not None:
        runtime.site.config = new
    runtime.config = new
    runtime.page_dirty.set()
    log.info(
        "configuration applied: %d monitors (%d added, %d changed, %d removed)",
        len(new.monitors),
        len(added),
        len(changed),
        len(removed),
    )
    return Outcome((), tuple(added), tuple(changed), tuple(removed))


class Reloader:
    """Reloads one process's config from its source, one reload at a time."""

    def __init__(self, runtime: Runtime, source: ConfigSource) -> None:
        self.runtime = runtime
        self.source = source
        self.status = runtime.reload_status
        self.status.hash = source.hash
        runtime.catalog = source.catalog
        self._lock = asyncio.Lock()
        # Set when a reload changed which folders discovery must watch.
        self.sources_changed = asyncio.Event()

    async def reload(self, why: str) -> Outcome:
        """Re-read the file and the discovery sources; apply them if valid."""
        async with self._lock:
            self.status.reloads += 1
            try:
                config = self.source.load()
            except ConfigError as exc:
                self.status.successful = False
                self.status.failures += 1
                log.error(
                    "reload (%s) of %s failed; the running configuration is unchanged:\n  %s",
                    why,
                    self.source.path,
                    "\n  ".join(exc.errors),
                )
                return Outcome(tuple(exc.errors))
            if config.discovery != self.runtime.config.discovery:
                self.sources_changed.set()
            outcome = await apply(self.runtime, config, datetime.now(UTC))
            self.status.successful = True
            self.status.success_at = time.time()
            self.status.hash = self.source.hash
            log.info("reload (%s) of %s done", why, self.source.path)
            return outcome

    async def rediscover(self) -> Outcome:
        """Re-read the discovery sources' files; apply what changed if valid."""
        async with self._lock:
            try:
                config = self.source.rediscover()
            except ConfigError as exc:
                log.error(
                    "discovered monitors not applied; the running ones stay:\n  %s",
                    "\n  ".join(exc.errors),
                )
                return Outcome(tuple(exc.errors))
            if config.monitors == self.runtime.config.monitors:
                return Outcome()
            return await apply(self.runtime, config, datetime.now(UTC))
