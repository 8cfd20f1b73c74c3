"""The overview and the household's decisions: each takes effect at once (the recipient's next
request is refused), is confirmed on screen, and is recorded as signed evidence."""

from __future__ import annotations

import re
from datetime import timedelta

from consent.lifecycle import ConsentState
from tests.oauth.conftest import Browser
from tests.portal.helpers import (
    consent,
    consents_of,
    field_error,
    log_entries,
    post,
    text_of,
)
from tests.portal.world import ALICE_PRM, Portal


async def test_overview_says_who_reads_what_why_how_far_back_and_until_when(
        portal: Portal, alice: Browser) -> None:
    await portal.read(await portal.token("coach"))  # Watt Coach reads once
    response, html = await alice.get("/account?lang=en")
    assert response.status == 200
    text = text_of(html)
    assert "Electricity · 22516914714270" in text
    assert "Gas · 19112233445566" in text
    assert "Watt Coach" in text
    assert "Soleil" in text
    assert "Show the household its own consumption and production." in text  # why
    assert "consent (GDPR Art. 6(1)(a))" in text  # legal basis
    assert "30 minutes" in text
    assert "730 days" in text
    assert "22 Nov 2026 → 22 Nov 2027" in text  # since, until
    assert "(1 read in the last 20 months)" in text
    assert "never" in text
    assert 'href="/register"' in html  # the public register (R21)
    assert "Bob" not in text  # another household's consent is not shown


async def test_one_is_singular_on_the_overview(portal: Portal, alice: Browser) -> None:
    """A consent narrowed to one day of history read "1 days" ("1 jours"), and its one ended
    predecessor "Show the 1 ended access grants" ("Afficher les 1 accès terminés")."""
    old = await consent(portal, "alice_soleil")
    response, _ = await post(alice, f"/account/consents/{old.id}/narrow", [
        ("version", str(old.version)), ("points", str(ALICE_PRM)),
        ("datasets", "daily_production"), ("resolution", "P1D"), ("history_days", "1"),
        ("until", "2027-05-31")])
    assert response.status == 303, await response.text()
    _, html = await alice.get("/account?lang=en")
    text = text_of(html)
    assert "1 day " in text
    assert "1 days" not in text
    assert "Show 1 ended access grant" in text
    _, html = await alice.get("/account?lang=fr")
    text = text_of(html)
    assert "1 jour " in text
    assert "1 jours" not in text
    assert "Afficher 1 accès terminé" in text


async def test_withdrawal_stops_the_next_request_and_is_confirmed_and_evidenced(
        portal: Portal, alice: Browser) -> None:
    bound = await portal.token("coach", "alice_coach")
    app_wide = await portal.token("coach")
    assert await portal.read(bound) == 200
    row = await consent(portal, "alice_coach")
    response, _ = await post(alice, f"/account/consents/{row.id}/withdraw",
                             {"version": str(row.version)})
    assert response.status == 303
    assert response.headers["Location"] == "/account"
    assert await portal.read(bound) == 401  # the consent's tokens died with it
    assert await portal.read(app_wide) == 403  # and an app-wide token finds no consent
    assert (await consent(portal, "alice_coach")).state == ConsentState.WITHDRAWN
    _, html = await alice.get("/account?lang=en")
    assert "Done: Watt Coach no longer has access to this data, from now on." in text_of(html)
    _, again = await alice.get("/account?lang=en")
    assert "no longer has access" not in text_of(again)  # the confirmation is shown once
    [record] = [e for e in await log_entries(portal) if e["kind"] == "consent.record"]
    signed = record["payload"]["record"]
    assert (signed["action"], signed["state"]) == ("withdraw", "withdrawn")
    assert signed["actor"]["role"] == "subject"
    assert signed["authentication"]["method"] == "password"
    # The account's opaque id, never the login name: the record outlives an erasure (art. 17).
    assert signed["authentication"]["subject"] == signed["actor"]["account_id"] != "alice"


