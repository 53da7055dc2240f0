"""The page's words in English and Norwegian bokmål, and dates and numbers in each.

Every time shown is in the page's time zone and carries the zone's abbreviation
(``CET``, ``CEST``; ``UTC+03`` where the zone has only an offset), and the footer
names the IANA zone. Percentages are truncated, never rounded up: 99.9996 % must not
read as 100 %.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

LANGUAGES = ("en", "nb")

_EN = {
    "overall.operational": "All systems operational",
    "overall.degraded": "Degraded performance",
    "overall.partial": "Partial outage",
    "overall.major": "Major outage",
    "overall.maintenance": "Under maintenance",
    "overall.unknown": "Status unknown",
    "status.operational": "Operational",
    "status.degraded_performance": "Degraded performance",
    "status.partial_outage": "Partial outage",
    "status.major_outage": "Major outage",
    "status.under_maintenance": "Under maintenance",
    "status.unknown": "No data",
    "incident.investigating": "Investigating",
    "incident.identified": "Identified",
    "incident.monitoring": "Monitoring",
    "incident.resolved": "Resolved",
    "incident.postmortem": "Postmortem",
    "impact.none": "No impact",
    "impact.minor": "Minor impact",
    "impact.major": "Major impact",
    "impact.critical": "Critical impact",
    "maintenance.scheduled": "Scheduled",
    "maintenance.in_progress": "In progress",
    "maintenance.completed": "Completed",
    "active_incidents": "Active incidents",
    "maintenance_now": "Maintenance in progress",
    "maintenance_next": "Scheduled maintenance",
    "components": "Components",
    "history": "Incident history",
    "history_link": "Incident history",
    "recent": "Past incidents, last 7 days",
    "no_incidents": "No incidents reported.",
    "no_recent": "No incidents in the last 7 days.",
    "no_incidents_month": "No incidents reported this month.",
    "days_ago": "{n} days ago",
    "today": "Today",
    "uptime_90": "{p} uptime, 90 days",
    "uptime_90_short": "uptime, 90 days",
    "history_of": "Daily availability of {name}, last {n} days",
    "updated": "Updated {time}.",
    "zone_note": "Times are in {zone}.",
    "unknown_note": "Time without data is shown as no data, never as up.",
    "day_text": "{day}: {p} available, {down} min down, {maint} min maintenance",
    "day_extra": "{unknown} min without data",
    "day_nodata": "{day}: no data",
    "run_text": "Other days, {first}\u2013{last}: 100% available, no downtime or maintenance",
    "run_nodata": "{first}\u2013{last}: no data",
    "response_time": "Response time",
    "response_7d": "Response time, last 7 days (mean of each hour)",
    "response_summary": "Mean response time per hour over the last 7 days: from {lo} to "
    "{hi} ms, {last} ms in the latest hour.",
    "response_none": "No response times measured in the last 7 days.",
    "feed": "Atom feed",
    "api": "Statuspage API",
    "affects": "Affects",
    "started": "Started",
    "resolved_at": "Resolved",
    "ongoing": "Ongoing",
    "scheduled_for": "Scheduled for",
    "until": "until",
    "back": "Back to the status page",
    "since": "since {time}",
    "last_known": "last known state; checks are resuming",
    "day": "Day",
    "availability": "Availability",
    "downtime_min": "Down (min)",
    "maintenance_min": "Maintenance (min)",
    "nodata_min": "No data (min)",
    "daily_table": "Availability per day, last {n} days",
    "badges": "Badges",
    "badge.status": "status",
    "badge.uptime": "uptime 30d",
    "badge.response": "response",
    "no_data": "no data",
    "skip": "Skip to components",
    "legend": "Colours: green 100 %, yellow at least {minor}, orange at least {major}, red "
    "below, blue maintenance, grey no data.",
    "maintenance_entry": "Maintenance: {title}",
    "feed_title": "{title}: incidents and maintenance",
    "timeline": "Timeline",
    "incidents_of": "Recent incidents",
    "components_page": "{name}: status and history",
}

_NB = {
    "overall.operational": "Alle systemer fungerer",
    "overall.degraded": "Redusert ytelse",
    "overall.partial": "Delvis driftsavbrudd",
    "overall.major": "Større driftsavbrudd",
    "overall.maintenance": "Vedlikehold pågår",
    "overall.unknown": "Status ukjent",
    "status.operational": "I drift",
    "status.degraded_performance": "Redusert ytelse",
    "status.partial_outage": "Delvis avbrudd",
    "status.major_outage": "Større avbrudd",
    "status.under_maintenance": "Under vedlikehold",
    "status.unknown": "Ingen data",
    "incident.investigating": "Undersøker",
    "incident.identified": "Årsak funnet",
    "incident.monitoring": "Overvåker",
    "incident.resolved": "Løst",
    "incident.postmortem": "Etteranalyse",
    "impact.none": "Ingen påvirkning",
    "impact.minor": "Mindre påvirkning",
    "impact.major": "Betydelig påvirkning",
    "impact.critical": "Kritisk påvirkning",
    "maintenance.scheduled": "Planlagt",
    "maintenance.in_progress": "Pågår",
    "maintenance.completed": "Fullført",
    "active_incidents": "Aktive hendelser",
    "maintenance_now": "Vedlikehold pågår",
    "maintenance_next": "Planlagt vedlikehold",
    "components": "Komponenter",
    "history": "Hendelseshistorikk",
    "history_link": "Hendelseshistorikk",
    "recent": "Tidligere hendelser, siste 7 dager",
    "no_incidents": "Ingen hendelser rapportert.",
    "no_recent": "Ingen hendelser de siste 7 dagene.",
    "no_incidents_month": "Ingen hendelser rapportert denne måneden.",
    "days_ago": "for {n} dager siden",
    "today": "I dag",
    "uptime_90": "{p} oppetid, 90 dager",
    "uptime_90_short": "oppetid, 90 dager",
    "history_of": "Daglig tilgjengelighet for {name}, siste {n} dager",
    "updated": "Oppdatert {time}.",
    "zone_note": "Tidspunkter er i {zone}.",
    "unknown_note": "Tid uten data vises som ingen data, aldri som oppe.",
    "day_text": "{day}: {p} tilgjengelig, {down} min nede, {maint} min vedlikehold",
    "day_extra": "{unknown} min uten data",
    "day_nodata": "{day}: ingen data",
    "run_text": "Andre dager, {first}\u2013{last}: 100 % tilgjengelig, ingen nedetid eller "
    "vedlikehold",
    "run_nodata": "{first}\u2013{last}: ingen data",
    "response_time": "Responstid",
    "response_7d": "Responstid, siste 7 dager (gjennomsnitt per time)",
    "response_summary": "Gjennomsnittlig responstid per time de siste 7 dagene: fra {lo} "
    "til {hi} ms, {last} ms siste time.",
    "response_none": "Ingen responstider målt de siste 7 dagene.",
    "feed": "Atom-feed",
    "api": "Statuspage-API",
    "affects": "Berører",
    "started": "Startet",
    "resolved_at": "Løst",
    "ongoing": "Pågår",
    "scheduled_for": "Planlagt",
    "until": "til",
    "back": "Tilbake til statussiden",
    "since": "siden {time}",
    "last_known": "sist kjente tilstand; kontrollene starter igjen",
    "day": "Dag",
    "availability": "Tilgjengelighet",
    "downtime_min": "Nede (min)",
    "maintenance_min": "Vedlikehold (min)",
    "nodata_min": "Uten data (min)",
    "daily_table": "Tilgjengelighet per dag, siste {n} dager",
    "badges": "Merker",
    "badge.status": "status",
    "badge.uptime": "oppetid 30d",
    "badge.response": "responstid",
    "no_data": "ingen data",
    "skip": "Gå til komponentene",
    "legend": "Farger: grønn 100 %, gul minst {minor}, oransje minst {major}, rød under, "
    "blå vedlikehold, grå ingen data.",
    "maintenance_entry": "Vedlikehold: {title}",
    "feed_title": "{title}: hendelser og vedlikehold",
    "timeline": "Tidslinje",
    "incidents_of": "Siste hendelser",
    "components_page": "{name}: status og historikk",
}

_MESSAGES = {"en": _EN, "nb": _NB}

_MONTHS = {
    "en": [
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
    ],
    "nb": [
        "januar",
        "februar",
        "mars",
        "april",
        "mai",
        "juni",
        "juli",
        "august",
        "september",
        "oktober",
        "november",
        "desember",
    ],
}
_SHORT = {
    "en": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "nb": [
        "jan.",
        "feb.",
        "mar.",
        "apr.",
        "mai",
        "jun.",
        "jul.",
        "aug.",
        "sep.",
        "okt.",
        "nov.",
        "des.",
    ],
}


def zone_name(at: datetime) -> str:
    """The abbreviation of the zone at ``at``: CET, CEST, UTC, or UTC+03."""
    name = at.tzname() or "UTC"
    if name[:1] in "+-":
        return "UTC" + name
    return name


class Locale:
    """Words, dates and numbers for one language and one time zone."""

    def __init__(self, language: str, timezone: str) -> None:
        if language not in _MESSAGES:
            raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
        self.language = language
        self.timezone = timezone
        self.tz = ZoneInfo(timezone)
        self._messages = _MESSAGES[language]

    def t(self, key: str, **values: object) -> str:
        """The message ``key`` with ``values`` filled in."""
        text = self._messages[key]
        return text.format(**values) if values else text

    def local(self, at: datetime) -> datetime:
        """``at`` as wall time in the page's zone."""
        return at.astimezone(self.tz)

    def day(self, d: date, year: bool = True) -> str:
        """27 Nov 2026 / 27. nov. 2026 (without the year when ``year`` is false)."""
        month = _SHORT[self.language][d.month - 1]
        if self.language == "nb":
            return f"{d.day}. {month} {d.year}" if year else f"{d.day}. {month}"
        return f"{d.day} {month} {d.year}" if year else f"{d.day} {month}"

    def time(self, at: datetime) -> str:
        """13:05 CET."""
        local = self.local(at)
        return f"{local:%H:%M} {zone_name(local)}"

    def datetime(self, at: datetime) -> str:
        """27 Nov 2026, 13:05 CET / 27. nov. 2026 kl. 13:05 CET."""
        local = self.local(at)
        sep = " kl. " if self.language == "nb" else ", "
        return f"{self.day(local.date())}{sep}{local:%H:%M} {zone_name(local)}"

    def month(self, year: int, month: int) -> str:
        """November 2026 (capitalised: it is used as a heading)."""
        return f"{_MONTHS[self.language][month - 1].capitalize()} {year}"

    def percent(self, value: Decimal | None, places: int = 3) -> str:
        """99.953% / 99,953 %; truncated to ``places`` decimals; 'no data' for None."""
        if value is None:
            return self.t("no_data")
        text = str(value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_DOWN))
        if self.language == "nb":
            return text.replace(".", ",") + "\u00a0%"
        return text + "%"

    def number(self, value: float) -> str:
        """A whole number of milliseconds, as text."""
        return str(round(value))
