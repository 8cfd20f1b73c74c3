"""When the DSO says an upstream authorisation changed, consents on the point follow it (R9).

Adapters observe the DSO: a scheduled re-check (Data Connect ``subscribed_services``, ADICT's
list of droits d'accès) or a refusal met on a data call (Enedis ``ADAM-DC-0007`` "the customer is
not the holder", ADICT's "the client seems to have moved"). They describe what they saw as an
:class:`UpstreamReport` in the consent vocabulary (this module never imports an adapter), and
:meth:`UpstreamCascade.apply` turns it into the domain's consequences through
:meth:`~consent.services.OccupancyService.record_upstream_state`, which writes the authorisation's
new state and moves the consents in the same transaction:

============  ===========================  =============================================
state         cause (why it stopped)       consents of the household that gave it
============  ===========================  =============================================
ended         expired, not held (R9)       revoked, the cause in the recorded reason
revoked       revoked at the DSO           revoked
refused       refused                      revoked
suspended     suspended                    active ones suspended
active        (back from suspended)        those *upstream* suspended resume
============  ===========================  =============================================

Nothing happens to consents another usable authorisation of the same household still covers (a
consent renewed at the DSO gets a new id while the old one ends), nor to another household's.

"Not held" means the household left the point: if Passerelle still has it as the occupant, the
report is also recorded as its move-out at the instant it was observed
(:meth:`~consent.services.OccupancyService.move_out`), so its mandates, community memberships
and the point's supply contract end too (R9).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from sqlmodel import select

from consent.errors import NotFound
from consent.identifiers import PointRef
from consent.models import DEFAULT_TENANT, ConsentEvent, UpstreamAuthorisation
from consent.services.base import Actor
from consent.services.occupancy import MoveOut, OccupancyService
from consent.services.queries import occupancy_at, points_by_ref
from consent.upstream import UpstreamKind, UpstreamState


class EndCause(StrEnum):
    """Why an upstream authorisation stopped being usable."""

    EXPIRED = "expired"  # its period is over
    REVOKED = "revoked"  # withdrawn at the DSO, by the household or the DSO
    NOT_HELD = "not_held"  # the household no longer holds the point (moved out, R9)
    REFUSED = "refused"  # the holder or the DSO refused it
    SUSPENDED = "suspended"  # temporarily unusable (e.g. ADICT proofs to re-check)


_DEFAULT_CAUSE = {UpstreamState.ENDED: EndCause.EXPIRED, UpstreamState.REVOKED: EndCause.REVOKED,
                  UpstreamState.REFUSED: EndCause.REFUSED,
                  UpstreamState.SUSPENDED: EndCause.SUSPENDED}

_CAUSE_TEXT = {
    EndCause.EXPIRED: "its period is over",
    EndCause.REVOKED: "it was revoked at the DSO",
    EndCause.NOT_HELD: "the household no longer holds the point (R9)",
    EndCause.REFUSED: "it was refused",
    EndCause.SUSPENDED: "the DSO suspended it",
}


@dataclass(frozen=True, slots=True)
class UpstreamReport:
    """What an adapter saw of one authorisation: its state, why, and the DSO's own word."""

    point: PointRef
    upstream_id: str
    state: UpstreamState
    cause: EndCause | None = None
    upstream_state: str | None = None  # "TERMINE", "Obsolète", "ADAM-DC-0007"...

    def reason(self) -> str:
        """The sentence recorded on every consent event the report causes."""
        said = f" (DSO: {self.upstream_state})" if self.upstream_state else ""
        if self.state is UpstreamState.ACTIVE:
            return f"upstream authorisation {self.upstream_id} is active again{said}"
        cause = self.cause or _DEFAULT_CAUSE.get(self.state)
        because = f": {_CAUSE_TEXT[cause]}" if cause else ""
        return f"upstream authorisation {self.upstream_id} is {self.state.value}{because}{said}"


@dataclass(frozen=True, slots=True)
class CascadeOutcome:
    """The authorisation the report was about and the consent events it caused."""

    authorisation_id: str
    previous: UpstreamState
    state: UpstreamState
    events: list[ConsentEvent]
    moved_out: MoveOut | None = None


class UpstreamCascade:
    """Applies :class:`UpstreamReport`\\ s (see the module docstring)."""

    def __init__(self, occupancy: OccupancyService) -> None:
        self.occupancy = occupancy

    async def apply(self, report: UpstreamReport,
                    tenant_id: str = DEFAULT_TENANT) -> CascadeOutcome:
        """Record the report's state and stop (or resume) what depends on it.

        Raises :class:`NotFound` for an authorisation Passerelle never recorded: an unknown
        authorisation cannot have consents depending on it, and guessing one would be worse.
        """
        authorisation = await self._find(report, tenant_id)
        previous = UpstreamState(authorisation.state)
        if previous is report.state and previous.final:
            return CascadeOutcome(authorisation.id, previous, previous, [])  # nothing new
        upstream = Actor.upstream(tenant_id)
        events = await self.occupancy.record_upstream_state(
            upstream, authorisation.id, report.state, reason=report.reason())
        moved_out = None
        if report.cause is EndCause.NOT_HELD and await self._still_occupant(authorisation):
            moved_out = await self.occupancy.move_out(
                upstream, report.point, self.occupancy.clock.now(), reason=report.reason())
        return CascadeOutcome(authorisation.id, previous, report.state, events, moved_out)

    async def _still_occupant(self, authorisation: UpstreamAuthorisation) -> bool:
        async with self.occupancy.db.session() as session:
            current = await occupancy_at(session, authorisation.point_id,
                                         self.occupancy.clock.now())
        return current is not None and current.household_id == authorisation.household_id

    async def _find(self, report: UpstreamReport, tenant_id: str) -> UpstreamAuthorisation:
        async with self.occupancy.db.session() as session:
            [point] = await points_by_ref(session, tenant_id, [report.point])
            found = (await session.exec(select(UpstreamAuthorisation).where(
                UpstreamAuthorisation.tenant_id == tenant_id,
                UpstreamAuthorisation.point_id == point.id,
                UpstreamAuthorisation.kind == UpstreamKind.for_source(report.point.source),
                UpstreamAuthorisation.upstream_id == report.upstream_id))).first()
        if found is None:
            raise NotFound(f"No upstream authorisation {report.upstream_id!r} is recorded for "
                           f"{report.point}.", field="upstream_id")
        return found

