"""R4: the household's pages say, for each consent, whether the app reads each meter on its
own (individual consent) or uses it only in a community's total (community consent)."""

from __future__ import annotations

from datetime import timedelta

from consent.lifecycle import ActorRole
from consent.models import PartyKind
from consent.purposes import ConsentView, DataRole, LegalBasis, Purpose
from consent.services import registry
from consent.services.base import Actor
from consent.services.communities import CommunityService
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.vocabulary import Dataset
from tests.oauth.conftest import Browser
from tests.portal.helpers import text_of
from tests.portal.world import ALICE_PRM, Portal


async def _community_consent(portal: Portal) -> str:
    now = portal.clock.now()
    async with portal.db.session() as session:
        pmo, _ = await registry.register_recipient(session, registry.RecipientDraft(
            name="Quartier Solaire", website="https://pmo.example",
            contact_email="dpo@pmo.example", purposes=[Purpose.COLLECTIVE_SELF_CONSUMPTION],
            legal_basis=LegalBasis.CONSENT, data_role=DataRole.CONTROLLER,
            allowed_datasets=[Dataset.DAILY_CONSUMPTION],
            redirect_uris=["https://pmo.example/cb"]), tenant_id="default", now=now)
        staff = await registry.add_party(session, tenant_id="default", kind=PartyKind.PERSON,
                                         name="Operator", now=now)
    community = await CommunityService(portal.db, portal.clock).create(
        Actor(ActorRole.OPERATOR, party_id=staff.id), name="Rue des Lilas",
        organiser_id=pmo.id)
    alice = portal.ids["alice"]
    given = await ConsentService(portal.db, portal.clock).give(
        Actor(ActorRole.SUBJECT, party_id=alice), ConsentDraft(
            grantor_id=alice, recipient_id=pmo.id, points=[ALICE_PRM],
            datasets=[Dataset.DAILY_CONSUMPTION], purpose=Purpose.COLLECTIVE_SELF_CONSUMPTION,
            valid_until=now + timedelta(days=90), view=ConsentView.COMMUNITY,
            community_id=community.id))
    return given.row.id


async def test_the_household_sees_which_consents_are_community_ones(
        portal: Portal, alice: Browser) -> None:
    consent_id = await _community_consent(portal)
    _, html = await alice.get("/account?lang=en")
    text = text_of(html)
    assert ("Community consent: your data is used only in the total of the operation "
            "“Rue des Lilas”, added to those of at least 5 households; never on its own (R4)."
            in text)
    assert "Individual consent: the app reads the data of each meter, on its own." in text
    _, html = await alice.get(f"/account/consents/{consent_id}?lang=fr")
    text = text_of(html)
    assert "Accord collectif : vos données servent uniquement au total de l'opération" in text
    assert "« Rue des Lilas »" in text
    assert "Accord individuel" not in text
