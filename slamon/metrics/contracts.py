"""``slamon_contract_*``: each calendar contract's current period, as of the last refresh.

Read at scrape time from :class:`slamon.reports.current.CurrentContracts`, which the
alerting loop refreshes; a scrape never queries the database. The contract id is the
only label besides the currency: customer names stay off /metrics. Ratios are 0-1;
the credit amount is in the currency's units (a float here is for graphs; the
reports carry the exact decimal). A series whose value is undefined (no SLI yet, a
100 % target's budget) is left out rather than shown as 0 or 1.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from typing import TYPE_CHECKING

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from sla_engine.reports.report import Verdict

if TYPE_CHECKING:
    from prometheus_client.metrics_core import Metric

    from slamon.reports.current import CurrentContracts


def _ratio(percent: Decimal) -> float:
    # Divided exactly first: float(Decimal("99.9")) / 100 is 0.9990000000000001.
    return float(Fraction(percent) / 100)


class ContractCollector(Collector):
    """Exposes the last refresh of every calendar contract's current period."""

    def __init__(self, current: CurrentContracts) -> None:
        self.current = current

    def collect(self) -> Iterable[Metric]:
        """Yield every family; empty until the first refresh."""
        labels = ["contract"]

        def gauge(name: str, text: str, extra: tuple[str, ...] = ()) -> GaugeMetricFamily:
            return GaugeMetricFamily(name, text, labels=[*labels, *extra])

        sli = gauge(
            "slamon_contract_sli_ratio", "The contract's SLI over its current period so far."
        )
        availability = gauge(
            "slamon_contract_availability_ratio",
            "Availability of what the contract covers, under its accounting rules, this period.",
        )
        target = gauge("slamon_contract_target_ratio", "The contract's target.")
        budget = gauge(
            "slamon_contract_error_budget_remaining_ratio",
            "Share of the period's error budget left so far (negative once overspent).",
        )
        coverage = gauge(
            "slamon_contract_coverage_ratio", "Share of the period so far that had data."
        )
        minimum = gauge(
            "slamon_contract_min_coverage_ratio",
            "Coverage below which the period is insufficient data.",
        )
        insufficient = gauge(
            "slamon_contract_insufficient_data",
            "1 when the period so far has insufficient data (never counted as met).",
        )
        met = gauge("slamon_contract_met", "1 when the target is met so far on enough data.")
        credit = gauge(
            "slamon_contract_credit_ratio", "Credit owed if the period ended now, share of the fee."
        )
        amount = gauge(
            "slamon_contract_credit_amount",
            "Credit owed if the period ended now, in the currency's units.",
            ("currency",),
        )
        period_end = gauge(
            "slamon_contract_period_end_timestamp_seconds", "When the current period ends."
        )
        reports = self.current.reports  # one read: the refresh swaps the whole dict
        for cid, r in sorted(reports.items()):
            key = [cid]
            if r.sli_percent is not None:
                sli.add_metric(key, float(r.sli_percent / 100))
            if r.availability.total:
                availability.add_metric(key, float(r.availability.ratio))
            target.add_metric(key, _ratio(r.contract.target))
            share = r.budget.remaining_share
            if share is not None:
                budget.add_metric(key, float(share))
            coverage.add_metric(key, float(r.coverage))
            minimum.add_metric(key, _ratio(r.contract.min_coverage))
            insufficient.add_metric(key, 1.0 if r.verdict is Verdict.INSUFFICIENT_DATA else 0.0)
            met.add_metric(key, 1.0 if r.verdict is Verdict.MET else 0.0)
            credit.add_metric(key, _ratio(r.credit.credit_percent))
            amount.add_metric([cid, r.credit.currency], float(r.credit.amount))
            period_end.add_metric(key, r.period.end.timestamp())
        yield from (
            sli,
            availability,
            target,
            budget,
            coverage,
            minimum,
            insufficient,
            met,
            credit,
            amount,
            period_end,
        )
        evaluated = self.current.evaluated_at
        if evaluated is not None:
            yield GaugeMetricFamily(
                "slamon_contract_evaluated_timestamp_seconds",
                "When the contracts' figures were last refreshed.",
                value=evaluated.timestamp(),
            )
