"""A statement per customer and period, for finance and for the customer: HTML and PDF.

For each of the customer's contracts: the terms, the period in the contract's zone,
the SLI against its target, the coverage, a day-by-day availability chart, the
incidents with their timelines, the exclusions with their reasons, the credit worked
out line by line (the report's own explanation) and the report entry's SHA-256, the
hash that ``report finalize`` stores. Nothing in it depends on the clock for a closed
period, so the same data gives the same bytes, the PDF's dates included (they are the
period's end). Names of the people who wrote updates or marked exclusions are left
out: the statement is sent to the customer.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import jinja2

from sla_engine.accounting.availability import timeline_from_states
from sla_engine.accounting.daily import DayTotals, daily_totals
from sla_engine.contracts import PeriodRule, SLIKind
from sla_engine.money.rounding import plain, quantize, rounding_name
from sla_engine.reports.report import ContractReport, Evidence, Verdict, evaluate_contract
from sla_engine.time.periods import local_days
from slamon.reports.entries import report_entries
from slamon.reports.gather import (
    STORE_SOURCES,
    ReportError,
    Sources,
    gather_evidence,
    select_contracts,
)
from statuspage.i18n import Locale

if TYPE_CHECKING:
    from sla_engine.contracts import Contract
    from sla_engine.incidents import Incident
    from slamon.config.model import Config
    from slamon.reports.entries import Entry
    from slamon.store.sql import Store

LANGUAGES = ("en", "nb")
_DASH = "\u2013"  # an en dash between two times

_WORDS: dict[str, dict[str, str]] = {
    "en": {
        "title": "Service level statement",
        "customer": "Customer",
        "period": "Period",
        "zone": "time zone",
        "measured_until": "Measured until",
        "summary": "Summary",
        "contract": "Contract",
        "sli": "SLI",
        "target": "Target",
        "measured": "Measured",
        "coverage": "Coverage",
        "result": "Result",
        "credit": "Credit",
        "total_credit": "Total credit",
        "terms": "Contract terms",
        "covers": "Covers",
        "accounting": "Accounting",
        "maintenance": "Maintenance",
        "unknown": "Time without data",
        "min_run": "Shortest run of bad minutes that counts",
        "tiers": "Credit tiers",
        "tier_row": "below {below} %: {credit} % of the fee",
        "no_tiers": "none",
        "cap": "Credit cap",
        "fee": "Monthly fee",
        "rounding": "Rounding",
        "min_coverage": "Minimum coverage",
        "figures": "Figures",
        "downtime": "Downtime counted",
        "excluded_time": "Downtime excluded",
        "unknown_time": "Time without data",
        "maintenance_time": "Maintenance",
        "degraded_time": "Degraded (answered, counted as up)",
        "budget": "Error budget left",
        "daily": "Availability day by day",
        "daily_note": (
            "Each bar is one day in {zone}: the availability measured that day, maintenance "
            "and time without data left out, exclusions not yet applied (the contract's "
            "rules apply to the whole period above). The scale runs from 90 % to 100 %; "
            "grey: no data."
        ),
        "no_data_day": "no data",
        "bad_days": "Days below 100 %",
        "checks_within": "Answered checks within the limit",
        "good_checks": "Answered checks whose assertions held",
        "decided_in_time": "Decided incidents handled in time",
        "late": "Late",
        "none": "none",
        "incidents": "Incidents",
        "incident": "Incident",
        "no_incidents": "No incidents in the period.",
        "seconds": "exact seconds",
        "minutes_any": "minutes: a minute is bad if any downtime touches it",
        "minutes_full": "whole minutes of downtime only",
        "count_as_up": "counted as up, stays in the total",
        "exclude_from_total": "left out of the total",
        "unknown.up": "counted as up",
        "unknown.down": "counted as down",
        "unknown.exclude": "left out of the total",
        "opened": "Opened",
        "resolved": "Resolved",
        "still_open": "still open",
        "impact": "Impact",
        "duration": "Duration",
        "excluded_mark": "excluded",
        "exclusions": "Exclusions",
        "no_exclusions": "No downtime was excluded.",
        "reason": "Reason",
        "kind": "Kind",
        "not_counted": "Downtime not counted",
        "calculation": "Credit calculation (as in the report)",
        "evidence": "Report",
        "status": "Status",
        "sha256": "Report entry SHA-256",
        "met": "met",
        "not met": "not met",
        "insufficient data": "insufficient data",
        "no_sli": "no SLI (nothing to measure)",
        "accepted": "Insufficient data accepted when finalized",
        "page": "Page",
        "of": "of",
        "customer_caused": "customer-caused",
        "force_majeure": "force majeure",
        "availability": "availability",
        "latency": "latency",
        "quality": "quality",
        "incident_response": "incident response",
        "open": "open (figures to date)",
        "closed": "closed, not finalized",
        "finalized": "finalized",
        "changed since finalized": "changed since finalized",
    },
    "nb": {
        "title": "Tjenestenivårapport",
        "customer": "Kunde",
        "period": "Periode",
        "zone": "tidssone",
        "measured_until": "Målt til",
        "summary": "Sammendrag",
        "contract": "Avtale",
        "sli": "Måltall",
        "target": "Mål",
        "measured": "Målt",
        "coverage": "Dekning",
        "result": "Resultat",
        "credit": "Kreditt",
        "total_credit": "Samlet kreditt",
        "terms": "Avtalevilkår",
        "covers": "Gjelder",
        "accounting": "Beregning",
        "maintenance": "Vedlikehold",
        "unknown": "Tid uten data",
        "min_run": "Korteste sammenhengende nedetid i minutter som teller",
        "tiers": "Kreditttrinn",
        "tier_row": "under {below} %: {credit} % av avgiften",
        "no_tiers": "ingen",
        "cap": "Kredittak",
        "fee": "Månedlig avgift",
        "rounding": "Avrunding",
        "min_coverage": "Minste dekning",
        "figures": "Tall",
        "downtime": "Nedetid som teller",
        "excluded_time": "Nedetid unntatt",
        "unknown_time": "Tid uten data",
        "maintenance_time": "Vedlikehold",
        "degraded_time": "Redusert ytelse (svarte, regnet som oppe)",
        "budget": "Feilbudsjett igjen",
        "daily": "Tilgjengelighet dag for dag",
        "daily_note": (
            "Hver søyle er ett døgn i {zone}: tilgjengeligheten målt det døgnet, uten "
            "vedlikehold og tid uten data, før unntak (avtalens regler gjelder hele perioden "
            "over). Skalaen går fra 90 % til 100 %; grå: ingen data."
        ),
        "no_data_day": "ingen data",
        "bad_days": "Dager under 100 %",
        "checks_within": "Besvarte kontroller innenfor grensen",
        "good_checks": "Besvarte kontroller der alle krav holdt",
        "decided_in_time": "Avgjorte hendelser håndtert i tide",
        "late": "For sent",
        "none": "ingen",
        "incidents": "Hendelser",
        "incident": "Hendelse",
        "no_incidents": "Ingen hendelser i perioden.",
        "seconds": "eksakte sekunder",
        "minutes_any": "minutter: et minutt er dårlig om noe nedetid berører det",
        "minutes_full": "bare hele minutter med nedetid",
        "count_as_up": "regnet som oppe, blir i totalen",
        "exclude_from_total": "holdt utenfor totalen",
        "unknown.up": "regnet som oppe",
        "unknown.down": "regnet som nede",
        "unknown.exclude": "holdt utenfor totalen",
        "opened": "Startet",
        "resolved": "Løst",
        "still_open": "fortsatt åpen",
        "impact": "Omfang",
        "duration": "Varighet",
        "excluded_mark": "unntatt",
        "exclusions": "Unntak",
        "no_exclusions": "Ingen nedetid ble unntatt.",
        "reason": "Begrunnelse",
        "kind": "Type",
        "not_counted": "Nedetid som ikke teller",
        "calculation": "Utregning av kreditt (som i rapporten)",
        "evidence": "Rapport",
        "status": "Status",
        "sha256": "SHA-256 for rapportoppføringen",
        "met": "oppfylt",
        "not met": "ikke oppfylt",
        "insufficient data": "for lite data",
        "no_sli": "intet måltall (ingenting å måle)",
        "accepted": "For lite data godtatt ved låsing",
        "page": "Side",
        "of": "av",
        "customer_caused": "forårsaket av kunden",
        "force_majeure": "force majeure",
        "availability": "tilgjengelighet",
        "latency": "responstid",
        "quality": "kvalitet",
        "incident_response": "hendelseshåndtering",
        "open": "åpen (tall hittil)",
        "closed": "avsluttet, ikke låst",
        "finalized": "låst",
        "changed since finalized": "endret etter låsing",
    },
}


@dataclass(frozen=True, slots=True)
class StatementPart:
    """One contract of the statement: its report entry and what the report leaves out."""

    entry: Entry
    days: tuple[DayTotals, ...]
    incidents: tuple[Incident, ...]

    @property
    def report(self) -> ContractReport:
        """The contract's report."""
        return self.entry.report


