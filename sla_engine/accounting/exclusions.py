"""Downtime a contract does not count: customer-caused incidents and force majeure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sla_engine.time.intervals import Interval


class ExclusionKind(StrEnum):
    """Why a span of downtime does not count against the provider."""

    CUSTOMER_CAUSED = "customer_caused"
    FORCE_MAJEURE = "force_majeure"


@dataclass(frozen=True, slots=True)
class Exclusion:
    """A span whose downtime is not counted, with the reason a person recorded."""

    interval: Interval
    reason: str
    kind: ExclusionKind

    def __post_init__(self) -> None:
        if not self.reason.strip():
            raise ValueError("an exclusion needs a reason")
        object.__setattr__(self, "kind", ExclusionKind(self.kind))
