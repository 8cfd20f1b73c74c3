"""The household's requests to open or close its meter's user port, tracked against the DSO's
24-hour limit (R20).

The DSO performs the request later; Passerelle keeps one :class:`~consent.models.PortRequestRecord`
per request (who, which point, what, when, the deadline) and updates it each time it learns the
DSO's status. A request completed after its deadline, or still pending past it, is *late*: the
household sees it, and the operator can follow it up.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.models import PortRequestRecord, PortRequestState

#: How long the DSO has to carry out a port request (R20).
PORT_DEADLINE = timedelta(hours=24)


def is_late(record: PortRequestRecord, now: datetime) -> bool:
    """Completed after the deadline, or still pending once it has passed."""
    if record.completed_at is not None:
        return record.completed_at > record.deadline_at
    return PortRequestState(record.state) is PortRequestState.PENDING and now > record.deadline_at


async def record_request(session: AsyncSession, *, tenant_id: str, household_id: str,
                         account_id: str, point_id: str, action: str, upstream_request_id: str,
                         requested_at: datetime, now: datetime) -> PortRequestRecord:
    """Record a request the DSO just accepted; its deadline is 24 hours after it was made."""
    record = PortRequestRecord(
        tenant_id=tenant_id, household_id=household_id, account_id=account_id,
        point_id=point_id, action=action, upstream_request_id=upstream_request_id[:64],
        state=PortRequestState.PENDING, requested_at=requested_at,
        deadline_at=requested_at + PORT_DEADLINE, created_at=now, checked_at=now)
    session.add(record)
    await session.flush()
    return record


async def update_status(session: AsyncSession, record_id: str, state: PortRequestState,
                        completed_at: datetime | None, now: datetime) -> PortRequestRecord | None:
    """Store what the DSO says now; returns the record if its state changed (else ``None``)."""
    record = await session.get(PortRequestRecord, record_id)
    if record is None:
        return None
    changed = PortRequestState(record.state) is not state
    record.state = state
    record.completed_at = completed_at
    record.checked_at = now
    session.add(record)
    return record if changed else None


async def requests_of(session: AsyncSession, tenant_id: str, household_id: str,
                      point_ids: Sequence[str]) -> list[PortRequestRecord]:
    """The household's requests on ``point_ids``, newest first."""
    result = await session.exec(select(PortRequestRecord).where(
        PortRequestRecord.tenant_id == tenant_id, PortRequestRecord.household_id == household_id,
        col(PortRequestRecord.point_id).in_(list(point_ids)),
    ).order_by(col(PortRequestRecord.requested_at).desc()))
    return list(result.all())
