"""A small world for service tests: two households, their points, a recipient, staff parties.

Built through the registry functions (so it is also a test of them), without accounts (argon2
hashing is slow on purpose and these tests do not log in).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from consent.clock import Clock
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole
from consent.models import Channel, MeteringPoint, Party, PartyKind, Recipient
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import Actor, ConsentDraft
from consent.services import registry as reg
from consent.storage import Database
from consent.upstream import UpstreamState
from consent.vocabulary import Dataset, Direction, Energy

ALICE_PRM = PointRef(Source.ENEDIS, "22516914714270")
ALICE_PCE = PointRef(Source.GRDF, "GI060511")
BOB_PRM = PointRef(Source.ENEDIS, "24134785609130")
BOB_EAN = PointRef(Source.INHOUSE, "541449100000001236")


@dataclass
class World:
    """Ids and actors of the test world."""

    alice: Party
    bob: Party
    operator: Party
    reviewer: Party
    cpas: Party
    recipient: Recipient
    other_recipient: Recipient
    points: dict[PointRef, MeteringPoint]
    moved_in: datetime

    def actor(self, party: Party | None, role: ActorRole) -> Actor:
        """An actor for ``party`` in ``role`` (web channel)."""
        return Actor(role, party_id=party.id if party else None, channel=Channel.WEB)

    @property
    def as_alice(self) -> Actor:
        return self.actor(self.alice, ActorRole.SUBJECT)

    @property
    def as_operator(self) -> Actor:
        return self.actor(self.operator, ActorRole.OPERATOR)

    @property
    def as_recipient(self) -> Actor:
        return Actor(ActorRole.RECIPIENT, party_id=self.recipient.party_id, channel=Channel.API)

    def draft(self, now: datetime, **overrides: object) -> ConsentDraft:
        """A valid consent of Alice's electricity point for the recipient, 1 year."""
        values: dict[str, object] = {
            "grantor_id": self.alice.id, "recipient_id": self.recipient.id,
            "points": [ALICE_PRM], "datasets": [Dataset.DAILY_CONSUMPTION],
            "purpose": Purpose.ENERGY_MONITORING, "valid_until": now + timedelta(days=365),
        }
        values.update(overrides)
        return ConsentDraft(**values)  # type: ignore[arg-type]


async def build_world(db: Database, clock: Clock) -> World:
    """Create the world in one transaction."""
    now = clock.now()
    since = now - timedelta(days=800)
    async with db.session() as s:
        alice = await reg.add_party(s, tenant_id="default", kind=PartyKind.HOUSEHOLD,
                                    name="Alice", now=now)
        bob = await reg.add_party(s, tenant_id="default", kind=PartyKind.HOUSEHOLD, name="Bob",
                                  now=now)
        org = await reg.add_party(s, tenant_id="default", kind=PartyKind.OPERATOR,
                                  name="Operator", now=now)
        operator = await reg.add_party(s, tenant_id="default", kind=PartyKind.PERSON,
                                       name="Olga", member_of_id=org.id, now=now)
        reviewer = await reg.add_party(s, tenant_id="default", kind=PartyKind.PERSON,
                                       name="Rita", member_of_id=org.id, now=now)
        cpas = await reg.add_party(s, tenant_id="default",
                                   kind=PartyKind.SOCIAL_SERVICES, name="CPAS", now=now)
        recipient, _ = await reg.register_recipient(s, reg.RecipientDraft(
            name="Dash", website="https://dash.example", contact_email="dpo@dash.example",
            purposes=[Purpose.ENERGY_MONITORING], legal_basis=LegalBasis.CONSENT,
            data_role=DataRole.CONTROLLER,
            allowed_datasets=[Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE,
                              Dataset.DAILY_PRODUCTION],
            redirect_uris=["https://dash.example/cb"]), tenant_id="default", now=now)
        other, _ = await reg.register_recipient(s, reg.RecipientDraft(
            name="Other", website="https://other.example", contact_email="dpo@other.example",
            purposes=[Purpose.RESEARCH], legal_basis=LegalBasis.PUBLIC_TASK,
            data_role=DataRole.PROCESSOR, allowed_datasets=[Dataset.DAILY_CONSUMPTION],
            redirect_uris=["http://127.0.0.1:9/cb"]), tenant_id="default", now=now)
        points = {}
        for ref, energy, directions, owner in (
                (ALICE_PRM, Energy.ELECTRICITY, [Direction.CONSUMPTION], alice),
                (ALICE_PCE, Energy.GAS, [Direction.CONSUMPTION], alice),
                (BOB_PRM, Energy.ELECTRICITY, [Direction.CONSUMPTION, Direction.PRODUCTION], bob),
                (BOB_EAN, Energy.ELECTRICITY, [Direction.CONSUMPTION], bob)):
            point = await reg.add_point(s, tenant_id="default", ref=ref, energy=energy,
                                        directions=directions, now=now)
            await reg.add_occupancy(s, tenant_id="default", point_id=point.id,
                                    household_id=owner.id, starts_at=since, ends_at=None, now=now)
            await reg.add_upstream_authorisation(
                s, tenant_id="default", point=point, upstream_id=f"UP-{ref.identifier}",
                valid_from=since, valid_until=None, state=UpstreamState.ACTIVE, now=now,
                household_id=owner.id)
            points[ref] = point
    return World(alice, bob, operator, reviewer, cpas, recipient, other, points, since)
