"""R4: an organiser asks for a *community* consent (authorization_details ``view:
community`` with its community); the page says in words that the data is used only inside
the community's total, and the consent recorded says so. An individual request is worded as
such; a community the app does not organise is refused."""

from __future__ import annotations

import json
from datetime import date

import pytest
from sqlmodel import select

from consent.lifecycle import ActorRole
from consent.models import DEFAULT_TENANT, Consent, PartyKind
from consent.purposes import ConsentView, Purpose
from consent.scopes import InvalidDetails, parse_details
from consent.services import Actor
from consent.services.communities import CommunityService
from consent.services.registry import RecipientDraft, add_party, register_recipient
from tests.oauth.conftest import PRM, REDIRECT_URI, Browser, Running, query_of
from tests.oauth.helpers import authorize_url


async def _organiser(p: Running) -> tuple[str, str, str]:
    """A PMO app, its community (k = 5) and another community of another organiser."""
    now = p.clock.now()
    async with p.db.session() as session:
        ids = []
        for name in ("Soleil", "Autre"):
            recipient, _ = await register_recipient(session, RecipientDraft(
                name=name, website="https://pmo.example", contact_email="dpo@pmo.example",
                purposes=[Purpose.COLLECTIVE_SELF_CONSUMPTION.value], legal_basis="consent",
                data_role="controller", allowed_datasets=["daily_consumption"],
                redirect_uris=[REDIRECT_URI]), tenant_id=DEFAULT_TENANT, now=now)
            ids.append((recipient.id, recipient.client_id))
        staff = await add_party(session, tenant_id=DEFAULT_TENANT, kind=PartyKind.PERSON,
                                name="Operator", now=now)
    operator = Actor(ActorRole.OPERATOR, party_id=staff.id)
    communities = CommunityService(p.db, p.clock)
    mine = await communities.create(operator, name="Soleil partagé", organiser_id=ids[0][0])
    theirs = await communities.create(operator, name="Autre", organiser_id=ids[1][0])
    return ids[0][1], mine.id, theirs.id


def _details(community: str | None) -> str:
    detail = {"type": "meter_data", "datasets": ["daily_consumption"], "points": [str(PRM)]}
    if community is not None:
        detail.update(view="community", community=community)
    return json.dumps([detail])


async def test_a_community_consent_is_worded_and_recorded(passerelle: Running,
                                                          browser: Browser) -> None:
    client_id, community, _ = await _organiser(passerelle)
    url = authorize_url(passerelle, client_id=client_id,
                        authorization_details=_details(community)) + "&lang=en"
    action, fields = await browser.consent_form(url)
    _, html = await browser.get(url)
    assert "only inside the total of the collective self-consumption operation" in html
    assert "Soleil partagé" in html
    assert "at least 5 households" in html
    assert "never your data on its own" in html
    response, _ = await browser.post(action.replace("&amp;", "&"),
                                     [*fields, ("decision", "approve")])
    assert response.status == 303
    assert "code" in query_of(response.headers["Location"])
    async with passerelle.db.session() as session:
        consent = (await session.exec(select(Consent))).one()
    assert consent.view is ConsentView.COMMUNITY
    assert consent.community_id == community


async def test_an_individual_request_is_worded_as_such(passerelle: Running,
                                                       browser: Browser) -> None:
    client_id, _, _ = await _organiser(passerelle)
    url = authorize_url(passerelle, client_id=client_id,
                        authorization_details=_details(None)) + "&lang=fr"
    await browser.consent_form(url)
    _, html = await browser.get(url)
    assert "Lire les données de chacun des compteurs choisis, séparément." in html
    response = await browser.decide(url)
    assert response.status == 303
    async with passerelle.db.session() as session:
        consent = (await session.exec(select(Consent))).one()
    assert consent.view is ConsentView.INDIVIDUAL
    assert consent.community_id is None


async def test_a_community_the_app_does_not_organise_is_refused(passerelle: Running,
                                                               browser: Browser) -> None:
    client_id, _, theirs = await _organiser(passerelle)
    for community in (theirs, "no-such-community"):
        url = authorize_url(passerelle, client_id=client_id,
                            authorization_details=_details(community)) + "&lang=en"
        response, html = await browser.get(url)
        if response.status == 303:
            await browser.login()
            response, html = await browser.get(url)
        assert response.status == 400
        assert "does not organise" in html
    async with passerelle.db.session() as session:
        assert (await session.exec(select(Consent))).all() == []


@pytest.mark.parametrize("detail", [
    {"view": "community"}, {"view": "community", "community": ""},
    {"community": "c-1"}, {"view": "individual", "community": "c-1"},
    {"view": "collective", "community": "c-1"}, {"view": 3},
])
def test_view_and_community_go_together(detail: dict[str, object]) -> None:
    text = json.dumps({"type": "meter_data", "datasets": ["daily_consumption"], **detail})
    with pytest.raises(InvalidDetails):
        parse_details(text, today=date(2026, 11, 1))


def test_the_view_is_reflected_in_the_details() -> None:
    parsed = parse_details(json.dumps({"type": "meter_data", "datasets": ["daily_consumption"],
                                       "view": "community", "community": "c-1"}),
                           today=date(2026, 11, 1))
    assert (parsed.view, parsed.community) == (ConsentView.COMMUNITY, "c-1")
    assert parsed.to_details()[0]["view"] == "community"
    assert parsed.to_details()[0]["community"] == "c-1"
    individual = parse_details(json.dumps({"type": "meter_data", "datasets": ["contract"]}),
                               today=date(2026, 11, 1))
    assert "view" not in individual.to_details()[0]