@dataclass(frozen=True, slots=True)
class Statement:
    """One customer's statement for one period."""

    customer_id: str
    customer_name: str
    period: str
    language: str
    parts: tuple[StatementPart, ...]

    def file_stem(self) -> str:
        """``statement-C-1001-2026-06`` (the customer id made safe for a file name)."""
        safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in self.customer_id)
        return f"statement-{safe}-{self.period}"


async def build_statement(
    config: Config,
    store: Store,
    customer_id: str,
    label: str,
    now: datetime,
    *,
    language: str = "en",
    sources: Sources = STORE_SOURCES,
) -> Statement:
    """The statement of ``customer_id``'s calendar contracts for the period ``label``."""
    if language not in LANGUAGES:
        raise ReportError(f"language must be one of {', '.join(LANGUAGES)}, not {language!r}")
    if ".." in label:
        raise ReportError("a statement covers one period: name a month or a quarter")
    contracts = [
        c
        for c in select_contracts(config, customer_id=customer_id)
        if c.period is not PeriodRule.ROLLING
    ]
    if not contracts:
        raise ReportError(f"customer {customer_id!r} has no calendar-period contract")
    found = await gather_evidence(config, store, contracts, label, now, sources=sources)
    reports = [evaluate_contract(c, period, evidence, now) for c, period, evidence in found]
    entries = await report_entries(store, reports)
    parts = tuple(
        StatementPart(entry, _days(entry.report, evidence, now), _incidents(evidence))
        for entry, (_, _, evidence) in zip(entries, found, strict=True)
    )
    return Statement(customer_id, contracts[0].customer_name, label, language, parts)


