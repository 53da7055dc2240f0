"""What every section shares: the error type, id and percent types, TOML paths in messages."""

from __future__ import annotations

import re
from decimal import (
    Decimal,
    InvalidOperation,
)
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    ValidationError,
)

_ID = re.compile(r"^[a-z0-9][a-z0-9_.-]{0,63}$")


class ConfigError(Exception):
    """The configuration is invalid; ``errors`` are lines ``path: what is wrong``."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("\n".join(errors))
        self.errors = errors


def at_least(minimum: float, unit: str) -> AfterValidator:
    """A validator: the value must be at least ``minimum`` (``unit`` names it in the error)."""

    def check(value: float) -> float:
        if value < minimum:
            raise ValueError(f"must be at least {minimum:g}{unit}")
        return value

    return AfterValidator(check)


def check_id(value: str) -> str:
    """An id: 1-64 of lowercase letters, digits, ``.``, ``_``, ``-``."""
    if not _ID.match(value):
        raise ValueError(
            "must be 1-64 characters of lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return value


MonitorId = Annotated[str, AfterValidator(check_id)]


class Section(BaseModel):
    """A config table: frozen, and an unknown key is an error."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _exact_decimal(value: Any) -> Decimal:
    """A decimal written as a string or an integer; floats are refused (they lose cents)."""
    if isinstance(value, bool):
        raise ValueError("expected a decimal number, not a boolean")
    if isinstance(value, float):
        raise ValueError(
            f'write decimals as strings, e.g. "{value!r}": a TOML float is binary and '
            "cannot hold every decimal exactly (money would lose cents)"
        )
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            out = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"not a decimal number: {value!r}") from None
        if out.is_finite():
            return out
        raise ValueError(f"must be a finite number, got {value!r}")
    raise ValueError(f"expected a decimal number as a string, got {value!r}")


ExactDecimal = Annotated[Decimal, BeforeValidator(_exact_decimal)]


"""A Decimal written in TOML as ``"99.95"`` (or an integer); never a float."""


def _percent(value: Decimal) -> Decimal:
    if not 0 <= value <= 100:
        raise ValueError(f"must be a percent within 0..100, got {value}")
    return value


Percent = Annotated[ExactDecimal, AfterValidator(_percent)]


def check_tz(value: str) -> str:
    """An IANA time zone name."""
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown IANA time zone {value!r}") from None
    return value


def format_loc(loc: tuple[str | int, ...]) -> str:
    """``('monitors', 2, 'interval')`` as ``monitors[2].interval``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(top level)"


# Model validators name the field they complain about first: "window: ...".
_FIELD_PREFIXES = frozenset(
    {
        "target",
        "timeout",
        "components",
        "window",
        "min_downtime_minutes",
        "percentile",
        "acknowledge_within",
        "monthly_fee",
        "tiers",
        "duration",
        "end",
        "locations",
        "secret",
        "from",
        "smtp",
        "token",
        "renew_every",
    }
)


def error_lines(exc: ValidationError, prefix: tuple[str | int, ...] = ()) -> list[str]:
    """Each validation error as ``toml.path: what is wrong``."""
    lines = []
    for err in exc.errors():
        msg = str(err["msg"]).removeprefix("Value error, ").removeprefix("Assertion failed, ")
        loc = prefix + tuple(err["loc"])
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif err["type"] == "missing" and loc[:1] == ("contracts",) and loc[-1] == "unknown":
            msg = "required: say how time without data counts: up, down or exclude"
        # "target: ..." raised by a model validator belongs to that field.
        field, sep, rest = msg.partition(": ")
        if sep and field in _FIELD_PREFIXES and (not loc or loc[-1] != field):
            loc, msg = (*loc, field), rest
        lines.append(f"{format_loc(loc)}: {msg}")
    return lines
