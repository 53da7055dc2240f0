"""``[[contracts]]``: a customer's SLA terms, tiers and fee, as the engine's Contract."""

from __future__ import annotations

from datetime import timedelta
from decimal import (
    Decimal,
)
from typing import Annotated, Literal, Self

from pydantic import (
    AfterValidator,
    Field,
    SecretStr,
    field_validator,
    model_validator,
)

from probes.durations import Duration
from sla_engine.accounting.availability import (
    Accounting,
    AccountingTerms,
    MaintenancePolicy,
    UnknownPolicy,
)
from sla_engine.contracts import (
    DEFAULT_MIN_COVERAGE,
    Contract,
    LatencyObjective,
    PeriodRule,
    SLIKind,
)
from sla_engine.money.credits import CreditTerms, Tier
from sla_engine.money.currencies import minor_units
from sla_engine.money.rounding import rounding_rule
from sla_engine.slis.incident_response import ResponseLimits
from slamon.config.common import (
    ExactDecimal,
    MonitorId,
    Percent,
    Section,
    at_least,
    check_tz,
)


class TierConfig(Section):
    """A credit tier: ``credit_percent`` when availability is strictly below ``below``."""

    below: Percent
    credit_percent: Percent

    @field_validator("below")
    @classmethod
    def _above_zero(cls, value: Decimal) -> Decimal:
        # Availability is never strictly below 0: such a tier could never apply.
        if value <= 0:
            raise ValueError("a tier threshold must be above 0 (it applies strictly below it)")
        return value


