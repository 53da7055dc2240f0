"""One contract over one period: the SLI, budget, credit, explanation and evidence.

:func:`evaluate_contract` is pure: the shell gathers the evidence (state intervals of
each covered monitor or component, maintenance, incidents, rollup counts and sketches)
and passes ``now`` (None for a period wholly in the past). The same inputs give the
same :class:`ContractReport`, and :meth:`ContractReport.summary` gives the same
strings, so a closed period's report is the same bytes every time it is rendered.

The SLIs, each an exact percent that credit tiers compare against:

* availability: from state intervals under the contract's accounting terms;
* latency: the share of answered checks no slower than the limit (from the hourly
  rollups' sketches, so to the sketch's 1 % relative accuracy); the percentile the
  contract names is also measured and shown against the limit;
* quality: the share of answered checks whose content, JSON, header and certificate
  assertions held. A check that got no answer (refused, timed out, ...) is an
  availability failure, not a quality one, and is left out; a slow answer is the
  latency SLI's business and counts as good here;
* incident_response: the share of decided incidents acknowledged and resolved within
  the limits (incidents still inside both limits are pending and left out).

Incidents marked excluded (customer-caused, force majeure) never count: their span is
an exclusion for availability, and they are left out of incident response.

Every period reports its coverage: the share of its time so far that the covered
monitors had data for (maintenance counts as known). Below the contract's
``min_coverage`` the verdict is ``insufficient data``, never met, whatever the SLI
says. Availability with nothing left to count (total 0), latency and quality with no
answered check have no SLI at all (not 100 %): also insufficient data. Incident
response with no decided incident and enough coverage is met: the period was
watched and nothing needed a response.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_DOWN, Decimal
from enum import StrEnum
from fractions import Fraction

from sla_engine.accounting.availability import Availability, UnknownPolicy, timeline_from_states
from sla_engine.accounting.exclusions import Exclusion
from sla_engine.contracts import Contract, ReportPeriod, SLIKind
from sla_engine.incidents import Incident, MaintenanceWindow
from sla_engine.money.credits import Credit, credit_for_percent
from sla_engine.money.rounding import plain, quantize
from sla_engine.reports.explain import credit_lines, exact_text, explain_credit, period_lines
from sla_engine.slis.budget import ErrorBudget
from sla_engine.slis.incident_response import IncidentTimes, incident_response_sli
from sla_engine.slis.sketch import LatencySketch
from sla_engine.time.intervals import Interval, clip, intersect, subtract, total, union
from sla_engine.time.states import State, StateInterval
from sla_engine.time.text import SpanText, seconds_plain, utc_iso

_US = timedelta(microseconds=1)


# A duration as plain decimal seconds, exact to the microsecond; an instant as ISO 8601
# in UTC with a ``Z`` (both formatted by sla_engine.time.text, which remembers instants).
seconds_text = seconds_plain
utc_text = utc_iso


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the shell gathered for one contract and period.

    ``states`` maps each covered monitor or component id to its state intervals
    (components already combined from their monitors). ``checks``, ``down_checks``,
    ``degraded_checks`` and ``sketches`` come from the hourly rollups of the covered
    monitors (hours starting inside the period).
    """

    states: Mapping[str, Sequence[StateInterval]] = field(default_factory=dict)
    maintenance: Sequence[MaintenanceWindow] = ()
    incidents: Sequence[Incident] = ()
    checks: int = 0
    down_checks: int = 0
    degraded_checks: int = 0
    unanswered_checks: int = 0
    assertion_failed_checks: int = 0
    sketches: Sequence[LatencySketch] = ()


@dataclass(frozen=True, slots=True)
class CountedInterval:
    """One span that counted against the provider (seconds, or a run of bad minutes)."""

    start: datetime
    end: datetime
    counted: Decimal
    unit: str
    without_data: timedelta
    sources: tuple[str, ...]
    incidents: tuple[str, ...]
    # The bounds as text (sla_engine.time.text.span_iso), when the explanation already
    # made it: renderers use it rather than format the same instants again.
    texts: SpanText | None = field(default=None, compare=False, repr=False)

    @property
    def duration(self) -> timedelta:
        """Wall-clock length of the span."""
        return self.end - self.start


@dataclass(frozen=True, slots=True)
class ExcludedIncident:
    """An incident that did not count, with the reason and who decided it."""

    id: str
    title: str
    kind: str
    reason: str
    excluded_by: str
    start: datetime
    end: datetime
    downtime_not_counted: timedelta