def _days(report: ContractReport, evidence: Evidence, now: datetime) -> tuple[DayTotals, ...]:
    period = report.period
    flat = [si for source in sorted(evidence.states) for si in evidence.states[source]]
    timeline = timeline_from_states(
        flat,
        period.interval,
        None if now >= period.end else now,
        maintenance=[m.interval for m in evidence.maintenance],
    )
    return tuple(daily_totals(timeline, local_days(period.interval, period.tz)))


def _incidents(evidence: Evidence) -> tuple[Incident, ...]:
    return tuple(sorted(evidence.incidents, key=lambda i: (i.opened, i.id)))


# --- rendering ----------------------------------------------------------------------


def _decimal_text(text: str, language: str) -> str:
    return text.replace(".", ",") if language == "nb" else text


def _duration(span: timedelta, language: str) -> str:
    """``2 h 05 min 30 s``; exact seconds kept (a report's figures are exact)."""
    micro = span // timedelta(microseconds=1)
    seconds, rest = divmod(micro, 1_000_000)
    hours, seconds = divmod(seconds, 3600)
    minutes, seconds = divmod(seconds, 60)
    sec = str(seconds) if not rest else f"{seconds}.{rest:06d}".rstrip("0")
    sec = _decimal_text(sec, language)
    tail = "" if sec == "0" else f" {sec} s"
    if hours:
        return f"{hours} h {minutes:02d} min{tail}"
    if minutes:
        return f"{minutes} min{tail}"
    return f"{sec} s"


_BAR_COLOURS = (
    (Fraction(1), "#2e7d32"),
    (Fraction(995, 1000), "#f9a825"),
    (Fraction(95, 100), "#ef6c00"),
)


