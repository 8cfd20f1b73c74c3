"""Who supplies a point, as the upstream reports it (R13).

:class:`SupplyService` records what an adapter (or the operator, from the DSO's notice) reports:
"point P is supplied by S since T". The reported supplier code is matched, exactly, against
the code each supplier of the tenant was registered with (``Recipient.supplier_code``, unique
per tenant: :mod:`consent.supplier_codes`), never against a name: a display name is free text
that two apps may share, and matching it gave a point's contract to whichever came first. A
new supplier ends the previous contract at its start; a supplier that is not registered here
(or a code no supplier is registered with) still ends the previous one (someone else holds the
point now). The data path asks :func:`supplier_period` whether the reading supplier holds the
point's contract; no row means no access.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.errors import DomainError, InvalidPeriod, NotPermitted
from consent.identifiers import PointRef
from consent.lifecycle import ActorRole
from consent.models import Recipient, SupplyContract
from consent.periods import Period
from consent.services.base import Actor
from consent.services.queries import points_by_ref
from consent.storage import Database

_REPORTERS = {ActorRole.UPSTREAM, ActorRole.OPERATOR, ActorRole.SYSTEM}


async def find_supplier(session: AsyncSession, tenant_id: str, code: str) -> Recipient | None:
    """The supplier of the tenant registered with ``code`` (exact match; at most one, the
    unique index), or ``None``."""
    statement = select(Recipient).where(
        Recipient.tenant_id == tenant_id, col(Recipient.is_supplier).is_(True),
        Recipient.supplier_code == code)
    return (await session.exec(statement)).one_or_none()


async def end_supply(session: AsyncSession, point_id: str, at: datetime,
                     now: datetime) -> int:
    """End the point's contracts still running at ``at``; returns how many ended."""
    statement = select(SupplyContract).where(
        SupplyContract.point_id == point_id,
        or_(col(SupplyContract.ends_at).is_(None), col(SupplyContract.ends_at) > at))
    ended = 0
    for contract in (await session.exec(statement)).all():
        if contract.starts_at >= at:
            continue  # starts after the end: leave it for the adapter to correct
        contract.ends_at = at
        contract.updated_at = now
        session.add(contract)
        ended += 1
    await session.flush()
    return ended


async def add_contract(session: AsyncSession, *, tenant_id: str, point_id: str,
                       supplier_id: str, code: str, period: Period, channel: str,
                       now: datetime) -> SupplyContract:
    """Write one contract row (the caller has ended the previous one)."""
    contract = SupplyContract(
        tenant_id=tenant_id, point_id=point_id, supplier_id=supplier_id, supplier_code=code,
        starts_at=period.start, ends_at=period.end, reported_by=channel, created_at=now,
        updated_at=now)
    session.add(contract)
    await session.flush()
    return contract


async def supplier_period(session: AsyncSession, *, tenant_id: str, point_id: str,
                          supplier_id: str, at: datetime) -> Period | None:
    """The contract of ``supplier_id`` on the point containing ``at``, else its latest one (so
    a denial can say when it ended), else ``None``."""
    statement = select(SupplyContract).where(
        SupplyContract.tenant_id == tenant_id, SupplyContract.point_id == point_id,
        SupplyContract.supplier_id == supplier_id).order_by(col(SupplyContract.starts_at))
    periods = [c.period for c in (await session.exec(statement)).all()]
    current = [p for p in periods if p.contains(at)]
    pool = current or periods
    return pool[-1] if pool else None


class SupplyService:
    """Records the supply contracts the upstream reports."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    async def report(self, actor: Actor, ref: PointRef, supplier_code: str,
                     starts_at: datetime, ends_at: datetime | None = None,
                     ) -> SupplyContract | None:
        """Record "``ref`` is supplied by ``supplier_code`` over ``[starts_at, ends_at)``".

        Returns the contract row, or ``None`` when the supplier is not registered here (the
        previous contract still ends). Reporting the running contract again changes nothing.
        """
        if actor.role not in _REPORTERS:
            raise NotPermitted("Supply contracts come from the DSO (through an adapter or the "
                               "operator), never from a supplier (R13).", field="actor", rule="R13")
        code = supplier_code.strip()
        if not code or len(code) > 200:
            raise DomainError("The supplier code is 1 to 200 characters.",
                              field="supplier_code")
        period = Period(starts_at, ends_at)
        now = self.clock.now()
        async with self.db.session() as session:
            [point] = await points_by_ref(session, actor.tenant_id, [ref])
            supplier = await find_supplier(session, actor.tenant_id, code)
            running = (await session.exec(select(SupplyContract).where(
                SupplyContract.point_id == point.id, col(SupplyContract.ends_at).is_(None),
            ))).first()
            if (running is not None and supplier is not None
                    and running.supplier_id == supplier.id and running.starts_at <= starts_at):
                if ends_at is not None:
                    running.ends_at, running.updated_at = ends_at, now
                    session.add(running)
                return running
            later = (await session.exec(select(SupplyContract.id).where(
                SupplyContract.point_id == point.id,
                col(SupplyContract.starts_at) >= starts_at))).first()
            if later is not None:
                raise InvalidPeriod("A contract of this point starts at or after this one; "
                                    "history is not rewritten.", field="starts_at")
            await end_supply(session, point.id, starts_at, now)
            if supplier is None:
                return None
            return await add_contract(session, tenant_id=actor.tenant_id, point_id=point.id,
                                      supplier_id=supplier.id, code=code, period=period,
                                      channel=actor.channel.value, now=now)

    async def end(self, actor: Actor, ref: PointRef, at: datetime) -> int:
        """The DSO reports that the point's contract ended at ``at`` (no successor known)."""
        if actor.role not in _REPORTERS:
            raise NotPermitted("Supply contracts come from the DSO (R13).", field="actor",
                               rule="R13")
        async with self.db.session() as session:
            [point] = await points_by_ref(session, actor.tenant_id, [ref])
            return await end_supply(session, point.id, at, self.clock.now())