async def test_narrowing_replaces_the_consent_and_kills_the_wider_tokens(
        portal: Portal, alice: Browser) -> None:
    bound = await portal.token("coach", "alice_coach")
    old = await consent(portal, "alice_coach")
    response, _ = await post(alice, f"/account/consents/{old.id}/narrow", [
        ("version", str(old.version)), ("points", str(ALICE_PRM)),
        ("datasets", "daily_consumption"), ("resolution", "P1D"), ("history_days", "90"),
        ("until", "2027-05-31")])
    assert response.status == 303, await response.text()
    rows = [c for c in await consents_of(portal, "alice") if c.recipient_id == old.recipient_id]
    replaced, new = rows
    assert replaced.state == ConsentState.REVOKED
    assert new.state == ConsentState.ACTIVE
    assert new.supersedes_id == old.id
    assert new.arrangement_id == old.arrangement_id
    assert new.datasets == ["daily_consumption"]
    assert new.max_resolution == "P1D"
    assert new.history_days == 90
    assert new.valid_until.date().isoformat() == "2027-05-31"  # midnight Paris, in UTC
    assert response.headers["Location"] == f"/account/consents/{new.id}"
    assert await portal.read(bound) == 401
    app_wide = await portal.token("coach")
    assert await portal.read(app_wide) == 200  # daily values, within the narrower consent
    assert await portal.read(app_wide, dataset="consumption_load_curve") == 403
    records = [e["payload"]["record"] for e in await log_entries(portal)
               if e["kind"] == "consent.record"]
    assert [(r["action"], r["consent_id"]) for r in records] == [
        ("request", new.id), ("grant", new.id), ("revoke", old.id)]
    assert records[1]["notice"]["sha256"]
    assert records[1]["notice"]["language"] == "fr"
    assert records[2]["reason"] == "superseded"


async def test_narrowing_cannot_widen_and_says_why_next_to_the_field(
        portal: Portal, alice: Browser) -> None:
    old = await consent(portal, "alice_coach")
    response, html = await post(alice, f"/account/consents/{old.id}/narrow?lang=en", [
        ("version", str(old.version)), ("points", str(ALICE_PRM)),
        ("datasets", "daily_consumption"), ("datasets", "daily_max_power"),
        ("resolution", "PT10M"), ("history_days", "5000"), ("until", "2031-01-01")])
    assert response.status == 400
    assert field_error(html, "datasets") == ("This data is not possible for these meters or "
                                             "this app.")
    assert field_error(html, "resolution") == "Choose a resolution from the list."
    assert field_error(html, "history_days") == "Enter a whole number within the limits shown."
    assert (await consent(portal, "alice_coach")).version == old.version  # nothing written
    response, html = await post(alice, f"/account/consents/{old.id}/narrow", [
        ("version", str(old.version)), ("points", str(ALICE_PRM)),
        ("datasets", "daily_consumption"), ("datasets", "consumption_load_curve"),
        ("resolution", "PT30M"), ("history_days", "730"), ("until", "2027-11-22")])
    assert response.status == 409  # nothing would change: said at the top, in English still
    assert "Nothing changes: take away at least one thing." in text_of(html)


