"""R9 cascades: when an upstream authorisation ends, the consents that depend on it stop.

On both backends (``db`` is parametrized over SQLite and PostgreSQL). The last test runs the
whole chain: the fake Data Connect revokes, the Enedis adapter's re-check sees it, the cascade
revokes the household's consent.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlmodel import select

from adapters.authorisations import report_of, report_of_denial
from adapters.base import UpstreamAuthorisation as Observed
from adapters.errors import UpstreamDenied
from consent.cascade import EndCause, UpstreamCascade, UpstreamReport
from consent.clock import FrozenClock
from consent.errors import NotFound
from consent.lifecycle import ActorRole, ConsentState
from consent.models import UpstreamAuthorisation
from consent.services import ConsentService, OccupancyService
from consent.services import registry as reg
from consent.storage import Database
from consent.upstream import UpstreamState
from tests.adapters.support import enedis_world
from tests.support.counts import row_counts
from tests.support.world import ALICE_PCE, ALICE_PRM, World

UP = f"UP-{ALICE_PRM.identifier}"  # the world's authorisation of Alice's PRM


@pytest.fixture
def cascade(db: Database, clock: FrozenClock, consents: ConsentService) -> UpstreamCascade:
    return UpstreamCascade(OccupancyService(db, clock, consents))


async def _row(db: Database, upstream_id: str) -> UpstreamAuthorisation:
    async with db.session() as session:
        return (await session.exec(select(UpstreamAuthorisation).where(
            UpstreamAuthorisation.upstream_id == upstream_id))).one()


async def test_an_authorisation_revoked_at_the_dso_revokes_the_consents_on_its_point(
        cascade: UpstreamCascade, consents: ConsentService, world: World,
        clock: FrozenClock, db: Database) -> None:
    first = await consents.give(world.as_alice, world.draft(clock.now()))
    second = await consents.give(world.as_alice, world.draft(clock.now()))
    gas = await consents.give(world.as_alice, world.draft(clock.now(), points=[ALICE_PCE]))
    outcome = await cascade.apply(UpstreamReport(ALICE_PRM, UP, UpstreamState.REVOKED,
                                                 upstream_state="SUPPRIME"))
    assert outcome.previous is UpstreamState.ACTIVE
    assert {e.consent_id for e in outcome.events} == {first.row.id, second.row.id}
    for event in outcome.events:
        assert event.actor_role is ActorRole.UPSTREAM
        assert event.reason == (f"upstream authorisation {UP} is revoked: it was revoked at the "
                                "DSO (DSO: SUPPRIME)")
    assert (await consents.get("default", first.row.id)).state is ConsentState.REVOKED
    assert (await consents.get("default", gas.row.id)).state is ConsentState.ACTIVE
    assert (await _row(db, UP)).state is UpstreamState.REVOKED


async def test_the_previous_occupants_authorisation_never_stops_the_new_occupants_consents(
        cascade: UpstreamCascade, consents: ConsentService, world: World,
        clock: FrozenClock, db: Database) -> None:
    alice = await consents.give(world.as_alice, world.draft(clock.now()))
    clock.advance(timedelta(days=2))
    occupancy = cascade.occupancy
    await occupancy.move_in(world.as_operator, ALICE_PRM, world.bob.id, clock.now())
    async with db.session() as session:
        await reg.add_upstream_authorisation(
            session, tenant_id="default", point=world.points[ALICE_PRM], upstream_id="UP-BOB",
            valid_from=clock.now(), valid_until=None, state=UpstreamState.ACTIVE,
            now=clock.now(), household_id=world.bob.id)
    bob = await consents.give(world.actor(world.bob, ActorRole.SUBJECT),
                              world.draft(clock.now(), grantor_id=world.bob.id))
    # Days later the DSO reports that Alice's old consent was deleted.
    clock.advance(timedelta(days=3))
    outcome = await cascade.apply(UpstreamReport(ALICE_PRM, UP, UpstreamState.REVOKED,
                                                 upstream_state="SUPPRIME"))
    assert outcome.previous is UpstreamState.ENDED  # the move-in had ended it already
    assert outcome.events == []
    assert (await consents.get("default", alice.row.id)).state is ConsentState.REVOKED  # R9
    assert (await consents.get("default", bob.row.id)).state is ConsentState.ACTIVE


async def test_a_household_no_longer_holding_the_point_loses_its_consents(
        cascade: UpstreamCascade, consents: ConsentService, world: World,
        clock: FrozenClock) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    outcome = await cascade.apply(UpstreamReport(ALICE_PRM, UP, UpstreamState.ENDED,
                                                 EndCause.NOT_HELD, "ADAM-DC-0007"))
    [event] = outcome.events
    assert event.consent_id == given.row.id
    assert "no longer holds the point (R9)" in event.reason
    assert "ADAM-DC-0007" in event.reason


async def test_consents_a_renewed_authorisation_still_covers_are_kept(
        cascade: UpstreamCascade, consents: ConsentService, world: World,
        clock: FrozenClock, db: Database) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    async with db.session() as session:  # Alice re-consented at Enedis: a new autorisation
        await reg.add_upstream_authorisation(
            session, tenant_id="default", point=world.points[ALICE_PRM], upstream_id="UP-NEW",
            valid_from=clock.now(), valid_until=clock.now() + timedelta(days=1095),
            state=UpstreamState.ACTIVE, now=clock.now(), household_id=world.alice.id)
    outcome = await cascade.apply(UpstreamReport(ALICE_PRM, UP, UpstreamState.ENDED))
    assert outcome.events == []
    assert (await _row(db, UP)).state is UpstreamState.ENDED
    assert (await consents.get("default", given.row.id)).state is ConsentState.ACTIVE


async def test_a_suspension_is_followed_by_a_resumption(
        cascade: UpstreamCascade, consents: ConsentService, world: World,
        clock: FrozenClock) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    pce = f"UP-{ALICE_PCE.identifier}"
    gas = await consents.give(world.as_alice, world.draft(clock.now(), points=[ALICE_PCE]))
    suspended = await cascade.apply(UpstreamReport(ALICE_PCE, pce, UpstreamState.SUSPENDED,
                                                   upstream_state="A revérifier"))
    assert [e.consent_id for e in suspended.events] == [gas.row.id]
    assert "the DSO suspended it" in suspended.events[0].reason
    resumed = await cascade.apply(UpstreamReport(ALICE_PCE, pce, UpstreamState.ACTIVE))
    assert [e.consent_id for e in resumed.events] == [gas.row.id]
    assert (await consents.get("default", gas.row.id)).state is ConsentState.ACTIVE
    assert (await consents.get("default", given.row.id)).state is ConsentState.ACTIVE


async def test_reports_are_idempotent_and_unknown_authorisations_write_nothing(
        cascade: UpstreamCascade, consents: ConsentService, world: World,
        clock: FrozenClock, db: Database) -> None:
    await consents.give(world.as_alice, world.draft(clock.now()))
    first = await cascade.apply(UpstreamReport(ALICE_PRM, UP, UpstreamState.REVOKED))
    again = await cascade.apply(UpstreamReport(ALICE_PRM, UP, UpstreamState.REVOKED))
    assert len(first.events) == 1
    assert again.events == []
    before = await row_counts(db)
    with pytest.raises(NotFound):
        await cascade.apply(UpstreamReport(ALICE_PRM, "UP-NEVER-SEEN", UpstreamState.REVOKED))
    assert await row_counts(db) == before


def test_adapter_observations_become_reports() -> None:
    obsolete = Observed(ALICE_PCE, UpstreamState.ENDED, "r1", None, "Obsolète")
    report = report_of(obsolete)
    assert report is not None
    assert (report.state, report.cause) == (UpstreamState.ENDED, EndCause.NOT_HELD)
    assert report_of(None) is None  # the DSO lists no authorisation for the point
    denied = UpstreamDenied("x", reason="not-holder", upstream_code="ADAM-DC-0007")
    report = report_of_denial(ALICE_PRM, UP, denied)
    assert report is not None
    assert (report.state, report.cause, report.upstream_state) == (
        UpstreamState.ENDED, EndCause.NOT_HELD, "ADAM-DC-0007")
    assert report_of_denial(ALICE_PRM, UP, UpstreamDenied("x")) is None


async def test_a_revocation_seen_by_the_enedis_recheck_revokes_the_consent(
        cascade: UpstreamCascade, consents: ConsentService, world: World,
        clock: FrozenClock, db: Database) -> None:
    given = await consents.give(world.as_alice, world.draft(clock.now()))
    async with enedis_world() as enedis:
        granted = enedis.state.grant((ALICE_PRM.identifier,), date(2025, 1, 1), 1095)
        autorisation = str(granted.autorisation_id)
        async with db.session() as session:
            await reg.add_upstream_authorisation(
                session, tenant_id="default", point=world.points[ALICE_PRM],
                upstream_id=autorisation, valid_from=clock.now() - timedelta(days=30),
                valid_until=None, state=UpstreamState.ACTIVE, now=clock.now(),
                household_id=world.alice.id)
        async with db.session() as session:  # the seeded authorisation is no longer current
            row = await _row(db, UP)
            row.state = UpstreamState.ENDED
            session.add(row)
        enedis.state.revoke(granted.autorisation_id)  # the household withdrew at Enedis
        [observed] = await enedis.adapter.recheck(autorisation)
    report = report_of(observed)
    assert report is not None
    outcome = await cascade.apply(report)
    assert [e.consent_id for e in outcome.events] == [given.row.id]
    assert outcome.events[0].reason.endswith("(DSO: SUPPRIME)")
    assert (await consents.get("default", given.row.id)).state is ConsentState.REVOKED
