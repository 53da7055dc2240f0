"""The what-if calculator: cases in the format of ``sla_vectors.json``, no store needed.

A case names a period (``start``, ``end`` with offsets, ``tz``), ``outages`` and
``maintenance`` as ``[start, end)`` pairs, the accounting rule, target, tiers, cap,
fee and currency. :func:`evaluate_case` returns the fields of the vectors' ``expected``
under the same names. Extensions beyond the vectors (all optional): ``unknown`` spans
with ``unknown_policy`` (required when there are unknown spans), ``exclusions`` as
``{"start", "end", "reason", "kind"}`` objects, and ``rounding`` (spelled as in
``[[contracts]]``: ``half_up``, the default, ``half_even``, ``half_down``, ``up``,
``down``, ``ceiling``, ``floor``; the ``decimal`` module's ``ROUND_HALF_EVEN`` is
accepted too). A key the format does not know is an error, never ignored: a
misspelled ``credit_cap_percent`` would otherwise give an uncapped credit.

Numbers are read exactly: pass the JSON through ``json.loads(text, parse_float=Decimal)``
so that ``999.95`` means 999.95, not the float nearest to it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from sla_engine.accounting.availability import (
    AccountingTerms,
    Availability,
    UnknownPolicy,
    timeline_from_spans,
)
from sla_engine.accounting.exclusions import Exclusion
from sla_engine.contracts import ReportPeriod
from sla_engine.money.credits import CreditTerms, Tier, compute_credit
from sla_engine.money.rounding import plain, rounding_rule
from sla_engine.reports.explain import explain_credit
from sla_engine.slis.budget import error_budget
from sla_engine.time.intervals import Interval

EXPECTED_FIELDS = (
    "total_seconds",
    "downtime_seconds",
    "total_minutes",
    "bad_minutes",
    "availability_percent",
    "error_budget_remaining_percent",
    "credit_percent",
    "credit_amount",
)


CASE_KEYS = frozenset(
    {
        "id",
        "description",
        "period",
        "outages",
        "maintenance",
        "unknown",
        "exclusions",
        "accounting",
        "maintenance_convention",
        "unknown_policy",
        "min_downtime_minutes",
        "target",
        "tiers",
        "credit_cap_percent",
        "monthly_fee",
        "currency",
        "rounding",
        "expected",
    }
)
_PERIOD_KEYS = frozenset({"start", "end", "tz"})
_TIER_KEYS = frozenset({"below", "credit_percent"})
_EXCLUSION_KEYS = frozenset({"start", "end", "reason", "kind"})


class CaseError(ValueError):
    """A what-if case is malformed; the message names the case and the field."""


def _known_keys(item: Mapping[str, Any], known: frozenset[str], where: str = "") -> None:
    """Refuse a key ``known`` does not hold, suggesting the nearest known one."""
    for key in item:
        if key in known:
            continue
        near = difflib.get_close_matches(str(key), sorted(known), n=1, cutoff=0.6)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        path = f"{where}.{key}" if where else str(key)
        raise CaseError(f"{path}: unknown key{hint}; known keys: {', '.join(sorted(known))}")


@dataclass(frozen=True, slots=True)
class CaseResult:
    """One case's figures (``fields``, named as in the vectors) and its explanation."""

    id: str
    fields: dict[str, Any]
    lines: tuple[str, ...]


def _number(value: Decimal) -> int | str:
    """An integral value as a JSON integer, any other as an exact decimal string."""
    return int(value) if value == value.to_integral_value() else plain(value.normalize())


def _decimal(case: Mapping[str, Any], key: str, *, default: Any = None) -> Decimal:
    value = case.get(key, default)
    if isinstance(value, bool) or value is None:
        raise CaseError(f"{key}: expected a decimal number, got {value!r}")
    if isinstance(value, float):
        raise CaseError(
            f"{key}: got the float {value!r}; read the file with parse_float=Decimal "
            "or write the number as a string"
        )
    try:
        out = Decimal(str(value)) if isinstance(value, int | str) else Decimal(value)
    except ArithmeticError:
        raise CaseError(f"{key}: not a decimal number: {value!r}") from None
    if not out.is_finite():
        raise CaseError(f"{key}: must be finite, got {value!r}")
    return out


def _instant(value: Any, where: str) -> datetime:
    if not isinstance(value, str):
        raise CaseError(f"{where}: expected an ISO 8601 time with an offset, got {value!r}")
    try:
        out = datetime.fromisoformat(value)
    except ValueError:
        raise CaseError(f"{where}: not an ISO 8601 time: {value!r}") from None
    if out.tzinfo is None:
        raise CaseError(f"{where}: needs a UTC offset: {value!r}")
    return out


def _spans(case: Mapping[str, Any], key: str) -> list[Interval]:
    pairs = case.get(key, [])
    if not isinstance(pairs, list):
        raise CaseError(f"{key}: expected a list of [start, end) pairs")
    out = []
    for i, pair in enumerate(pairs):
        if not isinstance(pair, list) or len(pair) != 2:
            raise CaseError(f"{key}[{i}]: expected a [start, end] pair, got {pair!r}")
        start, end = _instant(pair[0], f"{key}[{i}][0]"), _instant(pair[1], f"{key}[{i}][1]")
        if end < start:
            raise CaseError(f"{key}[{i}]: ends before it starts")
        out.append(Interval(start, end))
    return out


