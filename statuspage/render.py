"""Render a PageSnapshot to HTML with jinja2 (autoescape on)."""

from __future__ import annotations

from datetime import datetime
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

import jinja2

from sla_engine.states import State
from statuspage.snapshot import PageSnapshot

_OVERALL_TEXT = {
    State.UP: "All systems operational",
    State.DEGRADED: "Degraded performance",
    State.DOWN: "Major outage",
    State.MAINTENANCE: "Under maintenance",
    State.UNKNOWN: "Status unknown",
}

_STATE_TEXT = {
    State.UP: "Operational",
    State.DEGRADED: "Degraded",
    State.DOWN: "Down",
    State.MAINTENANCE: "Maintenance",
    State.UNKNOWN: "No data",
}


def _percent(value: Decimal | None) -> str:
    # Truncate, never round up: 99.9996% must not read as 100.000%.
    if value is None:
        return "no data"
    return f"{value.quantize(Decimal('0.001'), rounding=ROUND_DOWN)}%"


def make_environment() -> jinja2.Environment:
    """The jinja2 environment for slamon's templates."""
    env = jinja2.Environment(
        loader=jinja2.PackageLoader("statuspage", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["percent"] = _percent
    return env


class PageRenderer:
    """Renders snapshots; keeps the compiled templates between renders."""

    def __init__(self) -> None:
        self.env = make_environment()

    def render_index(self, snapshot: PageSnapshot) -> str:
        """The main page."""
        tz = ZoneInfo(snapshot.timezone)

        def local(at: datetime | None) -> str:
            if at is None:
                return ""
            return at.astimezone(tz).strftime("%Y-%m-%d %H:%M %Z")

        return self.env.get_template("index.html.j2").render(
            page=snapshot,
            overall=snapshot.overall,
            overall_text=_OVERALL_TEXT[snapshot.overall],
            state_text=_STATE_TEXT,
            local=local,
            generated=local(snapshot.generated_at),
        )
