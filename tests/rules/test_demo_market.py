"""The demo seed shows the market rules: a CPAS with a standing mandate (R11), a community of
seven households whose k = 5 aggregate is served, one of them through a community consent (R4),
and a supplier with its contracts (R13)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiohttp.test_utils import TestClient, TestServer, unused_port
from sqlmodel import col, select

from adapters.simulator import Simulator, SimulatorAdapter
from adapters.simulator.demo import demo_profiles
from consent.clock import FrozenClock
from consent.demo import DEMO_PLAN, describe
from consent.identifiers import PointRef, Source
from consent.lifecycle import ActorRole, ConsentState, MandateState
from consent.logins import find_account
from consent.models import (
    Community,
    CommunityMember,
    Consent,
    Mandate,
    OAuthToken,
    Party,
    PartyKind,
    Recipient,
    SupplyContract,
    new_id,
)
from consent.models.oauth import TokenKind
from consent.purposes import Purpose
from consent.services.base import Actor
from consent.services.consent_rules import ConsentDraft
from consent.services.consents import ConsentService
from consent.staff import issue_token
from consent.storage import Database
from consent.tokens import ACCESS_PREFIX, digest, new_secret
from consent.vocabulary import Dataset
from proxy.app import create_app
from proxy.cli import main
from proxy.keys import adapters_key, database_key
from proxy.settings import Settings
from tests.support.databases import SqliteFactory


@pytest.fixture
async def demo(sqlite_factory: SqliteFactory, tmp_path: Path,
               clock: FrozenClock) -> AsyncIterator[TestClient[Any, Any]]:
    url = sqlite_factory.create()
    port = unused_port()
    settings = Settings(data_dir=tmp_path / "demo", database_url=url, demo=True,
                        host="127.0.0.1", port=port)
    adapter = SimulatorAdapter(Simulator(clock, demo_profiles(DEMO_PLAN)))
    app = create_app(settings, clock=clock, adapters={s: adapter for s in Source})
    client: TestClient[Any, Any] = TestClient(TestServer(app, host="127.0.0.1", port=port))
    await client.start_server()
    yield client
    await client.close()
    sqlite_factory.drop(url)


async def test_the_demo_shows_a_cpas_a_community_and_a_supplier(
        demo: TestClient[Any, Any], clock: FrozenClock) -> None:
    db: Database = demo.server.app[database_key]
    async with db.session() as s:
        cpas = (await s.exec(select(Party).where(
            Party.kind == PartyKind.SOCIAL_SERVICES))).one()
        [mandate] = (await s.exec(select(Mandate).where(Mandate.mandatary_id == cpas.id))).all()
        assert (mandate.state, mandate.valid_until) == (MandateState.ACTIVE, None)
        assert mandate.mandator_id == DEMO_PLAN.id_for("party", "lotte")
        community = (await s.exec(select(Community))).one()
        members = (await s.exec(select(CommunityMember).where(
            CommunityMember.community_id == community.id))).all()
        assert (len(members), community.min_members) == (7, 5)
        pmo = (await s.exec(select(Recipient).where(
            Recipient.client_id == "demo-pmo-jambes"))).one()
        consents = (await s.exec(select(Consent).where(Consent.recipient_id == pmo.id))).all()
        assert [c.state for c in consents] == [ConsentState.ACTIVE] * 7
        assert len({c.grantor_id for c in consents}) == 7  # one record per member (R4)
        # Six individual consents, and Gaëlle's community one: her point only in the sum.
        assert sorted((c.view.value, c.community_id) for c in consents) == [
            ("community", community.id), *[("individual", None)] * 6]
        supplier = (await s.exec(select(Recipient).where(col(Recipient.is_supplier)))).one()
        contracts = (await s.exec(select(SupplyContract).where(
            SupplyContract.supplier_id == supplier.id))).all()
        assert len(contracts) == 2
        raw = new_secret(ACCESS_PREFIX)
        s.add(OAuthToken(tenant_id="default", kind=TokenKind.ACCESS, token_hash=digest(raw),
                         family_id=new_id(), recipient_id=pmo.id, consent_id=None,
                         grant_type="client_credentials", scope="daily_consumption",
                         expires_at=clock.now() + timedelta(hours=1), created_at=clock.now()))
    async with demo.get(f"/api/v1/communities/{community.id}/datasets/daily_consumption",
                        params={"start": "2026-11-10", "end": "2026-11-17"},
                        headers={"Authorization": f"Bearer {raw}"}) as response:
        body = await response.json()
        assert response.status == 200, body
    assert body["members"] == 7
    assert len(body["values"]) == 7


async def test_gas_days_are_served_by_their_date_however_they_straddle_midnight(
        demo: TestClient[Any, Any], clock: FrozenClock) -> None:
    """A gas day runs 06:00 to 06:00 (adapters.base: a reading belongs to the day its start
    lies in): the days asked for are the gas days of those dates, the last one and
    yesterday's included, through the CPAS's standing mandate on Lotte's gas meter."""
    db: Database = demo.server.app[database_key]
    async with db.session() as s:
        cpas = (await s.exec(select(Recipient).where(
            Recipient.client_id == "demo-cpas-namur"))).one()
        raw = new_secret(ACCESS_PREFIX)
        s.add(OAuthToken(tenant_id="default", kind=TokenKind.ACCESS, token_hash=digest(raw),
                         family_id=new_id(), recipient_id=cpas.id, consent_id=None,
                         grant_type="client_credentials", scope="daily_consumption",
                         expires_at=clock.now() + timedelta(hours=1), created_at=clock.now()))
    path = "/api/v1/points/inhouse:541449200000004562/datasets/daily_consumption"
    yesterday = clock.now().date() - timedelta(days=1)
    for first, days in ((yesterday - timedelta(days=7), 7), (yesterday, 1)):
        async with demo.get(path, headers={"Authorization": f"Bearer {raw}"}, params={
                "start": first.isoformat(),
                "end": (first + timedelta(days=days)).isoformat()}) as response:
            body = await response.json()
            assert response.status == 200, body
        starts = [datetime.fromisoformat(v["start"]) for v in body["values"]]
        assert [s.date() for s in starts] == [first + timedelta(days=n) for n in range(days)]
        assert {(s.hour, s.minute) for s in starts} == {(6, 0)}
    monday = yesterday - timedelta(days=yesterday.weekday() + 7)
    async with demo.get(path, headers={"Authorization": f"Bearer {raw}"}, params={
            "start": monday.isoformat(), "end": (monday + timedelta(days=7)).isoformat(),
            "resolution": "P1W"}) as response:
        body = await response.json()
        assert response.status == 200, body
    (week,) = body["values"]  # Monday 06:00 to Monday 06:00
    start, end = datetime.fromisoformat(week["start"]), datetime.fromisoformat(week["end"])
    assert (start.date(), start.hour, end - start) == (monday, 6, timedelta(days=7))


