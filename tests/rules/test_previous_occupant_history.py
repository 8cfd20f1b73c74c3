"""R9/R8/R13 on the household's history page: the next occupant "starts with nothing shared" and
learns nothing of the previous client (consent/dashboard.py access_history).

Reads under a mandate carry the mandate's id and no consent id (proxy/data/rule_facts.py). When
the social services (CPAS) keep polling a point under the previous occupant's standing mandate
(revoked at the move-out), the new occupant's history must not show the CPAS's attempts, whose
denial names the mandate: that the previous client was assisted by social services (a
payment-difficulty signal R13 says is never shown to another party). The household that gave
the mandate still sees them.
"""

from __future__ import annotations

from datetime import timedelta

from consent.dashboard import HistoryFilter, access_history
from consent.lifecycle import ActorRole
from consent.models import PartyKind
from consent.services import Actor, ConsentService, MandateService, OccupancyService
from consent.services import registry as reg
from consent.services.occupancy import MoveIn
from tests.rules.app_world import POINTS, RulesWorld
from tests.rules.test_retention import sweep


async def _a_newcomer_moves_in(w: RulesWorld) -> tuple[str, MoveIn]:
    """A new household moves in to the CPAS-mandated point now (the operator records it)."""
    async with w.db.session() as s:
        newcomer = await reg.add_party(s, tenant_id="default", kind=PartyKind.HOUSEHOLD,
                                       name="Newcomer", now=w.clock.now())
    occupancy = OccupancyService(w.db, w.clock, ConsentService(w.db, w.clock),
                                 MandateService(w.db, w.clock))
    moved = await occupancy.move_in(Actor(ActorRole.OPERATOR, party_id=w.parties["alex"]),
                                    POINTS[6], newcomer.id, w.clock.now())
    return newcomer.id, moved


async def _seen(w: RulesWorld, household_id: str) -> list[tuple[str | None, str | None]]:
    async with w.db.session() as s:
        seen = await access_history(s, "default", household_id, HistoryFilter(
            since=w.clock.now() - timedelta(days=1), until=w.clock.now() + timedelta(days=1)))
    return [(line.recipient, line.event.mandate_id) for line in seen.lines]


async def test_the_household_sees_the_reads_under_its_own_mandate(
        app_world: RulesWorld) -> None:
    w = app_world
    status, _body = await w.read("cpas", POINTS[6])
    assert status == 200
    assert ("cpas", w.mandate_id) in await _seen(w, w.parties["h6"])


async def test_new_occupant_does_not_see_the_cpas_of_the_previous_one(
        app_world: RulesWorld) -> None:
    w = app_world
    newcomer, moved = await _a_newcomer_moves_in(w)
    assert [e.mandate_id for e in moved.revoked_mandates] == [w.mandate_id]
    w.clock.advance(timedelta(hours=1))
    status, _body = await w.read("cpas", POINTS[6])  # the CPAS app keeps polling
    assert status == 403
    assert await _seen(w, newcomer) == [], "the new occupant's page shows the CPAS"
    # The previous occupant's own history keeps the denial under its mandate.
    assert ("cpas", w.mandate_id) in await _seen(w, w.parties["h6"])


async def test_nor_once_the_reads_are_only_counted(app_world: RulesWorld) -> None:
    """Past 31 days a read is only a weekly count (R17): the count of the CPAS's attempts
    under the previous occupant's mandate stays that household's, not the newcomer's."""
    w = app_world
    # A move-in at the start of a week, so that a whole week of the occupancy has counts.
    w.clock.advance(timedelta(days=7 - w.clock.now().weekday()))
    w.clock.set(w.clock.now().replace(hour=0, minute=0, second=0, microsecond=0))
    newcomer, _moved = await _a_newcomer_moves_in(w)
    w.clock.advance(timedelta(hours=1))
    assert (await w.read("cpas", POINTS[6]))[0] == 403  # the CPAS keeps polling
    w.clock.advance(timedelta(days=40))
    assert await sweep(w) > 0  # the detail is gone, its week counted

    async def counted(household_id: str) -> list[tuple[str | None, int]]:
        async with w.db.session() as s:
            history = await access_history(s, "default", household_id, HistoryFilter(
                since=w.clock.now() - timedelta(days=60), until=w.clock.now()))
        return [(c.recipient, c.refused) for c in history.counts]

    assert await counted(newcomer) == [], "the newcomer's page counts the CPAS"
    assert ("cpas", 1) in await counted(w.parties["h6"])