@dataclass(frozen=True, slots=True)
class LatencyFigures:
    """The latency SLI's inputs and the measured percentile against the limit."""

    percentile: Decimal
    limit_seconds: Decimal
    measured_seconds: float | None
    checks: int
    within_limit: int

    @property
    def compliant(self) -> bool:
        """The measured percentile is at most the limit (no checks: nothing to fault)."""
        return self.measured_seconds is None or Decimal(repr(self.measured_seconds)) <= (
            self.limit_seconds
        )


@dataclass(frozen=True, slots=True)
class ResponseFigures:
    """The incident response SLI's counts."""

    incidents: int
    decided: int
    met: int
    breached: tuple[str, ...]


class Verdict(StrEnum):
    """What a period's figures say about the target."""

    MET = "met"
    NOT_MET = "not met"
    INSUFFICIENT_DATA = "insufficient data"


_MET_TEXT = {
    Verdict.MET: "yes",
    Verdict.NOT_MET: "no",
    Verdict.INSUFFICIENT_DATA: str(Verdict.INSUFFICIENT_DATA),
}


def coverage_text(coverage: Fraction) -> str:
    """A coverage share in percent to 6 decimals, cut (never rounded up past a minimum)."""
    return plain(quantize(coverage * 100, 6, ROUND_DOWN))


@dataclass(frozen=True, slots=True)
class ContractReport:
    """Everything one contract and period produced; see :meth:`summary` for the figures.

    ``sli_percent`` is None when the SLI has nothing to measure: no answered check for
    latency or quality, no decided incident for incident response.
    """

    contract: Contract
    period: ReportPeriod
    measured_until: datetime
    availability: Availability
    sli_percent: Fraction | None
    total: Decimal
    bad: Decimal
    unit: str
    budget: ErrorBudget
    credit: Credit
    lines: tuple[str, ...]
    counted: tuple[CountedInterval, ...]
    excluded: tuple[ExcludedIncident, ...]
    latency: LatencyFigures | None = None
    response: ResponseFigures | None = None

    @property
    def complete(self) -> bool:
        """True when the whole period is in the past (the figures are final)."""
        return self.measured_until >= self.period.end

    @property
    def coverage(self) -> Fraction:
        """The share of the period so far that had data (0-1)."""
        return self.availability.coverage

    @property
    def sufficient(self) -> bool:
        """Enough of the period was measured, and the SLI had something to measure."""
        if self.coverage * 100 < Fraction(self.contract.min_coverage):
            return False
        return self.sli_percent is not None or self.contract.sli is SLIKind.INCIDENT_RESPONSE

    @property
    def verdict(self) -> Verdict:
        """Met, not met, or insufficient data (never met without enough data)."""
        if not self.sufficient:
            return Verdict.INSUFFICIENT_DATA
        if self.sli_percent is None or self.sli_percent >= Fraction(self.contract.target):
            return Verdict.MET
        return Verdict.NOT_MET

    @property
    def met(self) -> bool:
        """The SLI reached the target (compared exactly) on enough data."""
        return self.verdict is Verdict.MET

    @property
    def text(self) -> str:
        """The explanation, one line per step, ending in a newline."""
        return "\n".join(self.lines) + "\n"

    def summary(self) -> dict[str, str]:
        """The report's figures as strings, in a fixed order (one CSV row, one diff).

        Percents are shown rounded half up to 6 decimals; tiers used the exact value.
        """
        c = self.contract
        a = self.availability
        remaining = self.budget.remaining_percent()
        tier = self.credit.tier
        return {
            "contract_id": c.id,
            "customer_id": c.customer_id,
            "customer_name": c.customer_name,
            "sli": str(c.sli),
            "period": self.period.label,
            "timezone": self.period.tz,
            "period_start": utc_text(self.period.start),
            "period_end": utc_text(self.period.end),
            "measured_until": utc_text(self.measured_until),
            "complete": "yes" if self.complete else "no",
            "target_percent": plain(c.target),
            "sli_percent": "" if self.sli_percent is None else plain(quantize(self.sli_percent, 6)),
            "met": _MET_TEXT[self.verdict],
            "coverage_percent": coverage_text(self.coverage),
            "min_coverage_percent": plain(c.min_coverage),
            "unit": self.unit,
            "total": plain(self.total),
            "bad": plain(self.bad),
            "downtime_seconds": seconds_text(a.downtime),
            "excluded_seconds": seconds_text(a.excluded),
            "unknown_seconds": seconds_text(a.unknown),
            "maintenance_seconds": seconds_text(a.maintenance),
            "degraded_seconds": seconds_text(a.degraded),
            "error_budget_remaining_percent": "" if remaining is None else plain(remaining),
            "tier_below_percent": "" if tier is None else plain(tier.below),
            "credit_percent": plain(self.credit.credit_percent),
            "monthly_fee": plain(self.credit.monthly_fee),
            "credit_amount": plain(self.credit.amount),
            "currency": self.credit.currency,
        }