# Review 2: "²" passed str.isdigit (int() then failed) and 9999-12-31 plus a day overflowed:
# both were 500s. Week dates were read as days.
async def test_odd_numbers_and_days_are_field_errors_never_a_500(portal: Portal,
                                                                 alice: Browser) -> None:
    old = await consent(portal, "alice_coach")
    response, html = await post(alice, f"/account/consents/{old.id}/narrow?lang=en", [
        ("version", "²"), ("points", str(ALICE_PRM)), ("datasets", "daily_consumption"),
        ("history_days", "²"), ("until", "2026-W01-1")])
    assert response.status == 400
    assert field_error(html, "history_days") == "Enter a whole number within the limits shown."
    assert field_error(html, "until") == "Enter a date as YYYY-MM-DD."
    row = await consent(portal, "alice_soleil")
    for until in ("9999-12-31", "0001-01-01", "2026-W01-1"):
        response, html = await post(alice, f"/account/consents/{row.id}/renew?lang=en",
                                    {"version": str(row.version), "until": until})
        assert response.status == 400, until
        assert field_error(html, "renew-until") == "Enter a date as YYYY-MM-DD."
    response, _ = await post(alice, f"/account/consents/{row.id}/withdraw",
                             {"version": "9" * 5000})
    assert response.status < 500
    assert (await consent(portal, "alice_coach")).version == old.version  # nothing written


async def test_renewal_moves_the_end_later(portal: Portal, alice: Browser) -> None:
    row = await consent(portal, "alice_soleil")
    response, _ = await post(alice, f"/account/consents/{row.id}/renew",
                             {"version": str(row.version), "until": "2028-06-30"})
    assert response.status == 303
    renewed = await consent(portal, "alice_soleil")
    assert renewed.valid_until > row.valid_until
    assert renewed.id == row.id
    assert renewed.state == ConsentState.ACTIVE
    response, html = await post(alice, f"/account/consents/{row.id}/renew?lang=en",
                                {"version": str(renewed.version), "until": "2035-01-01"})
    assert response.status == 400
    assert field_error(html, "renew-until") == ("Choose an end after today and at most three "
                                                "years away.")


async def test_a_renewal_error_is_shown_on_the_renewal_form_only(portal: Portal,
                                                                 alice: Browser) -> None:
    """Both forms of the page name their end field ``until``: one bad renewal date marked the
    narrowing's field too (``aria-invalid``), ``id="until-error"`` appeared twice, and an end
    earlier than the current one was told "after today and at most three years away"."""
    row = await consent(portal, "alice_coach")
    for until, message in (("not-a-date", "Enter a date as YYYY-MM-DD."), (
            "2027-01-31", "Choose an end later than the current end of the access, and at "
                          "most three years from today.")):
        response, html = await post(alice, f"/account/consents/{row.id}/renew?lang=en",
                                    {"version": str(row.version), "until": until})
        assert response.status == 400
        assert field_error(html, "renew-until") == message
        assert field_error(html, "until") is None
        assert len(re.findall(r'id="[^"]*until-error"', html)) == 1
        narrow_until = re.search(r'<input id="narrow-until"[^>]*>', html)
        assert narrow_until is not None
        assert "aria-invalid" not in narrow_until.group(0)
        renew_until = re.search(r'<input id="renew-until"[^>]*>', html)
        assert renew_until is not None
        assert 'aria-describedby="renew-until-error"' in renew_until.group(0)


async def test_a_stale_page_cannot_overwrite_a_newer_decision(portal: Portal,
                                                              alice: Browser) -> None:
    row = await consent(portal, "alice_soleil")
    await post(alice, f"/account/consents/{row.id}/renew",
               {"version": str(row.version), "until": "2028-06-30"})
    response, html = await post(alice, f"/account/consents/{row.id}/withdraw",
                                {"version": str(row.version)})  # the version it was shown
    assert response.status == 409
    assert "a changé entre-temps" in text_of(html)
    assert (await consent(portal, "alice_soleil")).state == ConsentState.ACTIVE


async def test_withdrawing_everything_of_one_recipient_in_one_action(
        portal: Portal, alice: Browser) -> None:
    response, _ = await post(alice, f"/account/recipients/{portal.ids['coach']}/withdraw", {})
    assert response.status == 303
    states = {c.recipient_id: c.state for c in await consents_of(portal, "alice")}
    assert states[portal.ids["coach"]] == ConsentState.WITHDRAWN
    assert states[portal.ids["soleil"]] == ConsentState.ACTIVE
    assert (await consent(portal, "bob_coach")).state == ConsentState.ACTIVE  # Bob's stays
    _, html = await alice.get("/account?lang=en")
    assert "all of Watt Coach's access is withdrawn (1)" in text_of(html)


