"""Claiming a point by its meter number (R15), password reset without a mailbox (R7), the
security page (sign out everywhere), where sign-in leads back to, and the household's own
evidence bundle."""

from __future__ import annotations

import io
import zipfile

from sqlmodel import col, select

from consent.evidence.verify import verify_bundle
from consent.identity import issue_reset_code
from consent.models import Account, BrowserSession, ClaimOutcome, Occupancy, PointClaim
from proxy.portal.claims import MAX_REFUSALS
from tests.oauth.conftest import Browser, forms_of
from tests.portal.helpers import csrf_of, field_error, log_entries, post, text_of
from tests.portal.world import ALICE_PCE, BOB_PRM, FREE_PRM, PASSWORD, Portal


async def _claims(portal: Portal) -> list[PointClaim]:
    async with portal.db.session() as session:
        return list((await session.exec(select(PointClaim))).all())


async def test_claiming_a_point_with_its_meter_number(portal: Portal, alice: Browser) -> None:
    response, html = await post(alice, "/account/claim?lang=en", {
        "source": "enedis", "identifier": FREE_PRM.identifier, "meter_number": "123456789012"},
        page="/account/claim")
    assert response.status == 400
    assert field_error(html, "meter_number") == "The meter number does not match this point."
    number = portal.meter_number(FREE_PRM)
    response, _ = await post(alice, "/account/claim", {
        "source": "enedis", "identifier": " ".join([FREE_PRM.identifier[:7],
                                                    FREE_PRM.identifier[7:]]),
        "meter_number": f"{number[:6]} {number[6:]}"}, page="/account/claim")
    assert response.status == 303
    _, html = await alice.get("/account?lang=en")
    assert "Electricity · 30001610071843" in text_of(html)
    assert "the meter enedis:30001610071843 is linked to your account" in text_of(html)
    claims = await _claims(portal)
    [refused] = [c for c in claims if c.outcome == ClaimOutcome.REFUSED]
    [accepted] = [c for c in claims if c.outcome == ClaimOutcome.ACCEPTED]
    assert (refused.outcome, refused.reason) == (ClaimOutcome.REFUSED, "meter number mismatch")
    assert accepted.outcome == ClaimOutcome.ACCEPTED
    assert accepted.dso_customer == "C4"
    async with portal.db.session() as session:
        occupancy = (await session.exec(select(Occupancy).where(
            Occupancy.point_id == accepted.point_id))).one()
    assert occupancy.household_id == portal.ids["alice"]
    assert occupancy.starts_at.date().isoformat() == "2025-08-31"  # the DSO's move-in, Paris
    actions = [e["payload"]["action"] for e in await log_entries(portal) if e["kind"] == "admin"]
    assert actions == ["point.claim.accepted"]


async def test_a_neighbours_meter_number_does_not_take_their_point(portal: Portal,
                                                                   alice: Browser) -> None:
    response, html = await post(alice, "/account/claim?lang=en", {
        "source": "enedis", "identifier": BOB_PRM.identifier,
        "meter_number": portal.meter_number(BOB_PRM)}, page="/account/claim")
    assert response.status == 409
    assert "already linked to another household for the same period" in text_of(html)
    async with portal.db.session() as session:
        occupants = (await session.exec(select(Occupancy.household_id).where(
            Occupancy.point_id == portal.ids[str(BOB_PRM)]))).all()
    assert occupants == [portal.ids["bob"]]


async def test_a_dso_that_does_not_answer_is_a_502_not_the_households_mistake(
        portal: Portal, alice: Browser) -> None:
    portal.simulator.faults.next("unavailable")
    response, html = await post(alice, "/account/claim?lang=en", {
        "source": "enedis", "identifier": FREE_PRM.identifier,
        "meter_number": portal.meter_number(FREE_PRM)}, page="/account/claim")
    assert response.status == 502
    assert "The grid operator is not answering right now" in text_of(html)
    async with portal.db.session() as session:
        [claim] = (await session.exec(select(PointClaim))).all()
    assert (claim.outcome, claim.reason) == (ClaimOutcome.REFUSED, "dso unavailable")