class ContractConfig(Section):
    """A customer's SLA (or an internal SLO with a rolling window): ``[[contracts]]``."""

    id: MonitorId
    customer: str = Field(min_length=1)
    customer_id: str = Field(min_length=1)
    monitors: list[MonitorId] = Field(default_factory=list)
    components: list[MonitorId] = Field(default_factory=list)
    sli: SLIKind = SLIKind.AVAILABILITY
    target: Percent
    period: PeriodRule = PeriodRule.MONTH
    timezone: Annotated[str, AfterValidator(check_tz)] = "UTC"
    window: Annotated[Duration, at_least(3600, "s (1h)")] | None = None
    accounting: Literal["seconds", "minutes_any", "minutes_full"] = "seconds"
    min_downtime_minutes: int = Field(default=0, ge=0, le=1440)
    maintenance: Literal["exclude_from_total", "count_as_up"] = "count_as_up"
    unknown: Literal["up", "down", "exclude"]
    tiers: list[TierConfig] = Field(default_factory=list)
    credit_cap_percent: Percent | None = None
    monthly_fee: ExactDecimal | None = Field(default=None, ge=0)
    currency: str | None = None
    rounding: Literal["half_up", "half_even", "half_down", "up", "down", "ceiling", "floor"] = (
        "half_up"
    )
    percentile: ExactDecimal | None = Field(default=None, gt=0, lt=100)
    latency_limit: Annotated[Duration, at_least(0.001, "s")] | None = None
    acknowledge_within: Annotated[Duration, at_least(1, "s")] | None = None
    resolve_within: Annotated[Duration, at_least(1, "s")] | None = None
    # The customer's own page (/c/<customer_id>) shows the credit only where this says so.
    show_credit: bool = False
    # Below this share of the period measured, a period is "insufficient data".
    min_coverage: Percent = DEFAULT_MIN_COVERAGE

    @field_validator("currency")
    @classmethod
    def _currency(cls, value: str | None) -> str | None:
        if value is not None:
            minor_units(value)
        return value

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if not self.monitors and not self.components:
            raise ValueError("components: name the components or monitors the contract covers")
        rolling = self.period is PeriodRule.ROLLING
        if rolling and self.window is None:
            raise ValueError('window: a rolling period needs a window, e.g. window = "30d"')
        if not rolling and self.window is not None:
            raise ValueError("window: only a rolling period has a window")
        if self.min_downtime_minutes > 1 and self.accounting != "minutes_full":
            raise ValueError("min_downtime_minutes: applies only to minutes_full accounting")
        latency = self.sli is SLIKind.LATENCY
        if latency and (self.percentile is None or self.latency_limit is None):
            raise ValueError(
                'percentile: a latency SLI needs percentile = "95" and latency_limit = "500ms"'
            )
        if not latency and (self.percentile is not None or self.latency_limit is not None):
            raise ValueError("percentile: percentile and latency_limit go with sli = latency")
        response = self.sli is SLIKind.INCIDENT_RESPONSE
        if response and (self.acknowledge_within is None or self.resolve_within is None):
            raise ValueError(
                "acknowledge_within: an incident_response SLI needs acknowledge_within "
                "and resolve_within"
            )
        if not response and (self.acknowledge_within or self.resolve_within):
            raise ValueError(
                "acknowledge_within: acknowledge_within and resolve_within go with "
                "sli = incident_response"
            )
        if response and not self.components:
            raise ValueError("components: incidents belong to components; name them")
        if not rolling and (self.monthly_fee is None or self.currency is None):
            raise ValueError(
                'monthly_fee: a customer contract needs monthly_fee = "1000.00" and '
                'currency = "EUR"'
            )
        try:
            self.credit_terms()
        except ValueError as exc:
            raise ValueError(f"tiers: {exc}") from None
        return self

    def credit_terms(self) -> CreditTerms:
        """The credit part as the engine's value."""
        return CreditTerms(
            tiers=tuple(Tier(t.below, t.credit_percent) for t in self.tiers),
            cap_percent=self.credit_cap_percent,
            monthly_fee=self.monthly_fee if self.monthly_fee is not None else Decimal(0),
            # An internal SLO without a fee owes nothing; the currency only labels zeros.
            currency=self.currency or "EUR",
            rounding=rounding_rule(self.rounding),
        )

    def to_contract(self) -> Contract:
        """The engine's Contract value for this entry."""
        latency = None
        if self.percentile is not None and self.latency_limit is not None:
            latency = LatencyObjective(self.percentile, Decimal(repr(self.latency_limit)))
        response = None
        if self.acknowledge_within is not None and self.resolve_within is not None:
            response = ResponseLimits(
                timedelta(seconds=self.acknowledge_within), timedelta(seconds=self.resolve_within)
            )
        return Contract(
            id=self.id,
            customer_id=self.customer_id,
            customer_name=self.customer,
            monitors=tuple(self.monitors),
            components=tuple(self.components),
            sli=self.sli,
            target=self.target,
            period=self.period,
            tz=self.timezone,
            window=None if self.window is None else timedelta(seconds=self.window),
            terms=AccountingTerms(
                accounting=Accounting(self.accounting),
                unknown=UnknownPolicy(self.unknown),
                maintenance=MaintenancePolicy(self.maintenance),
                min_downtime_minutes=self.min_downtime_minutes,
            ),
            credit=self.credit_terms(),
            latency=latency,
            response=response,
            min_coverage=self.min_coverage,
        )


MIN_CUSTOMER_TOKEN = 24


class CustomerConfig(Section):
    """``[[customers]]``: a customer's own page, ``/c/<id>``, opened by its ``token``.

    ``id`` is the ``customer_id`` of that customer's contracts; write the token as
    ``${ENV}``. The page shows those contracts only.
    """

    id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    token: SecretStr

    @field_validator("token")
    @classmethod
    def _long_enough(cls, value: SecretStr) -> SecretStr:
        if len(value.get_secret_value()) < MIN_CUSTOMER_TOKEN:
            raise ValueError(
                f"must be at least {MIN_CUSTOMER_TOKEN} characters (it is all that guards "
                "the page); generate one, e.g. with `openssl rand -hex 24`"
            )
        return value
