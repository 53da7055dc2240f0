"""Render a PageSnapshot to the whole status site: pages, feed, badges, JSON.

``render_site`` is a pure function of the snapshot (``generated_at`` is its ``now``):
the same snapshot gives the same bytes. The site is a flat set of files with relative
links, so the folder it is written to can be served by slamon or by any static host.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Hashable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

import jinja2
from markupsafe import Markup, escape

from sla_engine.incidents import MaintenanceStatus
from sla_engine.time.states import State
from statuspage.api import StatuspageApi
from statuspage.badges import component_badges
from statuspage.charts import (
    MAJOR,
    MINOR,
    ChartMemo,
    bar_patterns,
    daily_rows,
    day_bar,
    day_strip,
    latency_chart,
    latency_summary,
    minutes,
    strip_text,
)
from statuspage.i18n import Locale
from statuspage.snapshot import ComponentView, IncidentView, PageSnapshot
from statuspage.statuses import ComponentStatus, component_status, overall

_CSS = {
    ComponentStatus.OPERATIONAL: "up",
    ComponentStatus.DEGRADED_PERFORMANCE: "degraded",
    ComponentStatus.PARTIAL_OUTAGE: "partial",
    ComponentStatus.MAJOR_OUTAGE: "down",
    ComponentStatus.UNDER_MAINTENANCE: "maintenance",
}
_RANK = {"up": 0, "maintenance": 1, "unknown": 2, "degraded": 3, "partial": 4, "down": 5}
RECENT = timedelta(days=7)
UPCOMING = timedelta(days=7)  # the main page lists the next week's maintenance...
MAX_UPCOMING = 10  # ...at most this many (the JSON lists them all)
FEED_LIMIT = 50
MIN_HISTORY_MONTHS = 3
# Where a component page's response-time chart and its summary go: they change with
# every hour's new mean, the rest of the page seldom. Not text a page can otherwise
# hold: any "<" from the config or the store is escaped.
_CHART_SLOT = Markup("<!--slamon:chart-->")
_SUMMARY_SLOT = Markup("<!--slamon:summary-->")
# The footer's "updated" time goes through a message and is escaped with it: its slot is
# text that escaping leaves as it is (private-use characters no message holds).
_UPDATED_SLOT = "\ue000updated\ue000"

CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".json": "application/json",
    ".atom": "application/atom+xml",
    ".svg": "image/svg+xml",
}


def make_environment() -> jinja2.Environment:
    """The jinja2 environment for slamon's templates (autoescaped, strict)."""
    return jinja2.Environment(
        loader=jinja2.PackageLoader("statuspage", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def _iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass(frozen=True, slots=True)
class _Entry:
    id: str
    title: str
    updated: datetime
    published: datetime
    link: str
    text: str


class PageRenderer:
    """Renders snapshots; keeps the compiled templates between renders."""

    def __init__(self) -> None:
        self.env = make_environment()
        self._bars: dict[str, Markup] | None = None
        # Component pages of the last render_site, by id: what they were rendered from
        # and the HTML with the chart left out. A page whose inputs did not change is
        # not rendered again (``rendered`` counts the ones that were).
        self._pages: dict[str, tuple[Hashable, str]] = {}
        self._used: set[str] | None = None
        self.rendered = 0
        self._names_of: tuple[PageSnapshot, dict[str, str]] | None = None
        self._charts = ChartMemo()  # the charts' day ticks and closed hours' lines
        # Incident pages of the last render_site, by id, with the footer's time left out.
        self._incidents: dict[str, tuple[Hashable, str]] = {}
        self._used_incidents: set[str] = set()

    def forget(self) -> None:
        """Drop what was kept from the last render: the next one renders every page."""
        self._pages.clear()
        self._incidents.clear()
        self._charts = ChartMemo()

    def _names(self, s: PageSnapshot) -> dict[str, str]:
        """Component names by id (made once per snapshot)."""
        if self._names_of is None or self._names_of[0] is not s:
            self._names_of = (s, {c.id: c.name for c in s.components})
        return self._names_of[1]

    # -- helpers shared by the templates ------------------------------------------------

    def _context(self, s: PageSnapshot, loc: Locale, root: str) -> dict[str, Any]:
        names = {c.id: c.name for c in s.components}

        def status_of(x: ComponentView | Sequence[ComponentView]) -> tuple[str, str]:
            if isinstance(x, ComponentView):
                if x.state is State.UNKNOWN:
                    return "unknown", loc.t("status.unknown")
                status = component_status(x)
                return _CSS[status], loc.t(f"status.{status.value}")
            return max((status_of(c) for c in x), key=lambda t: _RANK[t[0]])

        return {
            "page": s,
            "loc": loc,
            "now": s.generated_at,
            "updated": loc.datetime(s.generated_at),
            "root": root,
            "days": len(s.components[0].days) if s.components else 90,
            "iso": _iso,
            "minutes": minutes,
            "status_of": status_of,
            "names": lambda ids: ", ".join(names[i] for i in ids if i in names),
            "bar": lambda c: self._bar(loc, c),
            "strip": lambda c: day_strip(c.days),
            "strip_text": lambda c: strip_text(loc, c.days, c.uptime_90),
            "patterns": bar_patterns(),
        }

    def _bar(self, loc: Locale, c: ComponentView) -> Markup:
        # The index and the component's page show the same bar: within one render_site
        # it is drawn once.
        if self._bars is not None and c.id in self._bars:
            return self._bars[c.id]
        bar = day_bar(loc, c.days, loc.t("history_of", name=c.name, n=len(c.days)))
        if self._bars is not None:
            self._bars[c.id] = bar
        return bar

    # -- pages --------------------------------------------------------------------------

    def render_index(self, s: PageSnapshot) -> str:
        """The main page."""
        loc = Locale(s.language, s.timezone)
        now = s.generated_at
        groups: list[tuple[str, list[ComponentView]]] = []
        by_group: dict[str, list[ComponentView]] = {}
        for c in s.components:
            if c.group not in by_group:
                by_group[c.group] = []
                groups.append((c.group, by_group[c.group]))
            by_group[c.group].append(c)
        ctx = self._context(s, loc, "")
        ctx.update(
            overall=overall(s, now),
            groups=groups,
            active=sorted((i for i in s.incidents if i.open), key=lambda i: i.opened, reverse=True),
            maintenance_now=sorted(
                (m for m in s.maintenance if m.status(now) is MaintenanceStatus.IN_PROGRESS),
                key=lambda m: m.start,
            ),
            maintenance_next=sorted(
                (
                    m
                    for m in s.maintenance
                    if m.status(now) is MaintenanceStatus.SCHEDULED and m.start < now + UPCOMING
                ),
                key=lambda m: m.start,
            )[:MAX_UPCOMING],
            recent=sorted(
                (i for i in s.incidents if not i.open and i.updated >= now - RECENT),
                key=lambda i: i.opened,
                reverse=True,
            ),
            legend=loc.t("legend", minor=loc.percent(MINOR, 1), major=loc.percent(MAJOR, 0)),
        )
        return self.env.get_template("index.html.j2").render(ctx)

    def render_incident(self, s: PageSnapshot, incident: IncidentView) -> str:
        """The page of one incident.

        Within ``render_site`` a page whose incident, affected components' names and
        page settings are those of the last render is taken from it (only the footer's
        time is new), not rendered again.
        """
        loc = Locale(s.language, s.timezone)
        if self._used is None:
            return self._render_incident(s, loc, incident, loc.datetime(s.generated_at))
        known = self._names(s)
        key = (
            incident,
            tuple(known.get(x) for x in incident.component_ids),
            s.title,
            s.description,
            s.language,
            s.timezone,
            s.url,
        )
        self._used_incidents.add(incident.id)
        cached = self._incidents.get(incident.id)
        if cached is not None and cached[0] == key:
            html = cached[1]
        else:
            html = self._render_incident(s, loc, incident, _UPDATED_SLOT)
            self._incidents[incident.id] = (key, html)
        return html.replace(_UPDATED_SLOT, escape(loc.datetime(s.generated_at)), 1)

    def _render_incident(
        self, s: PageSnapshot, loc: Locale, incident: IncidentView, updated: str
    ) -> str:
        ctx = self._context(s, loc, "../")
        ctx.update(incident=incident, updated=updated)
        return self.env.get_template("incident.html.j2").render(ctx)

    def render_history(self, s: PageSnapshot) -> str:
        """Incidents and maintenance by month, newest month first."""
        loc = Locale(s.language, s.timezone)
        now = s.generated_at
        entries: dict[tuple[int, int], list[tuple[str, Any, datetime]]] = {}
        for i in s.incidents:
            local = loc.local(i.opened)
            entries.setdefault((local.year, local.month), []).append(("incident", i, i.opened))
        for m in s.maintenance:
            if m.status(now) is MaintenanceStatus.COMPLETED and not m.recurring:
                local = loc.local(m.start)
                entries.setdefault((local.year, local.month), []).append(("maint", m, m.start))
        current = loc.local(now)
        year, month = current.year, current.month
        oldest = min(entries, default=(year, month))
        months = []
        count = 0
        while (year, month) >= oldest or count < MIN_HISTORY_MONTHS:
            items = sorted(entries.get((year, month), []), key=lambda e: e[2], reverse=True)
            months.append((loc.month(year, month), [(kind, item) for kind, item, _ in items]))
            count += 1
            year, month = (year, month - 1) if month > 1 else (year - 1, 12)
        ctx = self._context(s, loc, "")
        ctx["months"] = months
        return self.env.get_template("history.html.j2").render(ctx)

    def render_component(self, s: PageSnapshot, c: ComponentView, badge_base: str) -> str:
        """The page of one component: bar, response-time chart, daily table, badges."""
        loc = Locale(s.language, s.timezone)
        incidents = sorted(
            (i for i in s.incidents if c.id in i.component_ids),
            key=lambda i: i.opened,
            reverse=True,
        )[:10]
        title = loc.t("response_7d")
        chart = latency_chart(loc, c.latency, f"{c.name}: {title}", self._charts)
        summary = escape(latency_summary(loc, c.latency))
        # Everything the page shows but the chart and the footer's time: the component
        # without its hourly means (and its uptime as shown: the exact figure moves with
        # every build while there was downtime in the 90 days), its incidents (with the
        # names of the components they affect), and the page's own settings.
        known = self._names(s)
        names = {x: known[x] for i in incidents for x in i.component_ids if x in known}
        key = (
            replace(c, latency=(), response_ms=None, uptime_90=None, uptime_30=None),
            loc.percent(c.uptime_90),
            tuple(incidents),
            tuple(sorted(names.items())),
            badge_base,
            s.title,
            s.description,
            s.language,
            s.timezone,
            s.url,
            len(s.components[0].days),
        )
        if self._used is not None:
            self._used.add(c.id)
        cached = self._pages.get(c.id)
        if cached is not None and cached[0] == key:
            html = cached[1]
        else:
            html = self._render_component(s, loc, c, badge_base, incidents)
            self._pages[c.id] = (key, html)
            self.rendered += 1
        updated = escape(loc.datetime(s.generated_at))
        html = html.replace(_CHART_SLOT, chart, 1).replace(_SUMMARY_SLOT, summary, 1)
        return html.replace(_UPDATED_SLOT, updated, 1)

    def _render_component(
        self,
        s: PageSnapshot,
        loc: Locale,
        c: ComponentView,
        badge_base: str,
        incidents: Sequence[IncidentView],
    ) -> str:
        ctx = self._context(s, loc, "../")
        kinds = {"status": "badge.status", "uptime": "badge.uptime", "response": "badge.response"}
        ctx.update(
            updated=_UPDATED_SLOT,
            c=c,
            chart=_CHART_SLOT,
            rows=daily_rows(loc, c.days),
            summary=_SUMMARY_SLOT,
            incidents=incidents,
            badge_alt={k: f"{c.name}: {loc.t(v)}" for k, v in kinds.items()},
            badge_url=lambda kind: f"{badge_base}badges/{c.id}-{kind}.svg",
        )
        return self.env.get_template("component.html.j2").render(ctx)

    def render_subscribe(self, s: PageSnapshot) -> str:
        """The subscribe page: email or webhook, all components or some."""
        loc = Locale(s.language, s.timezone)
        ctx = self._context(s, loc, "")
        ctx["groups"] = component_groups(s)
        return self.env.get_template("subscribe.html.j2").render(ctx)

    def render_notice(
        self,
        s: PageSnapshot,
        heading: str,
        paragraphs: Sequence[str] = (),
        **extra: Any,
    ) -> str:
        """A page that answers the subscribe form and its links (served, never built).

        ``extra``: ``errors``, ``action`` with ``button`` (and a ``token`` to post),
        ``key`` (a webhook's signing key, shown once), ``groups`` and ``chosen`` for
        the whole form again.
        """
        loc = Locale(s.language, s.timezone)
        ctx = self._context(s, loc, s.url.rstrip("/") + "/" if s.url else "")
        ctx.update(heading=heading, paragraphs=paragraphs, errors=(), action="", button="")
        ctx.update(token="", key="", groups=(), chosen=())
        ctx.update(extra)
        return self.env.get_template("notice.html.j2").render(ctx)

    def render_feed(self, s: PageSnapshot) -> str:
        """An Atom feed of incidents and maintenance, newest first."""
        loc = Locale(s.language, s.timezone)
        api = StatuspageApi(s)
        base = s.url.rstrip("/") + "/" if s.url else ""
        names = {c.id: c.name for c in s.components}

        def uid(*parts: str) -> str:
            return uuid.uuid5(uuid.NAMESPACE_URL, "/".join((api.page_id, *parts))).urn

        entries = []
        for i in s.incidents:
            lines = [
                f"{loc.t('incident.' + u.status.value)} ({loc.datetime(u.at)}): {u.message}"
                for u in i.updates
            ]
            affected = ", ".join(names[c] for c in i.component_ids if c in names)
            head = f"{loc.t('impact.' + i.impact.value)}. {loc.t('started')} "
            head += loc.datetime(i.opened) + "."
            if affected:
                head += f" {loc.t('affects')}: {affected}."
            entries.append(
                _Entry(
                    uid("incident", i.id),
                    i.title,
                    i.updated,
                    i.opened,
                    f"{base}incidents/{i.id}.html",
                    "\n".join([head, *lines]),
                )
            )
        for m in s.maintenance:
            if m.recurring:
                continue
            affected = ", ".join(names[c] for c in m.component_ids if c in names)
            text = (
                f"{loc.t('maintenance.' + m.status(s.generated_at).value)}: "
                f"{loc.datetime(m.start)} {loc.t('until')} {loc.datetime(m.end)}."
            )
            if affected:
                text += f" {loc.t('affects')}: {affected}."
            if m.description:
                text += "\n" + m.description
            entries.append(
                _Entry(
                    uid("maintenance", m.id),
                    loc.t("maintenance_entry", title=m.title),
                    m.start,
                    m.start,
                    f"{base}index.html#maintenance-{m.id}",
                    text,
                )
            )
        entries.sort(key=lambda e: (e.updated, e.id), reverse=True)
        del entries[FEED_LIMIT:]
        ctx = {
            "page": s,
            "loc": loc,
            "now": s.generated_at,
            "feed_id": uid("feed"),
            "entries": entries,
            "rfc3339": _iso,
            "link": lambda path: base + path,
        }
        return self.env.get_template("feed.atom.j2").render(ctx)

    def render_site(self, s: PageSnapshot) -> dict[str, bytes]:
        """Every file of the site by its relative path.

        Component pages whose inputs are those of the previous render are taken from
        it (with the response-time chart drawn anew), not rendered again.
        """
        self._bars = {}
        self._used = set()
        try:
            return self._render_site(s)
        finally:
            # Only the pages of this render are kept for the next one.
            for gone in self._pages.keys() - self._used:
                del self._pages[gone]
            self._charts.sweep()
            for gone in self._incidents.keys() - self._used_incidents:
                del self._incidents[gone]
            self._used_incidents = set()
            self._bars = None
            self._used = None
            self._names_of = None

    def _render_site(self, s: PageSnapshot) -> dict[str, bytes]:
        loc = Locale(s.language, s.timezone)
        badge_base = s.url.rstrip("/") + "/" if s.url else ""
        files: dict[str, bytes] = {
            "index.html": self.render_index(s).encode(),
            "history.html": self.render_history(s).encode(),
            "feed.atom": self.render_feed(s).encode(),
        }
        for incident in s.incidents:
            files[f"incidents/{incident.id}.html"] = self.render_incident(s, incident).encode()
        for c in s.components:
            files[f"components/{c.id}.html"] = self.render_component(s, c, badge_base).encode()
            for kind, svg in component_badges(loc, c).items():
                files[f"badges/{c.id}-{kind}.svg"] = svg.encode()
        if s.subscribe and s.url:
            files["subscribe.html"] = self.render_subscribe(s).encode()
        if s.url:  # Statuspage's documents carry absolute addresses: only with a url
            for path, doc in StatuspageApi(s).documents().items():
                files[f"api/v2/{path}"] = json_bytes(doc)
        return files


def component_groups(s: PageSnapshot) -> list[tuple[str, list[tuple[str, str]]]]:
    """The components as (group, [(id, name)]) in page order, for the subscribe form."""
    groups: dict[str, list[tuple[str, str]]] = {}
    for c in s.components:
        groups.setdefault(c.group, []).append((c.id, c.name))
    return list(groups.items())


def json_bytes(doc: object) -> bytes:
    """Compact UTF-8 JSON with ``<``, ``>`` and ``&`` written as JSON unicode escapes.

    The parsed values are the same, but no text from the config reads as markup if
    the file is sniffed as HTML or pasted into a page.
    """
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode()


def content_type(path: str) -> str:
    """The Content-Type a site file is served with."""
    for suffix, ctype in CONTENT_TYPES.items():
        if path.endswith(suffix):
            return ctype
    return "application/octet-stream"