async def test_a_dso_outage_is_no_guess_the_claim_throttle_counts(portal: Portal,
                                                                  alice: Browser) -> None:
    """More outages than the guessing limit allows wrong numbers: each is recorded, none
    counts, and the claim goes through once the DSO answers again."""
    for _ in range(MAX_REFUSALS + 1):
        portal.simulator.faults.next("unavailable")
        response, _ = await post(alice, "/account/claim", {
            "source": "enedis", "identifier": FREE_PRM.identifier,
            "meter_number": portal.meter_number(FREE_PRM)}, page="/account/claim")
        assert response.status == 502
    response, _ = await post(alice, "/account/claim", {
        "source": "enedis", "identifier": FREE_PRM.identifier,
        "meter_number": portal.meter_number(FREE_PRM)}, page="/account/claim")
    assert response.status == 303
    async with portal.db.session() as session:
        claims = (await session.exec(select(PointClaim))).all()
    assert sorted(c.outcome.value for c in claims) == ["accepted"] + ["refused"] * (
        MAX_REFUSALS + 1)
    assert {c.reason for c in claims if c.outcome == ClaimOutcome.REFUSED} == {
        "dso unavailable"}


async def test_meter_number_guessing_is_throttled(portal: Portal, alice: Browser) -> None:
    for attempt in range(5):
        response, _ = await post(alice, "/account/claim", {
            "source": "enedis", "identifier": FREE_PRM.identifier,
            "meter_number": f"00000000000{attempt}"}, page="/account/claim")
        assert response.status == 400
    response, html = await post(alice, "/account/claim?lang=en", {
        "source": "enedis", "identifier": FREE_PRM.identifier,
        "meter_number": portal.meter_number(FREE_PRM)}, page="/account/claim")
    assert response.status == 429
    assert "Too many attempts" in text_of(html)


async def _reset_code(portal: Portal, username: str = "alice") -> str:
    async with portal.db.session() as session:
        account = (await session.exec(select(Account).where(Account.username == username))).one()
        return await issue_reset_code(session, account, portal.clock.now(), issued_by="test")


async def test_password_reset_with_the_operators_code_and_a_meter_number(
        portal: Portal, alice: Browser) -> None:
    code = await _reset_code(portal)
    visitor = Browser(portal.url)
    try:
        fields = {"username": "alice", "code": code.lower().replace("-", " "),
                  "meter_number": portal.meter_number(BOB_PRM), "password": "new-password-42",
                  "password2": "new-password-42"}
        response, html = await post(visitor, "/account/reset?lang=en", fields,
                                    page="/account/reset")
        assert response.status == 400  # Bob's meter, not Alice's: the same vague answer
        assert "The username, the code or the meter number is wrong" in text_of(html)
        fields["meter_number"] = portal.meter_number(ALICE_PCE)
        response, _ = await post(visitor, "/account/reset", fields, page="/account/reset")
        assert response.status == 303
        assert response.headers["Location"] == "/account"
        assert (await visitor.get("/account"))[0].status == 200  # signed in, fresh session
        async with portal.db.session() as session:  # the code proves who one is: recent
            [row] = (await session.exec(select(BrowserSession).where(
                BrowserSession.account_id == portal.ids["alice_account"],
                col(BrowserSession.revoked_at).is_(None)))).all()
        assert (row.auth_method, row.authenticated_at) == ("reset", portal.clock.now())
        assert (await alice.get("/account"))[0].status == 303  # every other session ended
        response, _ = await post(visitor, "/account/reset", fields, page="/account/reset")
        assert response.status == 400  # a code works once
    finally:
        await visitor.close()
    stranger = Browser(portal.url)
    try:
        assert (await stranger.login("alice", PASSWORD)).status == 200  # the old one: refused
    finally:
        await stranger.close()
    actions = [e["payload"]["action"] for e in await log_entries(portal) if e["kind"] == "admin"]
    assert "account.password_reset" in actions


