"""Availability of many monitors over a window from time per state summed in the store.

For what needs only totals (a dashboard, a comparison, an SLO gauge): one query sums each
monitor's time per state in the database (``Store.state_durations``) and
:func:`sla_engine.accounting.durations.availability_from_durations` evaluates it, equal
to the exact per-interval path for one monitor under ``seconds`` accounting. Reports
with exclusions, maintenance windows, minute rules or components take
:mod:`slamon.reports.gather` instead.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from sla_engine.accounting.durations import DurationAvailability, availability_from_durations

if TYPE_CHECKING:
    from sla_engine.accounting.availability import AccountingTerms
    from sla_engine.time.intervals import Interval
    from slamon.store.sql import Store


async def availability_of(
    store: Store,
    monitor_ids: Sequence[str],
    window: Interval,
    terms: AccountingTerms,
    now: datetime | None = None,
) -> dict[str, DurationAvailability]:
    """Each monitor's availability over ``window`` (cut at ``now``), by monitor id.

    A monitor without any interval in the window is all unknown time.
    """
    durations = await store.state_durations(window, monitor_ids, now)
    return {
        m: availability_from_durations(durations.get(m, {}), window, terms, now)
        for m in monitor_ids
    }
