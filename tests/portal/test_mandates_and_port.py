"""Mandates given by the household, with proof upload and review state (R2, R10, R14), and the
meter's user port tracked against the 24-hour limit (R20)."""

from __future__ import annotations

import io
from datetime import timedelta

import aiohttp

from consent.lifecycle import ActorRole, MandateState
from consent.models import ReviewState
from consent.services import Actor
from proxy.keys import rules_key
from tests.evidence.documents import pdf, png
from tests.oauth.conftest import Browser
from tests.portal.helpers import csrf_of, field_error, log_entries, post, text_of
from tests.portal.world import ALICE_PCE, ALICE_PRM, Portal


async def _prepare(portal: Portal, alice: Browser, path: str = "paper") -> str:
    response, html = await post(alice, "/account/mandates/new", [
        ("mandatary", portal.ids["cpas"]), ("scope", "read_data"), ("points", str(ALICE_PRM)),
        ("datasets", "daily_consumption"), ("until", "2027-06-30"), ("path", path)],
        page="/account/mandates/new")
    assert response.status == 303, html
    return response.headers["Location"].rsplit("/", 1)[1]


async def _upload(portal: Portal, alice: Browser, mandate_id: str, data: bytes,
                  content_type: str, filename: str = "mandat.pdf",
                  token: str | None = None) -> tuple[int, str]:
    form = aiohttp.FormData()
    form.add_field("csrf_token", token or await csrf_of(alice, f"/account/mandates/{mandate_id}"))
    form.add_field("kind", "signed_mandate")
    form.add_field("file", io.BytesIO(data), filename=filename, content_type=content_type)
    response, html = await alice.post(f"/account/mandates/{mandate_id}/proofs", form,
                                      headers={"Origin": alice.base})
    return response.status, html


async def test_paper_mandate_upload_submit_and_review_state(portal: Portal,
                                                            alice: Browser) -> None:
    mandate_id = await _prepare(portal, alice)
    status, _ = await _upload(portal, alice, mandate_id, pdf(), "application/pdf")
    assert status == 303
    rules = portal.app[rules_key]
    [proof] = await rules.mandates.proofs("default", mandate_id)
    assert (proof.media_type, proof.review_state) == ("application/pdf", ReviewState.PENDING)
    stored = await rules.evidence.blobs.get(proof.storage_key, tenant="default")
    assert stored == pdf()  # kept encrypted, given back intact
    response, _ = await post(alice, f"/account/mandates/{mandate_id}/submit", {"version": "1"},
                             page=f"/account/mandates/{mandate_id}")
    assert response.status == 303
    _, html = await alice.get(f"/account/mandates/{mandate_id}?lang=en")
    text = text_of(html)
    assert "under review" in text
    assert "Your mandate is being checked by the operator" in text
    # The reviewer's verdict shows up on the household's page.
    reviewer = Actor(ActorRole.REVIEWER, party_id=(await _reviewer(portal)))
    await rules.mandates.approve(reviewer, mandate_id, reason="signature checked")
    _, html = await alice.get(f"/account/mandates/{mandate_id}?lang=en")
    assert "accepted" in text_of(html)
    assert "signature checked" in text_of(html)
    records = [e["payload"]["record"] for e in await log_entries(portal)
               if e["kind"] == "mandate.record"]
    # Every change is a record, the reviewer's too (signed in its own transaction).
    assert [r["action"] for r in records] == ["request", "submit", "approve"]
    assert records[1]["documents"][0]["sha256"] == proof.sha256


async def _reviewer(portal: Portal) -> str:
    from sqlmodel import select

    from consent.models import Account

    async with portal.db.session() as session:
        account = (await session.exec(select(Account).where(
            Account.username == "reviewer"))).one()
        return account.party_id


async def test_uploads_are_checked_by_content_and_size(portal: Portal, alice: Browser) -> None:
    mandate_id = await _prepare(portal, alice)
    status, html = await _upload(portal, alice, mandate_id, b"#!/bin/sh\nrm -rf /\n",
                                 "application/pdf", "evil.pdf")
    assert status == 400
    assert field_error(html, "file") is not None
    assert "PDF" in field_error(html, "file")
    status, html = await _upload(portal, alice, mandate_id, png() + b"\0" * (4 * 1024 * 1024),
                                 "image/png", "huge.png")
    assert status == 400
    assert field_error(html, "file") == "Le fichier dépasse 4 Mo."
    status, _ = await _upload(portal, alice, mandate_id, png(), "image/png",
                              token="forged" * 7)
    assert status == 403
    assert await portal.app[rules_key].mandates.proofs("default", mandate_id) == []


