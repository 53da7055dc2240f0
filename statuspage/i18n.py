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
    "uptime": "{p} uptime",
    "uptime_note": "Each bar is one day; uptime is over the last {n} days. Every day's figures "
    "are on the component's page.",
    "history_of": "Daily availability of {name}, last {n} days",
    "updated": "Updated {time}.",
    "zone_note": "Times are in {zone}.",
    "unknown_note": "Time without data is shown as no data, never as up.",
    "day_text": "{day}: {p} available, {down} min down, {maint} min maintenance",
    "day_extra": "{unknown} min without data",
    "day_nodata": "{day}: no data",
    "run_text": "Other days, {first}\u2013{last}: 100% available, no downtime or maintenance",
    "run_nodata": "{first}\u2013{last}: no data",
    "strip.below": "{n} days with downtime",
    "strip.below_one": "1 day with downtime",
    "strip.nodata": "{n} without data",
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
    "subscribe.title": "Get updates",
    "subscribe.lead": "Get an email, or a webhook call, when an incident opens, changes or is "
    "resolved, and when maintenance is scheduled, starts or ends.",
    "subscribe.email": "Email address",
    "subscribe.button": "Subscribe",
    "subscribe.short": "Email me about incidents and maintenance",
    "subscribe.more": "Choose components, or get a webhook",
    "subscribe.webhook": "Webhook URL (optional)",
    "subscribe.webhook_help": "We POST Statuspage's JSON to it, signed with HMAC-SHA256. The "
    "confirmation link still goes to the email address, which is not kept.",
    "subscribe.components": "Components",
    "subscribe.components_help": "Choose none to hear about all of them, also those added later.",
    "subscribe.how": "We send a confirmation link that works for {hours} hours; nothing is "
    "kept until it is followed. Every message has a link to unsubscribe. Addresses are "
    "never shown on this page.",
    "subscribe.sent_title": "Check your mailbox",
    "subscribe.sent": "If the address can receive mail, a confirmation link is on its way. It "
    "works for {hours} hours.",
    "subscribe.invalid": "Please correct this:",
    "subscribe.bad_email": "That is not an email address.",
    "subscribe.bad_webhook": "The webhook URL must be an http or https address on the public "
    "internet.",
    "subscribe.no_webhooks": "This page takes no webhook subscriptions.",
    "subscribe.bad_component": "Choose among the page's components.",
    "subscribe.limited_title": "Too many requests",
    "subscribe.limited": "Please try again in {minutes} minutes.",
    "subscribe.confirm_title": "Confirm your subscription",
    "subscribe.confirm_email": "Updates from {page} by email to the address this link was sent "
    "to, about {scope}.",
    "subscribe.confirm_webhook": "Updates from {page} by webhook to {url}, about {scope}.",
    "subscribe.confirm_button": "Confirm",
    "subscribe.confirmed_title": "You are subscribed",
    "subscribe.confirmed": "You will hear about {scope}. Every message has a link to unsubscribe.",
    "subscribe.key": "Webhook signing key (shown once; keep it secret):",
    "subscribe.key_help": "Each POST has X-Slamon-Timestamp, X-Slamon-Delivery and "
    "X-Slamon-Signature: sha256= and the hex HMAC-SHA256, with this key, of the "
    "timestamp, a dot and the body.",
    "subscribe.bad_link_title": "This link does not work",
    "subscribe.bad_link": "It is not a link we made, it was cut short, or it has expired. "
    "Subscribe again to get a new one.",
    "subscribe.unsubscribe_title": "Unsubscribe",
    "subscribe.unsubscribe_lead": "Stop all updates from {page} to this subscription.",
    "subscribe.unsubscribe_button": "Unsubscribe",
    "subscribe.unsubscribed_title": "You are unsubscribed",
    "subscribe.unsubscribed": "You will get nothing more from {page}; your address is deleted.",
    "subscribe.all": "all components",
    "mail.confirm_subject": "[{page}] Confirm your subscription",
    "mail.confirm_email": "Someone, hopefully you, asked for updates from {page} by email "
    "about {scope}.",
    "mail.confirm_webhook": "Someone, hopefully you, asked for updates from {page} by webhook "
    "to {url}, about {scope}.",
    "mail.confirm_link": "To confirm, open this link within {hours} hours:",
    "mail.confirm_ignore": "If you did not ask for this, ignore this mail: nothing is kept "
    "until the link is followed.",
    "mail.incident.created": "New incident: {title}",
    "mail.incident.updated": "Incident update: {title}",
    "mail.incident.resolved": "Resolved: {title}",
    "mail.maintenance.scheduled": "Maintenance scheduled: {title}",
    "mail.maintenance.started": "Maintenance started: {title}",
    "mail.maintenance.completed": "Maintenance completed: {title}",
    "mail.details": "Details:",
    "mail.footer": "You get this because you subscribed to updates from {page} about {scope}. "
    "To unsubscribe, open:",
    "customer.title": "{name}: your service levels",
    "customer.lead": "Your contracts' service levels, measured as the credit reports measure "
    "them. Only your contracts are on this page.",
    "customer.contract": "Contract {id}",
    "customer.period_open": "Period {period}, measured until {time}",
    "customer.period_closed": "Period {period}, closed",
    "customer.measured": "Measured",
    "customer.target": "Target",
    "customer.budget": "Error budget left",
    "customer.budget_none": "none (the target allows nothing bad)",
    "customer.minutes": "{n} min",
    "customer.over": "{n} min over",
    "customer.coverage": "Measured share of the period",
    "customer.nodata": "Time without data",
    "customer.credit": "Service credit",
    "customer.met_so_far": "On target so far",
    "customer.met": "Target met",
    "customer.missed": "Below target",
    "customer.insufficient": "Insufficient data: too little of the period was measured",
    "customer.maintenance": "{n} min of maintenance",
    "customer.counted": "What counted against the target",
    "customer.counted_none": "Nothing counted against the target in this period.",
    "customer.from": "From",
    "customer.to": "To",
    "customer.counted_seconds": "Seconds",
    "customer.counted_minutes": "Minutes",
    "customer.counted_checks": "Checks",
    "customer.counted_incidents": "Incidents",
    "customer.incidents": "Incidents",
    "customer.incident": "Incident",
    "customer.excluded": "Incidents that did not count",
    "customer.why": "Why",
    "customer.not_counted": "Minutes not counted",
    "customer.past": "Finalized periods",
    "customer.past_none": "No period has been finalized yet.",
    "customer.period": "Period",
    "customer.result": "Result",
    "customer.public": "The public status page",
    "customer.private": "This page is yours alone: do not share a link with your token in it.",
    "customer.login_title": "Your service levels",
    "customer.login_lead": "Enter the access token you were given to see your contracts.",
    "customer.token": "Access token",
    "customer.open": "Open",
    "customer.wrong": "That token does not open this page.",
    "sli.availability": "availability",
    "sli.latency": "response time",
    "sli.quality": "quality of answers",
    "sli.incident_response": "incident response",
    "exclusion.customer_caused": "caused on the customer's side",
    "exclusion.force_majeure": "force majeure",
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
    "uptime": "{p} oppetid",
    "uptime_note": "Hver stolpe er én dag; oppetiden gjelder de siste {n} dagene. Tallene for "
    "hver dag står på komponentens side.",
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
    "strip.below": "{n} dager med nedetid",
    "strip.below_one": "1 dag med nedetid",
    "strip.nodata": "{n} uten data",
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
    "subscribe.title": "Få varsler",
    "subscribe.lead": "Få e-post, eller et webhook-kall, når en hendelse starter, endres eller "
    "er løst, og når vedlikehold planlegges, starter eller er ferdig.",
    "subscribe.email": "E-postadresse",
    "subscribe.button": "Abonner",
    "subscribe.short": "Send meg e-post om hendelser og vedlikehold",
    "subscribe.more": "Velg komponenter, eller få en webhook",
    "subscribe.webhook": "Webhook-URL (valgfri)",
    "subscribe.webhook_help": "Vi sender Statuspage-JSON til den med POST, signert med "
    "HMAC-SHA256. Bekreftelseslenken går likevel til e-postadressen, som ikke lagres.",
    "subscribe.components": "Komponenter",
    "subscribe.components_help": "Velg ingen for å høre om alle, også de som kommer til senere.",
    "subscribe.how": "Vi sender en bekreftelseslenke som virker i {hours} timer; ingenting "
    "lagres før den er åpnet. Hver melding har en lenke for å avslutte. Adresser vises "
    "aldri på denne siden.",
    "subscribe.sent_title": "Sjekk innboksen",
    "subscribe.sent": "Hvis adressen kan ta imot e-post, er en bekreftelseslenke på vei. Den "
    "virker i {hours} timer.",
    "subscribe.invalid": "Rett opp dette:",
    "subscribe.bad_email": "Det er ikke en e-postadresse.",
    "subscribe.bad_webhook": "Webhook-URL-en må være en http- eller https-adresse på det "
    "åpne internettet.",
    "subscribe.no_webhooks": "Denne siden tar ikke imot webhook-abonnementer.",
    "subscribe.bad_component": "Velg blant sidens komponenter.",
    "subscribe.limited_title": "For mange forespørsler",
    "subscribe.limited": "Prøv igjen om {minutes} minutter.",
    "subscribe.confirm_title": "Bekreft abonnementet",
    "subscribe.confirm_email": "Varsler fra {page} på e-post til adressen denne lenken ble "
    "sendt til, om {scope}.",
    "subscribe.confirm_webhook": "Varsler fra {page} med webhook til {url}, om {scope}.",
    "subscribe.confirm_button": "Bekreft",
    "subscribe.confirmed_title": "Du abonnerer",
    "subscribe.confirmed": "Du får høre om {scope}. Hver melding har en lenke for å avslutte.",
    "subscribe.key": "Signeringsnøkkel for webhooken (vises én gang; hold den hemmelig):",
    "subscribe.key_help": "Hver POST har X-Slamon-Timestamp, X-Slamon-Delivery og "
    "X-Slamon-Signature: sha256= og HMAC-SHA256 i hex, med denne nøkkelen, av "
    "tidsstempelet, et punktum og innholdet.",
    "subscribe.bad_link_title": "Denne lenken virker ikke",
    "subscribe.bad_link": "Vi har ikke laget den, den er kuttet, eller den er utløpt. Abonner "
    "på nytt for å få en ny.",
    "subscribe.unsubscribe_title": "Avslutt abonnementet",
    "subscribe.unsubscribe_lead": "Stopp alle varsler fra {page} til dette abonnementet.",
    "subscribe.unsubscribe_button": "Avslutt",
    "subscribe.unsubscribed_title": "Abonnementet er avsluttet",
    "subscribe.unsubscribed": "Du får ikke mer fra {page}; adressen din er slettet.",
    "subscribe.all": "alle komponenter",
    "mail.confirm_subject": "[{page}] Bekreft abonnementet",
    "mail.confirm_email": "Noen, forhåpentligvis du, ba om varsler fra {page} på e-post om "
    "{scope}.",
    "mail.confirm_webhook": "Noen, forhåpentligvis du, ba om varsler fra {page} med webhook "
    "til {url}, om {scope}.",
    "mail.confirm_link": "Åpne denne lenken innen {hours} timer for å bekrefte:",
    "mail.confirm_ignore": "Hvis du ikke ba om dette, kan du se bort fra e-posten: ingenting "
    "lagres før lenken er åpnet.",
    "mail.incident.created": "Ny hendelse: {title}",
    "mail.incident.updated": "Oppdatering: {title}",
    "mail.incident.resolved": "Løst: {title}",
    "mail.maintenance.scheduled": "Vedlikehold planlagt: {title}",
    "mail.maintenance.started": "Vedlikehold startet: {title}",
    "mail.maintenance.completed": "Vedlikehold fullført: {title}",
    "mail.details": "Detaljer:",
    "mail.footer": "Du får dette fordi du abonnerer på varsler fra {page} om {scope}. Åpne "
    "denne lenken for å avslutte:",
    "customer.title": "{name}: deres tjenestenivå",
    "customer.lead": "Tjenestenivået i kontraktene deres, målt slik kredittrapportene måler "
    "det. Bare deres kontrakter står på denne siden.",
    "customer.contract": "Kontrakt {id}",
    "customer.period_open": "Periode {period}, målt til {time}",
    "customer.period_closed": "Periode {period}, avsluttet",
    "customer.measured": "Målt",
    "customer.target": "Mål",
    "customer.budget": "Feilbudsjett igjen",
    "customer.budget_none": "ingen (målet tillater ingenting galt)",
    "customer.minutes": "{n} min",
    "customer.over": "{n} min over",
    "customer.coverage": "Målt andel av perioden",
    "customer.nodata": "Tid uten data",
    "customer.credit": "Kreditt",
    "customer.met_so_far": "Innenfor målet så langt",
    "customer.met": "Målet nådd",
    "customer.missed": "Under målet",
    "customer.insufficient": "For lite data: for lite av perioden ble målt",
    "customer.maintenance": "{n} min vedlikehold",
    "customer.counted": "Det som telte mot målet",
    "customer.counted_none": "Ingenting telte mot målet i denne perioden.",
    "customer.from": "Fra",
    "customer.to": "Til",
    "customer.counted_seconds": "Sekunder",
    "customer.counted_minutes": "Minutter",
    "customer.counted_checks": "Sjekker",
    "customer.counted_incidents": "Hendelser",
    "customer.incidents": "Hendelser",
    "customer.incident": "Hendelse",
    "customer.excluded": "Hendelser som ikke telte",
    "customer.why": "Hvorfor",
    "customer.not_counted": "Minutter som ikke telte",
    "customer.past": "Avsluttede perioder",
    "customer.past_none": "Ingen periode er avsluttet ennå.",
    "customer.period": "Periode",
    "customer.result": "Resultat",
    "customer.public": "Den offentlige statussiden",
    "customer.private": "Denne siden er bare for dere: ikke del en lenke med tilgangskoden i.",
    "customer.login_title": "Deres tjenestenivå",
    "customer.login_lead": "Skriv inn tilgangskoden dere har fått for å se kontraktene.",
    "customer.token": "Tilgangskode",
    "customer.open": "Åpne",
    "customer.wrong": "Den tilgangskoden åpner ikke denne siden.",
    "sli.availability": "tilgjengelighet",
    "sli.latency": "responstid",
    "sli.quality": "kvalitet på svar",
    "sli.incident_response": "hendelseshåndtering",
    "exclusion.customer_caused": "forårsaket hos kunden",
    "exclusion.force_majeure": "force majeure",
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
