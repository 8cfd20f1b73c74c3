"""The household's older reads, as R17 keeps them: weekly and monthly counts (``access_count``,
:mod:`consent.access_counts`) for :func:`consent.dashboard.access_history`.

A count belongs to the household like the access it counts (R8): made under one of its
consents, or an attempt without consent on one of its points while it occupied it. A count
cannot tell when in its week or month an attempt was made, so an attempt's count is the
household's only if the whole period lies within one of its occupancies: in the week or month
of a move, refused attempts without consent are shown to neither occupant rather than to the
wrong one. The household's own reads on its page (API ``portal``) are left out, as in detail.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy import and_, func, or_
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.access_counts import ACCESS_COUNT_TABLE
from consent.access_counts import AccessCountRow as C
from consent.models import MeteringPoint, Occupancy

#: The API name of the household's own reads (as :data:`consent.dashboard.PORTAL_API`).
PORTAL_API = "portal"


@dataclass(frozen=True, slots=True)
class CountLine:
    """Reads no longer kept one by one (R17): how many of one dataset one recipient read in
    one week or month (``grain``, ``[start, end)``), served and not; ``recipient`` is its
    name once known (``None``: none)."""

    grain: str
    start: datetime
    end: datetime
    recipient_id: str | None
    dataset: str | None
    served: int
    refused: int
    recipient: str | None = None

    @property
    def first_day(self) -> date:
        """The period's first day (periods are whole UTC days)."""
        return self.start.astimezone(UTC).date()

    @property
    def last_day(self) -> date:
        """The period's last day (``end`` excluded)."""
        return (self.end.astimezone(UTC) - timedelta(days=1)).date()


async def counted_history(session: AsyncSession, tenant_id: str, consent_ids: list[str],
                          mandate_ids: list[str],
                          occupancies: Sequence[tuple[Occupancy, MeteringPoint]], *,
                          since: datetime, until: datetime, recipient_id: str | None,
                          dataset: str | None) -> tuple[list[CountLine], set[str]]:
    """The household's counts of periods overlapping ``[since, until)`` (filtered by
    ``recipient_id`` and ``dataset``), newest first, and every recipient its counts name.

    The same ownership as the detailed history (:func:`consent.dashboard.access_history`):
    counts under the household's own consents and mandates, and counts under neither on its
    points for whole periods of its occupancy; never a count under another household's consent
    or mandate (a previous occupant's CPAS still polling: R9, R13)."""
    within = [and_(col(C.point) == str(point.ref), col(C.period_start) >= occupancy.starts_at,
                   *([col(C.period_end) <= occupancy.ends_at] if occupancy.ends_at else []))
              for occupancy, point in occupancies]
    theirs = or_(col(C.consent_id).in_(consent_ids), col(C.mandate_id).in_(mandate_ids))
    ungranted = and_(col(C.consent_id).is_(None), col(C.mandate_id).is_(None), or_(*within))
    mine = and_(col(C.tenant_id) == tenant_id, col(C.api) != PORTAL_API,
                or_(theirs, ungranted) if within else theirs)
    seen = {r for r in (await session.exec(select(C.recipient_id).where(mine).distinct()))
            if r is not None}
    conditions: list[Any] = [mine, col(C.period_end) > since, col(C.period_start) < until]
    if recipient_id is not None:
        conditions.append(C.recipient_id == recipient_id)
    if dataset is not None:
        conditions.append(C.dataset == dataset)
    t = ACCESS_COUNT_TABLE
    columns = (t.c.grain, t.c.period_start, t.c.period_end, t.c.recipient_id, t.c.dataset,
               t.c.outcome)
    conn = await session.connection()
    rows = (await conn.execute(sa.select(*columns, func.sum(t.c.count)).where(*conditions)
                               .group_by(*columns))).all()
    served: dict[tuple[Any, ...], list[int]] = {}
    for grain, start, end, recipient, data, outcome, count in rows:
        tally = served.setdefault((start, grain, end, recipient or "", data or ""), [0, 0])
        tally[0 if outcome == "served" else 1] += int(count or 0)
    lines = [CountLine(grain, start, end, recipient or None, data or None, n, refused)
             for (start, grain, end, recipient, data), (n, refused)
             in sorted(served.items(), reverse=True)]
    return lines, seen
