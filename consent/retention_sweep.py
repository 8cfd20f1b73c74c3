"""The retention sweep (R17): one run moves every usage trace past its period into the next
view, and deletes what is past the last one. ``passerelle serve`` runs it every
``Settings.retention_sweep_interval`` seconds on every replica (``proxy/evidence/setup.py``);
``passerelle evidence prune`` runs it by hand, or only counts (:func:`retention_census`).

At one instant ``now`` (:class:`~consent.retention_calendar.Horizons`), in this order:

1. ``access_event`` rows more than 31 days old are deleted, counted into ``access_count``
   (their week, else their month, else nowhere: :func:`consent.access_counts.fold_access_events`);
2. weekly counts whose week ended more than 20 weeks ago are added to their month;
3. monthly counts whose month ended more than 20 calendar months ago are deleted;
4. evidence ``access`` payloads more than 31 days old are pruned (leaves kept), counted in
   weekly ``retention`` entries (:func:`consent.evidence.retention.prune`);
5. evidence ``retention`` payloads whose weeks have all left the weekly view are pruned
   (:data:`~consent.evidence.retention.COUNTS_POLICY`);
6. if any of that removed something, one ``admin`` evidence event, action ``retention.sweep``,
   records what this run did and the cut-offs (:meth:`RetentionReport.details`).

Every step works in bounded batches, each its own short transaction, and is safe to run on
several replicas at once: a batch counts only the rows it deleted itself, or rolls back when
another run pruned part of its page first, so each trace is counted once and the reports of
racing runs add up to what went. A run interrupted midway keeps what it committed; the next
run does the rest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime

from sqlalchemy import func, select

from consent.access_counts import census, drop_months, fold_access_events, fold_weeks
from consent.evidence.canonical import format_instant
from consent.evidence.events import AdminEvent
from consent.evidence.log_reader import ENTRY
from consent.evidence.retention import COUNTS_POLICY, RetentionPolicy
from consent.evidence.service import Evidence
from consent.retention_calendar import Horizons
from consent.storage.database import Database

#: The ``actor`` of the server's own runs in their admin event (the CLI's is ``cli:<user>``).
SWEEP_ACTOR = "sweep:retention"
#: The admin event's ``action``.
ACTION = "retention.sweep"


@dataclass(frozen=True, slots=True)
class Removed:
    """How many rows a run removed (or, dry, would remove), per step of the module docstring."""

    access_events: int = 0
    weekly_counts: int = 0
    monthly_counts: int = 0
    access_payloads: int = 0
    retention_payloads: int = 0

    @property
    def total(self) -> int:
        return sum(asdict(self).values())


@dataclass(frozen=True, slots=True)
class RetentionReport:
    """What one run did (or would do, ``dry_run``) at ``horizons``."""

    horizons: Horizons
    removed: Removed
    #: ``retention`` entries written with the weekly counts of the pruned payloads.
    counts_logged: int = 0
    dry_run: bool = False
    #: Index of the ``retention.sweep`` admin event, if one was appended.
    logged_at_index: int | None = field(default=None)

    def details(self) -> dict[str, str | int]:
        """The admin event's ``details`` (and ``--json``): cut-offs and counts."""
        h = self.horizons
        return {"detail_before": format_instant(h.detail_before),
                "weeks_before": format_instant(h.weeks_before),
                "months_before": format_instant(h.months_before),
                **asdict(self.removed), "retention_entries": self.counts_logged}

    def render(self) -> str:
        """A few lines for an operator."""
        h, r = self.horizons, self.removed
        verb = "would go" if self.dry_run else "went"
        lines = [f"retention sweep at {format_instant(h.now)}"
                 + (" (dry run: nothing written)" if self.dry_run else ""),
                 f"  access_event rows before {format_instant(h.detail_before)}: "
                 f"{r.access_events} {verb} into weekly/monthly counts",
                 f"  weekly counts of weeks ended before {format_instant(h.weeks_before)}: "
                 f"{r.weekly_counts} {verb} into monthly counts",
                 f"  monthly counts of months ended before {format_instant(h.months_before)}: "
                 f"{r.monthly_counts} {verb}",
                 f"  evidence access payloads before {format_instant(h.detail_before)}: "
                 f"{r.access_payloads} {verb} (leaves kept)"
                 + ("" if self.dry_run else f", {self.counts_logged} weekly-count entries"),
                 f"  evidence weekly-count payloads past the weekly view: "
                 f"{r.retention_payloads} {verb}"]
        if self.logged_at_index is not None:
            lines.append(f"  logged as evidence entry {self.logged_at_index} ({ACTION})")
        return "\n".join(lines)


async def run_retention(db: Database, evidence: Evidence, *, actor: str = SWEEP_ACTOR,
                        now: datetime | None = None) -> RetentionReport:
    """Run the sweep of the module docstring at ``now`` (default: the evidence clock's)."""
    horizons = Horizons.at(now or evidence.clock.now())
    events = await fold_access_events(db, horizons)
    weeks = await fold_weeks(db, horizons)
    months = await drop_months(db, horizons)
    accesses = await evidence.prune(RetentionPolicy(), horizons.now)
    counts = await evidence.prune(COUNTS_POLICY, horizons.now)
    report = RetentionReport(horizons, Removed(events, weeks, months, accesses.pruned,
                                               counts.pruned), accesses.aggregates)
    if not report.removed.total:
        return report  # an idle run leaves no trace in the log (replicas sweep every hour)
    logged = await evidence.admin(AdminEvent(horizons.now, actor, ACTION,
                                             details=report.details()))
    return RetentionReport(report.horizons, report.removed, report.counts_logged,
                           logged_at_index=logged.index)


async def _pending(db: Database, policy: RetentionPolicy, now: datetime) -> int:
    """Payloads ``policy`` would prune at ``now``."""
    async with db.engine.connect() as conn:
        return int((await conn.execute(select(func.count()).select_from(ENTRY).where(
            ENTRY.c.kind.in_(policy.kinds), ENTRY.c.payload.is_not(None),
            ENTRY.c.at < format_instant(policy.before(now))))).scalar() or 0)


async def retention_census(db: Database, now: datetime) -> RetentionReport:
    """What :func:`run_retention` would remove at ``now``, writing nothing."""
    horizons = Horizons.at(now)
    rows = await census(db, horizons)
    return RetentionReport(horizons, Removed(
        rows["access_events"], rows["weekly_counts"], rows["monthly_counts"],
        await _pending(db, RetentionPolicy(), now), await _pending(db, COUNTS_POLICY, now)),
        dry_run=True)