async def test_online_mandate_is_active_at_once_and_ends_on_request(portal: Portal,
                                                                    alice: Browser) -> None:
    mandate_id = await _prepare(portal, alice, path="online")
    rules = portal.app[rules_key]
    assert (await rules.mandates.get("default", mandate_id)).state == MandateState.ACTIVE
    response, _ = await post(alice, f"/account/mandates/{mandate_id}/withdraw", {},
                             page=f"/account/mandates/{mandate_id}")
    assert response.status == 303
    assert (await rules.mandates.get("default", mandate_id)).state == MandateState.WITHDRAWN
    records = [e["payload"]["record"] for e in await log_entries(portal)
               if e["kind"] == "mandate.record"]
    assert [r["action"] for r in records] == ["request", "grant", "withdraw"]
    assert records[1]["notice"] is not None
    assert records[2]["authentication"] is not None


async def test_mandate_form_errors_next_to_the_fields(portal: Portal, alice: Browser) -> None:
    response, html = await post(alice, "/account/mandates/new?lang=en", [
        ("mandatary", "person"), ("username", "nobody-here"), ("scope", "everything"),
        ("points", str(ALICE_PRM)), ("points", str(ALICE_PCE)), ("points", "enedis:1"),
        ("datasets", "daily_consumption"), ("standing", "yes"), ("path", "online")],
        page="/account/mandates/new")
    assert response.status == 400
    assert field_error(html, "username") is None  # nothing said of the username
    assert field_error(html, "scope") == "Choose what the mandatary may do."
    assert field_error(html, "points") == "Choose among your meters."
    response, html = await post(alice, "/account/mandates/new?lang=en", [
        ("mandatary", portal.ids["cpas"]),
        ("scope", "read_data"), ("points", str(ALICE_PRM)), ("datasets", "daily_consumption"),
        ("standing", "yes"), ("path", "online")], page="/account/mandates/new")
    assert response.status == 303  # social services may hold a standing mandate (R11)


async def test_port_request_is_recorded_and_tracked_against_24_hours(
        portal: Portal, alice: Browser) -> None:
    _, html = await alice.get("/account/port?lang=en")
    assert "This meter has no user port." in text_of(html)  # the gas meter
    point = portal.ids[str(ALICE_PRM)]
    initial = portal.simulator.port_state(ALICE_PRM).state.value
    action = "open" if initial == "closed" else "close"
    response, _ = await post(alice, f"/account/port/{point}", {"action": action},
                             page="/account/port")
    assert response.status == 303
    _, html = await alice.get("/account/port?lang=en")
    assert "a request is in progress" in text_of(html)
    assert "in progress" in text_of(html)
    response, html = await post(alice, f"/account/port/{point}", {"action": action},
                                page="/account/port")
    assert response.status == 409  # one request at a time
    portal.clock.advance(timedelta(hours=2, minutes=1))  # the simulated DSO takes two hours
    _, html = await alice.get("/account/port?lang=en")
    text = text_of(html)
    assert 'class="badge completed"' in html
    assert 'class="badge late"' not in html
    assert f"Current state: {'open' if action == 'open' else 'closed'}" in text
    actions = [e["payload"]["action"] for e in await log_entries(portal) if e["kind"] == "admin"]
    assert actions == ["meter_port.request", "meter_port.completed"]
    completed = [e["payload"] for e in await log_entries(portal) if e["kind"] == "admin"][-1]
    assert completed["details"]["late"] is False


async def test_a_port_request_past_24_hours_is_late(portal: Portal, alice: Browser) -> None:
    portal.simulator._port._delay = timedelta(hours=30)  # a slow DSO
    point = portal.ids[str(ALICE_PRM)]
    initial = portal.simulator.port_state(ALICE_PRM).state.value
    await post(alice, f"/account/port/{point}",
               {"action": "open" if initial == "closed" else "close"}, page="/account/port")
    portal.clock.advance(timedelta(hours=11))
    _, html = await alice.get("/account/port?lang=en")
    assert 'class="badge pending"' in html
    assert 'class="badge late"' not in html
    portal.clock.advance(timedelta(hours=14))  # 25 hours, still pending (a new session)
    browser = Browser(portal.url)
    try:
        await browser.login("alice", "alice-portal-password", next_path="/account")
        _, html = await browser.get("/account/port?lang=en")
        assert 'class="badge late"' in html
    finally:
        await browser.close()
