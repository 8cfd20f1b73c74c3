"""``POST /staff/households/{id}/erase`` (R23, GDPR art. 17; docs/operations.md §8): the staff
API's way to the erasure the CLI runs, on any replica.

It runs the same :meth:`consent.services.erasure.ErasureService.erase` as ``passerelle
households erase`` (signed withdrawals, ``household.erased`` event, journal row), needs its own
permission (R19), answers problem+json (RFC 9457) for an unknown household, one of another
tenant (the same 404, R24) and a role without the permission; a second call answers
``"changed": false`` and writes nothing; two calls at once erase once (both backends); a client
that goes away mid-erasure does not leave half an erasure behind.
"""

from __future__ import annotations

import asyncio
from typing import Any

import aiohttp
import pytest
from sqlmodel import col, select

from consent.lifecycle import ConsentState
from consent.models import Account, Consent, ErasureRecord, Party
from consent.services.erasure import ERASED_NAME, tombstone
from proxy.keys import rules_key
from tests.consent.test_erasure import _entries
from tests.rules.app_world import RulesWorld

PROBLEM = "application/problem+json"


def _path(w: RulesWorld, who: str) -> str:
    return f"/staff/households/{w.parties[who]}/erase"


async def _erased_events(w: RulesWorld, household: str) -> list[dict[str, Any]]:
    return [e["payload"] for e in await _entries(w.db)
            if e["kind"] == "admin" and e["payload"]["action"] == "household.erased"
            and e["payload"]["target"] == f"household:{household}"]


async def _journal(w: RulesWorld) -> list[ErasureRecord]:
    async with w.db.session() as s:
        return list((await s.exec(select(ErasureRecord))).all())


async def test_an_operator_admin_erases_a_household_and_a_second_call_changes_nothing(
        app_world: RulesWorld) -> None:
    w = app_world
    h0 = w.parties["h0"]
    status, body = await w.staff("alex", "POST", _path(w, "h0"),
                                 json_body={"reason": "register 2026-117"})
    assert status == 200, body
    assert (body["household_id"], body["changed"], body["journalled"]) == (h0, True, True)
    assert w.consents["h0-pmo"] in body["consents_ended"]
    async with w.db.session() as s:
        party = await s.get(Party, h0)
        consent = await s.get(Consent, w.consents["h0-pmo"])
        [account] = (await s.exec(select(Account).where(Account.party_id == h0))).all()
        alex = (await s.exec(select(Account.id).where(Account.username == "alex"))).one()
    assert party is not None
    assert party.name == ERASED_NAME
    assert consent is not None
    assert consent.state is ConsentState.WITHDRAWN
    assert (account.username, account.disabled) == (tombstone(account.id), True)
    [row] = await _journal(w)
    assert (row.household_id, row.actor, row.reason) == (h0, f"account:{alex}",
                                                         "register 2026-117")
    [event] = await _erased_events(w, h0)
    assert event["actor"] == f"account:{alex}"
    records = [e["payload"]["record"] for e in await _entries(w.db)
               if e["kind"] == "consent.record"]
    assert (records[-1]["action"], records[-1]["authentication"]["method"]) == (
        "withdraw", "erasure_request")  # the household's own withdrawal, relayed (§8)

    status, again = await w.staff("alex", "POST", _path(w, "h0"))
    assert (status, again["changed"], again["consents_ended"]) == (200, False, [])
    assert len(await _journal(w)) == 1
    assert len(await _erased_events(w, h0)) == 1
    status, journal = await w.staff("aude", "GET", "/staff/journal")
    done = [e for e in journal["entries"] if e["action"] == "household.erase"]
    assert [(e["outcome"], e["target"], e["details"]["changed"]) for e in done] == [
        ("done", h0, True), ("done", h0, False)]


