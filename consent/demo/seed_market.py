"""Seeding the demo's market-rule objects (:mod:`consent.demo.market`) inside the demo seed's
transaction, through the same services as a live instance: the consents and the mandate are
given by their households (online), the supply contracts come as the DSO would report them, the
community is registered by the operator; a community consent (R4) is given once its community
and membership exist."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.demo.market import DemoConsent
from consent.demo.plan import DemoPlan
from consent.identifiers import PointRef
from consent.lifecycle import ActorRole, MandateAction
from consent.models import Channel, Recipient
from consent.periods import Period
from consent.purposes import ConsentView
from consent.services import Actor, ConsentDraft, ConsentService, MandateDraft, MandateService
from consent.services.communities import CommunityService
from consent.services.supply import add_contract
from consent.storage import Database


async def seed_market(session: AsyncSession, db: Database, plan: DemoPlan, clock: Clock,
                      operator_party: str) -> None:
    """Write the plan's supply contracts, consents, mandates and communities."""
    now, tenant = clock.now(), plan.tenant_id
    recipients = {r.key: await _recipient_id(session, r.client_id) for r in plan.recipients}
    codes = {r.key: r.supplier_code or r.name for r in plan.recipients}
    for contract in plan.supply:
        await add_contract(session, tenant_id=tenant, point_id=plan.id_for("point", contract.point),
                           supplier_id=recipients[contract.supplier],
                           code=codes[contract.supplier], period=Period(contract.since),
                           channel=Channel.UPSTREAM.value, now=now)
    consents = ConsentService(db, clock)
    points = {p.key: p.ref for p in plan.points}
    # Individual consents first, as before community consents existed (the demo's earlier
    # contents are seeded in the same order); community ones once their community exists.
    for consent in plan.consents:
        if consent.community is None:
            await _give(session, consents, plan, consent, recipients, points, None, now)
    mandates = MandateService(db, clock)
    for mandate in plan.mandates:
        household = plan.id_for("party", mandate.household)
        actor = _household(household, tenant)
        asked = await mandates.request_in(session, actor, MandateDraft(
            mandator_id=household, mandatary_id=plan.id_for("organisation", mandate.mandatary),
            scope=mandate.scope, points=[points[k] for k in mandate.points],
            datasets=mandate.datasets, valid_until=_until(now, mandate.days)))
        await mandates.act_in(session, actor, asked.row.id, MandateAction.GRANT)
    communities = CommunityService(db, clock)
    community_ids: dict[str, str] = {}
    operator = Actor(ActorRole.OPERATOR, party_id=operator_party, channel=Channel.CLI,
                     tenant_id=tenant)
    for community in plan.communities:
        row = await communities.create_in(session, operator, name=community.name,
                                          organiser_id=recipients[community.organiser],
                                          min_members=community.min_members)
        community_ids[community.key] = row.id
        for household, point in community.members:
            await communities.add_member_in(session, operator, row.id,
                                            plan.id_for("party", household), points[point])
    for consent in plan.consents:
        if consent.community is not None:
            await _give(session, consents, plan, consent, recipients, points,
                        community_ids[consent.community], now)


async def _give(session: AsyncSession, consents: ConsentService, plan: DemoPlan,
                consent: DemoConsent, recipients: dict[str, str],
                points: dict[str, PointRef], community_id: str | None, now: datetime) -> None:
    """The household gives ``consent`` online; a community one (R4) names ``community_id``."""
    household = plan.id_for("party", consent.household)
    await consents.give_in(session, _household(household, plan.tenant_id), ConsentDraft(
        grantor_id=household, recipient_id=recipients[consent.recipient],
        points=[points[k] for k in consent.points], datasets=consent.datasets,
        purpose=consent.purpose, valid_until=now + timedelta(days=consent.days),
        max_resolution=consent.max_resolution, history_days=consent.history_days,
        view=ConsentView.INDIVIDUAL if community_id is None else ConsentView.COMMUNITY,
        community_id=community_id))


def _household(party_id: str, tenant: str) -> Actor:
    return Actor(ActorRole.SUBJECT, party_id=party_id, channel=Channel.WEB, tenant_id=tenant)


def _until(now: datetime, days: int | None) -> datetime | None:
    return None if days is None else now + timedelta(days=days)


async def _recipient_id(session: AsyncSession, client_id: str) -> str:
    return (await session.exec(select(Recipient.id).where(
        Recipient.client_id == client_id))).one()