def _chart(days: Sequence[DayTotals], locale: Locale, words: dict[str, str]) -> dict[str, Any]:
    """An SVG bar chart of the days, as numbers the template lays out."""
    width, height, left, bottom = 660, 130, 36, 18
    step = (width - left) / max(len(days), 1)
    plot = height - bottom - 6
    bars = []
    for k, d in enumerate(days):
        ratio = d.ratio
        x = left + k * step + 1
        if ratio is None:
            colour = "#bdbdbd"
            bar_height = 4.0
            label = f"{locale.day(d.day)}: {words['no_data_day']}"
        else:
            colour = next((c for floor, c in _BAR_COLOURS if ratio >= floor), "#c62828")
            share = min(max((ratio - Fraction(9, 10)) * 10, Fraction(0)), Fraction(1))
            bar_height = max(float(share) * plot, 2.0)
            label = f"{locale.day(d.day)}: {_percent_text(ratio * 100, locale.language)} %"
        bars.append(
            {
                "x": round(x, 2),
                "y": round(6 + plot - bar_height, 2),
                "w": round(max(step - 2, 1), 2),
                "h": round(bar_height, 2),
                "colour": colour,
                "label": label,
                "day": d.day.day,
                "tx": round(x + (step - 2) / 2, 2),
            }
        )
    grid = [
        {"y": round(6 + plot - share * plot, 2), "label": text}
        for share, text in ((1.0, "100 %"), (0.5, "95 %"), (0.0, "90 %"))
    ]
    return {
        "width": width,
        "height": height,
        "left": left,
        "bars": bars,
        "grid": grid,
        "label_y": height - 4,
        "every": 1 if len(days) <= 31 else 7,
    }


def _percent_text(value: Fraction, language: str, places: int = 6) -> str:
    # Cut, never rounded up: 99.9999996 % must not read as 100 %.
    return _decimal_text(plain(quantize(value, places, ROUND_DOWN)), language)


def _money(amount: str, currency: str, language: str) -> str:
    return f"{_decimal_text(amount, language)} {currency}"


def _latency_terms(c: Contract, lang: str) -> str:
    if c.latency is None:
        return ""
    limit = _decimal_text(plain(c.latency.limit_seconds), lang)
    return f"p{_decimal_text(plain(c.latency.percentile), lang)} \u2264 {limit} s"


def _response_terms(c: Contract, lang: str) -> str:
    if c.response is None:
        return ""
    return f"{_duration(c.response.acknowledge, lang)} / {_duration(c.response.resolve, lang)}"


def _sli_figures(report: ContractReport, words: dict[str, str], lang: str) -> list[tuple[str, str]]:
    """The counts an SLI other than availability was worked out from."""
    if report.latency is not None:
        lat = report.latency
        shown = "-" if lat.measured_seconds is None else f"{lat.measured_seconds:.6f} s"
        return [
            (f"{words['measured']} p{plain(lat.percentile)}", _decimal_text(shown, lang)),
            (words["checks_within"], f"{lat.within_limit} / {lat.checks}"),
        ]
    if report.response is not None:
        res = report.response
        late = ", ".join(res.breached) or words["none"]
        return [(words["decided_in_time"], f"{res.met} / {res.decided}"), (words["late"], late)]
    if report.contract.sli is SLIKind.QUALITY:
        return [
            (words["good_checks"], f"{plain(report.total - report.bad)} / {plain(report.total)}")
        ]
    return []