def _exclusions(case: Mapping[str, Any]) -> list[Exclusion]:
    out = []
    for i, item in enumerate(case.get("exclusions", [])):
        where = f"exclusions[{i}]"
        if not isinstance(item, Mapping):
            raise CaseError(f"{where}: expected an object with start, end, reason, kind")
        _known_keys(item, _EXCLUSION_KEYS, where)
        start, end = (
            _instant(item.get("start"), f"{where}.start"),
            _instant(item.get("end"), f"{where}.end"),
        )
        try:
            out.append(
                Exclusion(Interval(start, end), str(item.get("reason", "")), item.get("kind", ""))
            )
        except ValueError as exc:
            raise CaseError(f"{where}: {exc}") from None
    return out


def _terms(case: Mapping[str, Any], has_unknown: bool) -> AccountingTerms:
    policy = case.get("unknown_policy")
    if policy is None:
        if has_unknown:
            raise CaseError("unknown_policy: required with unknown spans (up, down or exclude)")
        policy = UnknownPolicy.EXCLUDE  # nothing is unknown: the policy cannot matter
    try:
        return AccountingTerms(
            accounting=case.get("accounting", "seconds"),
            unknown=policy,
            maintenance=case.get("maintenance_convention", "count_as_up"),
            min_downtime_minutes=int(case.get("min_downtime_minutes", 0)),
        )
    except ValueError as exc:
        raise CaseError(str(exc)) from None


def _tier(tier: Any, where: str) -> Tier:
    if not isinstance(tier, Mapping):
        raise CaseError(f"{where}: expected an object with below and credit_percent")
    _known_keys(tier, _TIER_KEYS, where)
    try:
        below = _decimal(tier, "below")
        credit = _decimal(tier, "credit_percent")
    except CaseError as exc:
        raise CaseError(f"{where}.{exc}") from None
    # Checked here, not only by Tier, so that the message names the field.
    if not 0 < below <= 100:
        raise CaseError(f"{where}.below: must be a percent in (0, 100], got {plain(below)}")
    if credit < 0:
        raise CaseError(f"{where}.credit_percent: must be >= 0, got {plain(credit)}")
    return Tier(below, credit)


def _credit_terms(case: Mapping[str, Any]) -> CreditTerms:
    listed = case.get("tiers", [])
    if not isinstance(listed, list):
        raise CaseError("tiers: expected a list of {below, credit_percent} objects")
    tiers = [_tier(tier, f"tiers[{i}]") for i, tier in enumerate(listed)]
    cap = case.get("credit_cap_percent")
    try:
        rounding = rounding_rule(str(case.get("rounding", "half_up")))
    except ValueError as exc:
        raise CaseError(f"rounding: {exc}") from None
    try:
        return CreditTerms(
            tiers=tuple(tiers),
            cap_percent=None if cap is None else _decimal(case, "credit_cap_percent"),
            monthly_fee=_decimal(case, "monthly_fee", default="0"),
            currency=str(case.get("currency", "")),
            rounding=rounding,
        )
    except ValueError as exc:
        raise CaseError(str(exc)) from None


def _fields(availability: Availability, terms: CreditTerms, target: Decimal) -> dict[str, Any]:
    budget = error_budget(availability, target)
    credit = compute_credit(availability, terms)
    out: dict[str, Any] = {}
    if availability.unit == "seconds":
        out["total_seconds"] = _number(availability.total)
        out["downtime_seconds"] = _number(availability.bad)
    else:
        out["total_minutes"] = _number(availability.total)
        out["bad_minutes"] = _number(availability.bad)
    out["availability_percent"] = str(availability.percent_rounded(6))
    remaining = budget.remaining_percent(6)
    out["error_budget_remaining_percent"] = None if remaining is None else str(remaining)
    out["credit_percent"] = _number(credit.credit_percent)
    out["credit_amount"] = str(credit.amount)
    return out


def evaluate_case(case: Mapping[str, Any], index: int = 0) -> CaseResult:
    """Evaluate one case; CaseError names the case and the field on bad input."""
    ident = str(case.get("id", f"case {index + 1}"))
    try:
        _known_keys(case, CASE_KEYS)
        period = case.get("period")
        if not isinstance(period, Mapping):
            raise CaseError("period: expected an object with start, end and tz")
        _known_keys(period, _PERIOD_KEYS, "period")
        start = _instant(period.get("start"), "period.start")
        end = _instant(period.get("end"), "period.end")
        try:
            window = ReportPeriod("what-if", str(period.get("tz", "UTC")), start, end)
        except ValueError as exc:
            raise CaseError(f"period: {exc}") from None
        unknown = _spans(case, "unknown")
        terms = _terms(case, bool(unknown))
        credit = _credit_terms(case)
        target = _decimal(case, "target")
        timeline = timeline_from_spans(
            _spans(case, "outages"), _spans(case, "maintenance"), unknown=unknown
        )
        try:
            explanation = explain_credit(
                window, timeline, terms, credit, exclusions=_exclusions(case), target=target
            )
        except ValueError as exc:
            raise CaseError(str(exc)) from None
    except CaseError as exc:
        raise CaseError(f"case {index} ({ident}): {exc}") from None
    return CaseResult(ident, _fields(explanation.availability, credit, target), explanation.lines)