async def test_refusals_are_problems_and_write_nothing(app_world: RulesWorld) -> None:
    w = app_world
    for who, path, expected in (
            ("sam", _path(w, "h1"), 403),  # support sees households, never erases (R19)
            ("rita", _path(w, "h1"), 403),
            ("alex", "/staff/households/no-such-household/erase", 404),
            ("alex", _path(w, "bea"), 404),  # another tenant's: not found, as nowhere (R24)
            ("otto", _path(w, "h1"), 404),
            ("alex", f"/staff/households/{w.apps['pmo']}/erase", 404)):  # not a household
        async with w.client.post(path, headers={
                "Authorization": f"Bearer {w.tokens[who]}"}) as response:
            assert response.status == expected, (who, path, await response.text())
            assert response.content_type == PROBLEM
            body = await response.json()
        if expected == 403:
            assert (body["type"].rsplit("/", 1)[-1], body["rule"]) == ("not-permitted", "R19")
        else:
            assert body["type"].endswith("/not-found")
    async with w.client.post(_path(w, "h1")) as response:
        assert (response.status, response.content_type) == (401, PROBLEM)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    status, body = await w.staff("alex", "POST", _path(w, "h1"), json_body={"reason": 7})
    assert status == 400
    assert body["field"] == "reason"
    assert await _journal(w) == []
    async with w.db.session() as s:
        party = await s.get(Party, w.parties["h1"])
    assert party is not None
    assert party.name != ERASED_NAME


async def test_two_erasures_at_once_erase_once(app_world_any: RulesWorld) -> None:
    """One erasure on both backends: the household's row is locked first, so the second
    waits, then finds nothing left (no unique-constraint 500, no version 409)."""
    w = app_world_any
    h0 = w.parties["h0"]
    answers = await asyncio.gather(*(w.staff(who, "POST", _path(w, "h0"))
                                     for who in ("alex", "olga")))
    assert [status for status, _ in answers] == [200, 200], answers
    assert sorted(body["changed"] for _, body in answers) == [False, True]
    assert len(await _journal(w)) == 1
    assert len(await _erased_events(w, h0)) == 1
    async with w.db.session() as s:
        live = (await s.exec(select(Consent.id).where(
            Consent.grantor_id == h0, col(Consent.state) == ConsentState.ACTIVE))).all()
    assert live == []


async def test_a_client_gone_mid_erasure_leaves_the_whole_erasure(
        app_world: RulesWorld, monkeypatch: pytest.MonkeyPatch) -> None:
    """The erasure is one transaction, and once begun it is finished even if the caller goes
    away (the test server cancels handlers of closed connections): the retry sees it done."""
    w = app_world
    erasure = w.client.app[rules_key].erasure
    inside, release = asyncio.Event(), asyncio.Event()
    log_admin = erasure.log_admin

    async def slow(session: Any, event: Any) -> object:
        inside.set()
        await release.wait()
        return await log_admin(session, event)

    monkeypatch.setattr(erasure, "log_admin", slow)
    call = asyncio.ensure_future(w.client.post(
        _path(w, "h0"), headers={"Authorization": f"Bearer {w.tokens['alex']}"},
        timeout=aiohttp.ClientTimeout(total=30)))
    await asyncio.wait_for(inside.wait(), 10)
    call.cancel()  # the client goes away while the erasure is inside its transaction
    with pytest.raises(asyncio.CancelledError):
        await call
    await asyncio.sleep(0.2)  # the server notices the closed connection
    release.set()
    for _ in range(100):
        if await _journal(w):
            break
        await asyncio.sleep(0.05)
    [row] = await _journal(w)
    assert row.household_id == w.parties["h0"]
    async with w.db.session() as s:
        consent = await s.get(Consent, w.consents["h0-pmo"])
    assert consent is not None
    assert consent.state is ConsentState.WITHDRAWN
    monkeypatch.setattr(erasure, "log_admin", log_admin)
    status, again = await w.staff("alex", "POST", _path(w, "h0"))
    assert (status, again["changed"]) == (200, False)
    assert len(await _erased_events(w, w.parties["h0"])) == 1