def _exclusions(incidents: Sequence[Incident], until: datetime) -> list[tuple[Incident, Exclusion]]:
    out = []
    for incident in incidents:
        if incident.excluded is None:
            continue
        span = incident.span(until)
        if span.empty:
            continue
        out.append((incident, Exclusion(span, incident.exclusion_reason, incident.excluded)))
    return out


def _bad_by_source(
    states: Mapping[str, Sequence[StateInterval]], window: Interval, unknown_counts: bool
) -> dict[str, list[Interval]]:
    kinds = {State.DOWN, State.UNKNOWN} if unknown_counts else {State.DOWN}
    out = {}
    end = window.end
    for source in sorted(states):
        intervals = states[source]
        spans = [si.closed_at(end) for si in intervals if si.state in kinds]
        if unknown_counts:  # no interval at all: no data
            spans += subtract([window], [si.closed_at(end) for si in intervals])
        out[source] = clip(spans, window)
    return out


class _Spans:
    """Sorted, disjoint spans with a quick overlap test (bisection on their ends)."""

    __slots__ = ("ends", "spans")

    def __init__(self, spans: Sequence[Interval]) -> None:
        self.spans = spans
        self.ends = [iv.end for iv in spans]

    def touches(self, span: Interval) -> bool:
        """Whether any of the spans overlaps ``span``."""
        k = bisect_right(self.ends, span.start)
        return k < len(self.spans) and self.spans[k].start < span.end

    def overlapping(self, span: Interval) -> list[Interval]:
        out = []
        for k in range(bisect_right(self.ends, span.start), len(self.spans)):
            iv = self.spans[k]
            if iv.start >= span.end:
                break
            out.append(iv)
        return out