async def test_reset_form_checks_the_new_password_next_to_the_field(portal: Portal) -> None:
    visitor = Browser(portal.url)
    try:
        response, html = await post(visitor, "/account/reset?lang=en", {
            "username": "alice", "code": "x", "meter_number": "1", "password": "short",
            "password2": "other"}, page="/account/reset")
        assert response.status == 400
        assert field_error(html, "password") == "At least 10 characters."
        assert field_error(html, "password2") == "The two passwords differ."
    finally:
        await visitor.close()


async def test_sign_out_everywhere_ends_every_session(portal: Portal, alice: Browser) -> None:
    phone = Browser(portal.url)
    try:
        await phone.login("alice", PASSWORD, next_path="/account")
        assert (await phone.get("/account"))[0].status == 200
        response, _ = await post(alice, "/account/security/logout-all", {},
                                 page="/account/security")
        assert response.status == 303
        assert response.headers["Location"] == "/account/signed-out"
        assert (await phone.get("/account"))[0].status == 303
        assert (await alice.get("/account"))[0].status == 303
        _, html = await alice.get("/account/signed-out?lang=en")
        assert "All your sessions are closed (2)." in text_of(html)
    finally:
        await phone.close()


async def test_a_next_with_a_control_character_still_signs_in(portal: Portal) -> None:
    """``/login?next=/%7F``: ``safe_next`` let DEL (0x7F) through, the page carried it along,
    and after a correct password aiohttp refused the ``Location`` header and dropped the
    connection, so the household never got its answer. Now the target falls back to ``/``."""
    visitor = Browser(portal.url)
    try:
        for target in ("/%7F", "/account%C3%A9", "/account%20x"):
            _, html = await visitor.get(f"/login?next={target}")
            fields = dict(forms_of(html)[-1]["fields"])
            assert fields["next"] == "/"
            response, _ = await visitor.post("/login", {**fields, "username": "alice",
                                                        "password": PASSWORD})
            assert response.status == 303
            assert response.headers["Location"] == "/"
    finally:
        await visitor.close()


async def test_changing_the_password_keeps_this_browser_only(portal: Portal,
                                                            alice: Browser) -> None:
    phone = Browser(portal.url)
    try:
        await phone.login("alice", PASSWORD, next_path="/account")
        response, html = await post(alice, "/account/security/password?lang=en", {
            "current": "wrong-password", "password": "brand-new-password",
            "password2": "brand-new-password"}, page="/account/security")
        assert field_error(html, "current") == "This is not your current password."
        response, _ = await post(alice, "/account/security/password", {
            "current": PASSWORD, "password": "brand-new-password",
            "password2": "brand-new-password"}, page="/account/security")
        assert response.status == 303
        assert (await alice.get("/account"))[0].status == 200
        assert (await phone.get("/account"))[0].status == 303
    finally:
        await phone.close()


async def test_own_evidence_bundle_holds_the_households_records(portal: Portal,
                                                                alice: Browser) -> None:
    row_id = portal.ids["alice_soleil"]
    await post(alice, f"/account/consents/{row_id}/withdraw", {})
    token = await csrf_of(alice, "/account/evidence")
    async with alice.session.post(portal.url + "/account/evidence/bundle",
                                  data={"csrf_token": token},
                                  headers={"Origin": portal.url}) as response:
        assert response.status == 200
        assert response.headers["Content-Type"] == "application/zip"
        assert response.headers["Content-Disposition"].startswith("attachment; filename=")
        body = await response.read()
    with zipfile.ZipFile(io.BytesIO(body)) as bundle:
        names = bundle.namelist()
        summary = bundle.read("summary.txt").decode()
    assert "manifest.json" in names
    assert "log/entries.tsv" in names
    assert any(n.startswith("records/") for n in names)
    assert portal.ids["alice"] in summary or "withdraw" in summary
    report = verify_bundle(io.BytesIO(body))
    assert report.ok, report