async def test_giving_access_from_the_page(portal: Portal, alice: Browser) -> None:
    response, html = await alice.get(f"/account/consents/new?recipient={portal.ids['soleil']}")
    assert response.status == 200
    assert "Soleil" in html
    response, _ = await post(alice, "/account/consents/new", [
        ("recipient", portal.ids["soleil"]), ("purpose", "solar_assessment"),
        ("points", str(ALICE_PRM)), ("datasets", "daily_consumption"), ("resolution", "P1D"),
        ("history_days", "365"),
        ("until", (portal.clock.now() + timedelta(days=30)).date().isoformat())])
    assert response.status == 303, await response.text()
    given = [c for c in await consents_of(portal, "alice") if c.datasets == ["daily_consumption"]
             and c.recipient_id == portal.ids["soleil"]]
    assert len(given) == 1
    assert given[0].state == ConsentState.ACTIVE
    record = [e for e in await log_entries(portal) if e["kind"] == "consent.record"][-1]
    assert record["payload"]["record"]["notice"]["version"] == "portal-terms-1"


async def test_giving_access_validates_every_field_in_the_pages_language(
        portal: Portal, alice: Browser) -> None:
    response, html = await post(alice, "/account/consents/new?lang=en", [
        ("recipient", portal.ids["soleil"]), ("purpose", "research"),
        ("points", "enedis:24134785609130"), ("resolution", "P1Y"),
        ("history_days", "abc"), ("until", "31/12/2027")])
    assert response.status == 400
    assert field_error(html, "purpose") == "Choose one of the declared purposes."
    assert field_error(html, "points") == "Choose among your meters."  # Bob's PRM
    assert field_error(html, "datasets") == "Choose at least one kind of data."
    assert field_error(html, "resolution") == "Choose a resolution from the list."
    assert field_error(html, "until") == "Enter a date as YYYY-MM-DD."
    assert 'aria-invalid="true" aria-describedby="until-error"' in html
    assert len(await consents_of(portal, "alice")) == 2  # nothing was given


async def test_a_form_without_its_csrf_token_changes_nothing(portal: Portal,
                                                            alice: Browser) -> None:
    row = await consent(portal, "alice_coach")
    response, _ = await alice.post(f"/account/consents/{row.id}/withdraw",
                                   {"version": str(row.version)})
    assert response.status == 403
    response, _ = await alice.post(f"/account/consents/{row.id}/withdraw",
                                   {"version": str(row.version), "csrf_token": "x" * 43},
                                   headers={"Origin": "https://evil.example"})
    assert response.status == 403
    assert (await consent(portal, "alice_coach")).state == ConsentState.ACTIVE


async def test_a_grant_on_the_apps_consent_page_is_signed_evidence_too(
        portal: Portal, alice: Browser) -> None:
    import base64
    import hashlib
    from urllib.parse import urlencode

    challenge = base64.urlsafe_b64encode(hashlib.sha256(b"v" * 43).digest()).decode().rstrip("=")
    url = "/oauth2/authorize?" + urlencode({
        "response_type": "code", "client_id": portal.ids["soleil_client"],  # one purpose
        "redirect_uri": "http://127.0.0.1:8766/callback", "scope": "daily_consumption",
        "state": "s", "code_challenge": challenge, "code_challenge_method": "S256"})
    response = await alice.decide(url)
    assert response.status == 303
    requested, record = [e["payload"]["record"] for e in await log_entries(portal)
                         if e["kind"] == "consent.record"]
    assert requested["action"] == "request"
    assert (record["action"], record["state"]) == ("grant", "active")
    assert record["notice"]["language"] == "fr"
    assert record["authentication"]["subject"] == record["actor"]["account_id"] != "alice"