def _counted(
    availability: Availability,
    states: Mapping[str, Sequence[StateInterval]],
    unknown: Sequence[Interval],
    incidents: Sequence[Incident],
    until: datetime,
    *,
    texts: Sequence[SpanText] = (),
) -> tuple[CountedInterval, ...]:
    window = Interval(availability.window.start, availability.measured_until)
    unknown_counts = availability.terms.unknown is UnknownPolicy.DOWN
    by_source = {
        source: _Spans(spans)
        for source, spans in _bad_by_source(states, window, unknown_counts).items()
    }
    blind = _Spans(union(unknown))
    live = [(i.id, i.span(until)) for i in incidents if i.excluded is None]
    live = [(name, span) for name, span in live if not span.empty]
    out = []
    for k, span in enumerate(availability.bad_spans):
        if availability.unit == "seconds":
            counted = Decimal(span.duration // _US) / Decimal(1_000_000)
        else:
            counted = Decimal(-(-span.duration // timedelta(minutes=1)))
        sources = tuple(s for s, spans in by_source.items() if spans.touches(span))
        names = tuple(sorted(name for name, iv in live if iv.overlaps(span)))
        without = timedelta()
        if unknown_counts:
            for iv in blind.overlapping(span):
                part = iv.intersection(span)
                without += part.duration if part is not None else timedelta()
        out.append(
            CountedInterval(
                span.start,
                span.end,
                counted,
                availability.unit,
                without,
                sources,
                names,
                texts[k] if k < len(texts) else None,
            )
        )
    return tuple(out)


def _excluded(
    pairs: Sequence[tuple[Incident, Exclusion]], availability: Availability, bad: list[Interval]
) -> tuple[ExcludedIncident, ...]:
    window = Interval(availability.window.start, availability.measured_until)
    out = []
    for incident, exclusion in pairs:
        part = clip([exclusion.interval], window)
        if not part:
            continue
        out.append(
            ExcludedIncident(
                incident.id,
                incident.title,
                str(exclusion.kind),
                exclusion.reason,
                incident.excluded_by,
                part[0].start,
                part[0].end,
                total(intersect(bad, part)),
            )
        )
    return tuple(sorted(out, key=lambda e: (e.start, e.id)))


def _credit_lines(percent: Fraction, credit: Credit, contract: Contract) -> list[str]:
    return credit_lines(exact_text(percent), credit, contract.credit)


def _ratio_lines(what: str, good: int, counted: int, percent: Fraction | None) -> list[str]:
    if percent is None:
        return [f"{what}: none in the period: there is no SLI to compare with the target"]
    return [
        f"{what}: {good} of {counted} x 100 = {plain(quantize(percent, 6))} % "
        f"(shown rounded half up to 6 decimals; exact value {exact_text(percent)} %)"
    ]


def _budget_line(budget: ErrorBudget, unit: str) -> str:
    remaining = budget.remaining_percent()
    share = "undefined (no budget)" if remaining is None else f"{plain(remaining)} % of the budget"
    return (
        f"Error budget: (1 - {plain(budget.target)} / 100) x {plain(budget.total)} {unit} "
        f"= {plain(budget.budget)} {unit}; used {plain(budget.consumed)} {unit}; "
        f"remaining {plain(budget.remaining)} {unit} = {share}"
    )


def _percent(good: int, counted: int) -> Fraction | None:
    return None if counted == 0 else Fraction(100 * good, counted)


def _coverage_lines(report: ContractReport) -> list[str]:
    """How much of the period had data, against the minimum, and the verdict."""
    a = report.availability
    c = report.contract
    out = [
        f"Coverage: {seconds_text(a.elapsed - a.unknown)} s of {seconds_text(a.elapsed)} s "
        f"had data = {coverage_text(report.coverage)} % (minimum {plain(c.min_coverage)} %; "
        "shown cut to 6 decimals)"
    ]
    verdict = report.verdict
    if verdict is Verdict.INSUFFICIENT_DATA:
        why = (
            "the SLI had nothing to measure"
            if report.coverage * 100 >= Fraction(c.min_coverage)
            else "less of the period was measured than the contract's minimum"
        )
        out.append(
            f"Result: insufficient data ({why}): the target is not shown as met, and the "
            "period is finalized only with the insufficient data accepted and a reason"
        )
    else:
        out.append(f"Result: target {plain(c.target)} % {verdict}")
    return out


def _with_coverage(report: ContractReport) -> ContractReport:
    return replace(report, lines=(*report.lines, *_coverage_lines(report)))


def _latency(contract: Contract, evidence: Evidence) -> tuple[LatencyFigures, int, int]:
    assert contract.latency is not None
    merged = LatencySketch.merged(evidence.sketches)
    limit = float(contract.latency.limit_seconds)
    within = merged.count_at_most(limit)
    measured = merged.quantile(float(contract.latency.percentile) / 100)
    figures = LatencyFigures(
        contract.latency.percentile, contract.latency.limit_seconds, measured, merged.count, within
    )
    return figures, within, merged.count


def _response(
    contract: Contract, period: ReportPeriod, incidents: Sequence[Incident], until: datetime
) -> ResponseFigures:
    assert contract.response is not None
    times = [
        IncidentTimes(i.id, i.opened, i.acknowledged, i.resolved)
        for i in incidents
        if i.excluded is None
    ]
    sli = incident_response_sli(times, contract.response, period.interval, until)
    # Decided: late on either count, or resolved (in time, so acknowledged in time too).
    decided = [
        r
        for r in sli.responses
        if r.acknowledge.breached or r.resolve.breached or not r.resolve.pending
    ]
    met = sum(not (r.acknowledge.breached or r.resolve.breached) for r in decided)
    return ResponseFigures(
        len(sli.responses), len(decided), met, tuple(r.incident_id for r in sli.breaches)
    )


def evaluate_contract(
    contract: Contract, period: ReportPeriod, evidence: Evidence, now: datetime | None = None
) -> ContractReport:
    """The report of ``contract`` over ``period`` from ``evidence``, as known at ``now``.

    ``now=None`` (or a ``now`` past the period's end) measures the whole period.
    """
    window = period.interval
    if now is not None and now >= period.end:
        now = None
    flat = [si for source in sorted(evidence.states) for si in evidence.states[source]]
    timeline = timeline_from_states(
        flat, window, now, maintenance=[m.interval for m in evidence.maintenance]
    )
    until = timeline.measured_until or period.end
    pairs = _exclusions(evidence.incidents, until)
    explanation = explain_credit(
        period,
        timeline,
        contract.terms,
        contract.credit,
        exclusions=[e for _, e in pairs],
        target=contract.target,
    )
    availability = explanation.availability
    window_now = Interval(period.start, until)
    down = clip(timeline.downtime, window_now)
    if contract.terms.unknown is UnknownPolicy.DOWN:
        down = clip([*down, *timeline.unknown], window_now)
    counted = _counted(
        availability,
        evidence.states,
        clip(timeline.unknown, window_now),
        evidence.incidents,
        until,
        texts=explanation.bad_span_texts,
    )
    excluded = _excluded(pairs, availability, down)
    if contract.sli is SLIKind.AVAILABILITY:
        return _with_coverage(
            ContractReport(
                contract,
                period,
                until,
                availability,
                # 0 of 0 is no availability at all, not 100 %.
                availability.percent_exact if availability.total else None,
                availability.total,
                availability.bad,
                availability.unit,
                explanation.budget
                or ErrorBudget(contract.target, availability.total, availability.bad),
                explanation.credit,
                explanation.lines,
                counted,
                excluded,
            )
        )

    latency: LatencyFigures | None = None
    response: ResponseFigures | None = None
    lines = ["Service credit explanation", *period_lines(period, until)]
    if contract.sli is SLIKind.LATENCY:
        latency, good, counted_n = _latency(contract, evidence)
        unit = "checks"
        shown = "none" if latency.measured_seconds is None else f"{latency.measured_seconds:.6f} s"
        lines.append(
            f"Rule: p{plain(latency.percentile)} of response times at most "
            f"{plain(latency.limit_seconds)} s; the SLI is the share of answered checks "
            "within the limit (from hourly sketches, 1 % relative accuracy)"
        )
        lines.append(
            f"Measured p{plain(latency.percentile)}: {shown} "
            f"({'within' if latency.compliant else 'over'} the limit)"
        )
        lines += _ratio_lines("Checks within the limit", good, counted_n, _percent(good, counted_n))
    elif contract.sli is SLIKind.QUALITY:
        unit = "checks"
        counted_n = evidence.checks - evidence.unanswered_checks
        good = counted_n - evidence.assertion_failed_checks
        lines.append(
            "Rule: the SLI is the share of answered checks whose assertions held "
            "(checks with no answer count for availability, not here)"
        )
        lines.append(
            f"Checks: {evidence.checks}; no answer {evidence.unanswered_checks}; "
            f"answered {counted_n}; assertions failed {evidence.assertion_failed_checks}; "
            f"good {good}"
        )
        lines += _ratio_lines("Good answered checks", good, counted_n, _percent(good, counted_n))
    else:
        response = _response(contract, period, evidence.incidents, until)
        assert contract.response is not None
        unit = "incidents"
        counted_n, good = response.decided, response.met
        lines.append(
            f"Rule: acknowledge within {seconds_text(contract.response.acknowledge)} s and "
            f"resolve within {seconds_text(contract.response.resolve)} s of opening; "
            "excluded incidents do not count; pending ones wait until decided"
        )
        lines.append(
            f"Incidents opened in the period: {response.incidents}; decided {response.decided}; "
            f"late: {', '.join(response.breached) or 'none'}"
        )
        lines += _ratio_lines(
            "Incidents handled in time", good, counted_n, _percent(good, counted_n)
        )
    percent = _percent(good, counted_n)
    budget = ErrorBudget(contract.target, Decimal(counted_n), Decimal(counted_n - good))
    if percent is None:
        # No SLI: no tier can be reached, so nothing is owed on these figures.
        credit = credit_for_percent(Fraction(100), contract.credit)
        lines += [
            "Tier: none; without an SLI no tier applies",
            *_credit_lines(Fraction(100), credit, contract)[-2:],
        ]
    else:
        credit = credit_for_percent(percent, contract.credit)
        lines += _credit_lines(percent, credit, contract)
    lines.append(_budget_line(budget, unit))
    return _with_coverage(
        ContractReport(
            contract,
            period,
            until,
            availability,
            percent,
            Decimal(counted_n),
            Decimal(counted_n - good),
            unit,
            budget,
            credit,
            tuple(lines),
            counted,
            excluded,
            latency,
            response,
        )
    )
