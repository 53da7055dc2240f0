"""Finalized reports: written once per contract and period, never updated or deleted."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from slamon.store.schema import finalized_reports

if TYPE_CHECKING:
    from slamon.store.sql import Store


@dataclass(frozen=True, slots=True)
class FinalizedReport:
    """One contract's report for one period as it was finalized."""

    contract_id: str
    period: str
    finalized_at: datetime
    sha256: str
    content: str


class AlreadyFinalized(Exception):
    """A report for this contract and period is already stored; it is never replaced."""

    def __init__(self, existing: FinalizedReport) -> None:
        super().__init__(
            f"{existing.contract_id} {existing.period} was finalized at "
            f"{existing.finalized_at.isoformat()} (sha256 {existing.sha256})"
        )
        self.existing = existing


class FinalizedStore:
    """Reads and inserts finalized reports; there is no update and no delete."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def get(
        self, period: Iterable[str], contract_ids: Iterable[str] | None = None
    ) -> dict[tuple[str, str], FinalizedReport]:
        """Finalized reports of ``period`` labels, by (contract id, period)."""
        stmt = select(finalized_reports).where(finalized_reports.c.period.in_(sorted(set(period))))
        if contract_ids is not None:
            stmt = stmt.where(finalized_reports.c.contract_id.in_(sorted(set(contract_ids))))
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return {
            (r.contract_id, r.period): FinalizedReport(
                r.contract_id, r.period, r.finalized_at, r.sha256, r.content
            )
            for r in rows
        }

    async def of_contracts(self, contract_ids: Iterable[str]) -> list[FinalizedReport]:
        """Every finalized report of these contracts, newest period first."""
        stmt = (
            select(finalized_reports)
            .where(finalized_reports.c.contract_id.in_(sorted(set(contract_ids))))
            .order_by(finalized_reports.c.period.desc(), finalized_reports.c.contract_id)
        )
        async with self.store.engine.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            FinalizedReport(r.contract_id, r.period, r.finalized_at, r.sha256, r.content)
            for r in rows
        ]

    async def add(self, reports: Sequence[FinalizedReport]) -> None:
        """Insert all of ``reports`` in one transaction, or none if any is already stored."""
        if not reports:
            return
        try:
            async with self.store.engine.begin() as conn:
                await conn.execute(
                    finalized_reports.insert(),
                    [
                        {
                            "contract_id": r.contract_id,
                            "period": r.period,
                            "finalized_at": r.finalized_at,
                            "sha256": r.sha256,
                            "content": r.content,
                        }
                        for r in reports
                    ],
                )
        except IntegrityError:
            existing = await self.get({r.period for r in reports}, {r.contract_id for r in reports})
            for r in reports:
                if (r.contract_id, r.period) in existing:
                    raise AlreadyFinalized(existing[(r.contract_id, r.period)]) from None
            raise
