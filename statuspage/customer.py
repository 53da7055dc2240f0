"""A customer's own page: the SLA of what they bought, as plain values, and its rendering.

The shell (``slamon.reports.customer``) fills a :class:`CustomerView` from the same
evaluation the finance reports use; this module only shows it. A view holds one
customer's contracts and nothing else: no other customer, no exclusion reasons, no
names of the people who marked them. The credit is there only where the contract
allows showing it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from statuspage.i18n import Locale

if TYPE_CHECKING:
    from statuspage.render import PageRenderer
    from statuspage.snapshot import PageSnapshot


@dataclass(frozen=True, slots=True)
class CountedSpan:
    """A span that counted against the provider, and the incidents over it."""

    start: datetime
    end: datetime
    counted: str  # in the contract's unit, as the report writes it
    incidents: tuple[str, ...]  # titles


@dataclass(frozen=True, slots=True)
class ExcludedSpan:
    """An incident that did not count (its kind only: reasons may name others)."""

    title: str
    kind: str
    start: datetime
    end: datetime
    not_counted_seconds: int


@dataclass(frozen=True, slots=True)
class PastPeriod:
    """A closed period's finalized figures."""

    label: str
    sli_percent: Decimal | None  # None: nothing to measure
    met: bool
    budget_left_percent: Decimal | None
    credit: str | None  # "10 % = 250.00 EUR", only where the contract shows credits
    insufficient: bool = False  # too little of the period measured: neither met nor missed


@dataclass(frozen=True, slots=True)
class ContractView:
    """One contract's current period, its evidence, and its finalized past.

    ``coverage`` is the measured share of the period so far, in percent; below the
    contract's minimum the period is ``insufficient``: neither met nor missed.
    """

    id: str
    sli: str
    scope: tuple[str, ...]  # names of the components and monitors covered
    target: Decimal
    period: str
    period_start: datetime
    period_end: datetime
    measured_until: datetime
    complete: bool
    sli_percent: Decimal | None  # None: nothing to measure
    met: bool
    unit: str
    budget_left_percent: Decimal | None
    budget_left: Decimal
    unknown_seconds: int
    maintenance_seconds: int
    excluded_seconds: int
    counted: tuple[CountedSpan, ...] = ()
    excluded: tuple[ExcludedSpan, ...] = ()
    past: tuple[PastPeriod, ...] = ()
    credit: str | None = None
    coverage: Decimal | None = None
    insufficient: bool = False


@dataclass(frozen=True, slots=True)
class CustomerView:
    """Everything one customer's page shows."""

    customer_id: str
    name: str
    contracts: tuple[ContractView, ...]


def minutes_text(seconds: int) -> str:
    """Whole minutes, rounded up (10 s of downtime is shown, not hidden)."""
    return str(-(-seconds // 60))


def render_customer(renderer: PageRenderer, page: PageSnapshot, view: CustomerView) -> str:
    """The customer's page (served behind their token, never built into the site)."""
    loc = Locale(page.language, page.timezone)
    return renderer.env.get_template("customer.html.j2").render(
        page=page,
        loc=loc,
        now=page.generated_at,
        root=page.url.rstrip("/") + "/" if page.url else "/",
        customer=view,
        exact=lambda d: loc.percent(d, max(0, -int(d.as_tuple().exponent))),
        iso=lambda at: at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z"),
        minutes=minutes_text,
    )


def render_customer_login(
    renderer: PageRenderer, page: PageSnapshot, customer_id: str, wrong: bool
) -> str:
    """The form that asks for the customer's access token."""
    loc = Locale(page.language, page.timezone)
    return renderer.env.get_template("customer_login.html.j2").render(
        page=page,
        loc=loc,
        now=page.generated_at,
        root=page.url.rstrip("/") + "/" if page.url else "/",
        customer_id=customer_id,
        wrong=wrong,
    )