async def test_the_demo_app_can_open_the_data_connect_consent_page(
        demo: TestClient[Any, Any]) -> None:
    """Watt Watcher is registered with the compatible consent page's callback at the address
    the demo runs at (found by review: the quickstart's app got
    client_not_configured_for_dataconnect). Watt Watcher declares two purposes: the page asks
    which (Passerelle's own ``purpose`` parameter), and goes on to sign-in once named."""
    path = "/compat/enedis/dataconnect/v1/oauth2/authorize"
    query = {"client_id": "demo-wattwatcher", "response_type": "code", "state": "s1",
             "duration": "P30D"}
    async with demo.get(path, params=query, allow_redirects=False) as response:
        assert response.status == 400
        assert (await response.json())["error_description"] == "purpose_required"
    async with demo.get(path, params={**query, "purpose": "energy_monitoring"},
                        allow_redirects=False) as response:
        text = await response.text()
        assert "client_not_configured" not in text
        assert response.status in (200, 302, 303), text


async def test_what_demo_show_prints_is_what_the_demo_serves(
        demo: TestClient[Any, Any], clock: FrozenClock,
        capsys: pytest.CaptureFixture[str]) -> None:
    """``demo show`` and the demo's DSO read one plan: every point's address as the DSO
    serves it, and the supplier of each supply contract as the contract record names it
    (found by review: the simulator derived both from the point's seed, so Camille's meter in
    rue Oberkampf was served in Rennes, supplied by Ekwateur, and ``simulator --demo --dso
    grdf`` refused the postal code ``demo show`` printed)."""
    assert main(["demo", "show", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    adapters = demo.server.app[adapters_key]
    for point in shown["points"]:
        ref = PointRef.parse(point["ref"])
        served = await adapters[ref.source].record(ref, Dataset.ADDRESS)
        assert served.fields == point["address"], ref
    contracts = shown["supply_contracts"]
    assert contracts
    for contract in contracts:
        ref = PointRef.parse(contract["ref"])
        served = await adapters[ref.source].record(ref, Dataset.CONTRACT)
        assert served.fields["supplier"] == contract["supplier_name"], ref
    # End to end: the supplier app reads its contracts through the native API, and an app
    # Camille consented to reads her address through the Data Connect-compatible one.
    db: Database = demo.server.app[database_key]
    async with db.session() as s:
        supplier = (await s.exec(select(Recipient).where(col(Recipient.is_supplier)))).one()
        soleil = (await s.exec(select(Recipient).where(
            Recipient.client_id == "demo-soleil"))).one()
    (household,) = [h for h in shown["households"] if h["username"] == "camille"]
    camille = household["party_id"]
    (elec,) = [p for p in shown["points"] if p["ref"] in household["points"]
               and p["source"] == "enedis"]
    await ConsentService(db, clock).give(
        Actor(ActorRole.SUBJECT, party_id=camille), ConsentDraft(
            grantor_id=camille, recipient_id=soleil.id, points=[PointRef.parse(elec["ref"])],
            datasets=[Dataset.ADDRESS], purpose=Purpose.SOLAR_ASSESSMENT,
            valid_until=clock.now() + timedelta(days=30)))
    tokens = {r.id: await _app_token(db, clock, r.id, "contract address")
              for r in (supplier, soleil)}
    async with demo.get(f"/api/v1/points/{elec['ref']}/datasets/contract",
                        headers={"Authorization": f"Bearer {tokens[supplier.id]}"}) as response:
        body = await response.json()
        assert response.status == 200, body  # Camille consented to her supplier (R13)
    assert body["fields"]["supplier"] == supplier.name
    async with demo.get("/compat/enedis/customers_upa/v5/usage_points/addresses",
                        params={"usage_point_id": elec["identifier"]},
                        headers={"Authorization": f"Bearer {tokens[soleil.id]}"}) as response:
        body = await response.json()
        assert response.status == 200, body
    served = body["customer"]["usage_points"][0]["usage_point"]["usage_point_addresses"]
    assert {k: served[k] for k in elec["address"]} == elec["address"]


async def _app_token(db: Database, clock: FrozenClock, recipient_id: str, scope: str) -> str:
    """An app-wide (client credentials) access token of ``recipient_id``."""
    raw = new_secret(ACCESS_PREFIX)
    async with db.session() as s:
        s.add(OAuthToken(tenant_id="default", kind=TokenKind.ACCESS, token_hash=digest(raw),
                         family_id=new_id(), recipient_id=recipient_id, consent_id=None,
                         grant_type="client_credentials", scope=scope,
                         expires_at=clock.now() + timedelta(hours=1), created_at=clock.now()))
    return raw


async def test_the_community_consent_shows_in_demo_show_and_the_staff_api(
        demo: TestClient[Any, Any], clock: FrozenClock) -> None:
    """R4: ``demo show --json`` lists the demo's consents with their view, and the staff API
    names the community of Gaëlle's community consent."""
    shown = describe(DEMO_PLAN)["consents"]
    [community] = [c for c in shown if c["view"] == "community"]
    assert (community["household"], community["recipient"], community["community"]) == (
        "gaelle", "pmo", "Soleil de Jambes")
    assert {c["view"] for c in shown} == {"individual", "community"}
    db: Database = demo.server.app[database_key]
    async with db.session() as s:
        support = await find_account(s, "support", DEMO_PLAN.tenant_id)
        assert support is not None
        token = await issue_token(s, support, clock.now())
    gaelle = DEMO_PLAN.id_for("party", "gaelle")
    async with demo.get(f"/staff/households/{gaelle}",
                        headers={"Authorization": f"Bearer {token}"}) as response:
        body = await response.json()
        assert response.status == 200, body
    [consent] = body["consents"]
    assert (consent["view"], consent["community"]["name"]) == ("community", "Soleil de Jambes")