def _contract_view(part: StatementPart, words: dict[str, str], language: str) -> dict[str, Any]:
    entry = part.entry
    report = part.report
    # Every time of a contract in its own zone: the zone its periods are cut in.
    locale = Locale(language, report.period.tz)
    c = report.contract
    d = entry.data
    lang = locale.language
    a = report.availability
    verdict = report.verdict
    credit = report.credit
    terms = c.terms
    covers = [f"component {x}" for x in c.components] + [f"monitor {x}" for x in c.monitors]
    tiers = [
        words["tier_row"].format(
            below=_decimal_text(plain(t.below), lang),
            credit=_decimal_text(plain(t.credit_percent), lang),
        )
        for t in c.credit.tiers
    ]
    bad_days = [
        f"{locale.day(day.day)}: {_percent_text(day.ratio * 100, lang)} % "
        f"({_duration(day.down, lang)})"
        for day in part.days
        if day.ratio is not None and day.ratio < 1
    ]
    incidents = []
    for i in part.incidents:
        end = i.resolved
        incidents.append(
            {
                "id": i.id,
                "title": i.title,
                "opened": locale.datetime(i.opened),
                "resolved": words["still_open"] if end is None else locale.datetime(end),
                "duration": "" if end is None else _duration(end - i.opened, lang),
                "impact": locale.t(f"impact.{i.impact}"),
                "excluded": words[str(i.excluded)] if i.excluded is not None else "",
                "updates": [
                    {
                        "at": locale.datetime(u.at),
                        "status": locale.t(f"incident.{u.status}"),
                        "message": u.message,
                    }
                    for u in sorted(i.updates, key=lambda u: u.at)
                ],
            }
        )
    exclusions = [
        {
            "id": x.id,
            "title": x.title,
            "kind": words.get(x.kind, x.kind),
            "reason": x.reason,
            "span": f"{locale.datetime(x.start)} {_DASH} {locale.datetime(x.end)}",
            "not_counted": _duration(x.downtime_not_counted, lang),
        }
        for x in report.excluded
    ]
    sli = "" if report.sli_percent is None else _percent_text(report.sli_percent, lang)
    remaining = report.budget.remaining_percent()
    accepted = d.get("insufficient_data_accepted")
    return {
        "id": c.id,
        "sli_kind": words[str(c.sli)],
        "target": _decimal_text(plain(c.target), lang),
        "sli": f"{sli} %" if sli else words["no_sli"],
        "coverage": _percent_text(report.coverage * 100, lang),
        "min_coverage": _decimal_text(plain(c.min_coverage), lang),
        "verdict": words[str(verdict)],
        "verdict_class": {
            Verdict.MET: "met",
            Verdict.NOT_MET: "missed",
            Verdict.INSUFFICIENT_DATA: "nodata",
        }[verdict],
        "credit_percent": _decimal_text(plain(credit.credit_percent), lang),
        "credit_amount": _money(plain(credit.amount), credit.currency, lang),
        "local_period": (
            f"{locale.datetime(report.period.start)} {_DASH} {locale.datetime(report.period.end)}"
        ),
        "tz": report.period.tz,
        "covers": ", ".join(covers),
        "accounting": words[str(terms.accounting)]
        + (
            f" ({words['min_run']}: {max(terms.min_downtime_minutes, 1)})"
            if str(terms.accounting) == "minutes_full"
            else ""
        ),
        "maintenance": words[str(terms.maintenance)],
        "unknown": words[f"unknown.{terms.unknown}"],
        "tiers": tiers or [words["no_tiers"]],
        "cap": ""
        if c.credit.cap_percent is None
        else _decimal_text(plain(c.credit.cap_percent), lang),
        "fee": _money(plain(c.credit.monthly_fee), c.credit.currency, lang),
        "rounding": rounding_name(c.credit.rounding),
        "latency": _latency_terms(c, lang),
        "response": _response_terms(c, lang),
        "figures": [
            *_sli_figures(report, words, lang),
            (words["downtime"], _duration(a.downtime, lang)),
            (words["excluded_time"], _duration(a.excluded, lang)),
            (words["unknown_time"], _duration(a.unknown, lang)),
            (words["maintenance_time"], _duration(a.maintenance, lang)),
            (words["degraded_time"], _duration(a.degraded, lang)),
            (
                words["budget"],
                _DASH if remaining is None else f"{_decimal_text(plain(remaining), lang)} %",
            ),
        ],
        "chart": _chart(part.days, locale, words),
        "bad_days": bad_days,
        "incidents": incidents,
        "exclusions": exclusions,
        "lines": list(report.lines),
        "status": words.get(entry.status, entry.status),
        "sha256": entry.sha256,
        "accepted": None if accepted is None else accepted["reason"],
        "is_latency": c.sli is SLIKind.LATENCY,
        "is_response": c.sli is SLIKind.INCIDENT_RESPONSE,
    }


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("slamon.reports", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )


def render_statement_html(statement: Statement) -> str:
    """The statement as one self-contained HTML page (inline CSS and SVG)."""
    words = _WORDS[statement.language]
    first = statement.parts[0].report
    locale = Locale(statement.language, first.period.tz)
    totals: dict[str, Decimal] = {}
    for part in statement.parts:
        credit = part.report.credit
        totals[credit.currency] = totals.get(credit.currency, Decimal(0)) + credit.amount
    end = max(p.report.period.end for p in statement.parts)
    until = max(p.report.measured_until for p in statement.parts)
    return (
        _environment()
        .get_template("statement.html.j2")
        .render(
            w=words,
            lang=statement.language,
            customer=statement.customer_name,
            customer_id=statement.customer_id,
            period=statement.period,
            local_period=(
                f"{locale.datetime(first.period.start)} {_DASH} {locale.datetime(first.period.end)}"
            ),
            tz=first.period.tz,
            measured_until=locale.datetime(until) if until < end else "",
            contracts=[_contract_view(p, words, statement.language) for p in statement.parts],
            totals=[_money(plain(v), k, statement.language) for k, v in sorted(totals.items())],
            # Fixed PDF dates: the period's end, so the same data gives the same bytes.
            stamp=min(until, end).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
    )
