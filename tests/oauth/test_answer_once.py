"""One answer per authorization request: a consent form submitted twice (double click, back and
resubmit, two tabs) creates one consent and one code, and the second submit is told
``access_denied`` (docs/oauth.md, "One answer per request")."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import aiohttp
from sqlalchemy import func, update
from sqlmodel import select

from consent.answers import prune_answers, request_digest
from consent.models import (
    DEFAULT_TENANT,
    Account,
    AuthorizationAnswer,
    AuthorizationCode,
    Consent,
    Recipient,
)
from consent.services.tenants import create_tenant
from proxy.oauth.answer_once import ANSWER_RETENTION, prune_old_answers
from tests.oauth.conftest import Browser, Running, query_of
from tests.oauth.helpers import authorize_url, pkce


async def _count(p: Running, model: Any) -> int:
    async with p.db.session() as session:
        return (await session.exec(select(func.count()).select_from(model))).one()


async def _form(browser: Browser, url: str) -> tuple[str, list[tuple[str, str]]]:
    action, fields = await browser.consent_form(url)
    return action.replace("&amp;", "&"), fields


async def _submit(browser: Browser, action: str, fields: list[tuple[str, str]],
                  decision: str = "approve") -> aiohttp.ClientResponse:
    response, _ = await browser.post(action, [*fields, ("decision", decision)])
    return response


def _answered_already(p: Running, response: aiohttp.ClientResponse) -> bool:
    """A redirect to the client saying access_denied because the request was answered."""
    assert response.status == 303
    location = response.headers["Location"]
    assert location.startswith("https://app.example/callback?")
    query = query_of(location)
    assert "code" not in query
    assert (query["state"], query["iss"]) == ("st4te", p.url)
    return query["error"] == "access_denied" and "answered" in query["error_description"]


async def test_a_form_submitted_twice_gives_one_consent_and_one_code(
        passerelle_any: Running) -> None:
    p = passerelle_any
    browser = Browser(p.url)
    try:
        action, fields = await _form(browser, authorize_url(p))
        first = await _submit(browser, action, fields)
        assert "code" in query_of(first.headers["Location"])
        again = await _submit(browser, action, fields)  # double click, or back and resubmit
        assert _answered_already(p, again)
        shown_again, _ = await browser.get(action)  # the page itself is not offered again
        assert _answered_already(p, shown_again)
    finally:
        await browser.close()
    assert (await _count(p, Consent), await _count(p, AuthorizationCode)) == (1, 1)
    assert await _count(p, AuthorizationAnswer) == 1


async def test_a_refusal_then_an_approval_of_the_same_form_keeps_the_refusal(
        passerelle: Running, browser: Browser) -> None:
    action, fields = await _form(browser, authorize_url(passerelle))
    refused = await _submit(browser, action, fields, "refuse")
    assert query_of(refused.headers["Location"])["error"] == "access_denied"
    assert _answered_already(passerelle, await _submit(browser, action, fields))
    async with passerelle.db.session() as session:
        states = [c.state for c in (await session.exec(select(Consent))).all()]
    assert states == ["refused"]
    assert await _count(passerelle, AuthorizationCode) == 0


async def test_two_tabs_submitting_at_once_give_one_consent_and_one_code(
        passerelle_any: Running) -> None:
    p = passerelle_any
    browser = Browser(p.url)
    try:
        url = authorize_url(p)
        tab1, tab2 = await _form(browser, url), await _form(browser, url)
        responses = await asyncio.gather(_submit(browser, *tab1), _submit(browser, *tab2),
                                         _submit(browser, *tab1))
    finally:
        await browser.close()
    codes = [r for r in responses if "code" in query_of(r.headers["Location"])]
    assert len(codes) == 1
    assert all(_answered_already(p, r) for r in responses if r not in codes)
    assert (await _count(p, Consent), await _count(p, AuthorizationCode)) == (1, 1)


async def test_an_answer_the_domain_refused_does_not_use_the_request_up(
        passerelle: Running, browser: Browser) -> None:
    """A consent the domain refuses rolls its answer back with it: once the cause is gone, the
    same form is accepted."""
    action, fields = await _form(browser, authorize_url(passerelle))

    async def recipient_state(state: str) -> None:
        async with passerelle.db.session() as session:
            await session.exec(update(Recipient).where(  # type: ignore[call-overload]
                Recipient.client_id == passerelle.world.client_id).values(state=state))

    await recipient_state("suspended")
    refused = await _submit(browser, action, fields)
    assert refused.status == 400
    assert await _count(passerelle, AuthorizationAnswer) == 0
    await recipient_state("active")
    accepted = await _submit(browser, action, fields)
    assert "code" in query_of(accepted.headers["Location"])
    assert await _count(passerelle, Consent) == 1


async def test_different_requests_of_one_client_are_answered_each(
        passerelle: Running, browser: Browser) -> None:
    for _ in range(2):
        _verifier, challenge = pkce()
        response = await browser.decide(authorize_url(passerelle, code_challenge=challenge))
        assert "code" in query_of(response.headers["Location"])
    assert await _count(passerelle, AuthorizationCode) == 2


# -- how long a request stays answered (proxy/oauth/answer_once.py, ANSWER_RETENTION) --------


async def _open(browser: Browser, url: str) -> aiohttp.ClientResponse:
    """``url`` in ``browser``, signing in first if asked."""
    response, _ = await browser.get(url)
    if response.status == 303 and response.headers["Location"].startswith("/login"):
        next_path = query_of(response.headers["Location"])["next"]
        login = await browser.login(next_path=next_path)
        response, _ = await browser.get(login.headers["Location"])
    return response


async def test_a_request_stays_answered_for_its_window_then_its_answer_is_pruned(
        passerelle_any: Running) -> None:
    p = passerelle_any
    url = authorize_url(p)
    browser = Browser(p.url)
    try:
        first = await browser.decide(url)
        assert "code" in query_of(first.headers["Location"])
    finally:
        await browser.close()
    p.clock.advance(ANSWER_RETENTION)  # the last instant the row is kept
    assert await prune_old_answers(p.db, p.clock.now()) == 0
    later = Browser(p.url)  # the first session is over by now: a new one
    try:
        assert _answered_already(p, await _open(later, url))
        p.clock.advance(timedelta(microseconds=1))
        assert await prune_old_answers(p.db, p.clock.now()) == 1
        assert await _count(p, AuthorizationAnswer) == 0
        shown = await _open(later, url)  # a new decision now (docs/oauth.md)
        assert shown.status == 200
    finally:
        await later.close()
    assert (await _count(p, Consent), await _count(p, AuthorizationCode)) == (1, 1)


async def test_pruning_goes_by_age_alone_in_batches_across_tenants(
        passerelle_any: Running) -> None:
    p = passerelle_any
    now = p.clock.now()
    ages = [timedelta(hours=30), timedelta(hours=25), ANSWER_RETENTION + timedelta(microseconds=1),
            ANSWER_RETENTION, timedelta(hours=1)]
    async with p.db.session() as session:
        await create_tenant(session, "wallonie", "Wallonie", now)
        account = (await session.exec(select(Account))).one()
        recipient = (await session.exec(select(Recipient))).first()
        assert recipient is not None
        for tenant in (DEFAULT_TENANT, "wallonie"):
            for age in ages:
                session.add(AuthorizationAnswer(
                    tenant_id=tenant, request_hash=request_digest([(tenant, str(age))]),
                    recipient_id=recipient.id, account_id=account.id, approved=True,
                    created_at=now - age))
    assert await prune_answers(p.db, before=now - ANSWER_RETENTION, batch=2) == 6
    async with p.db.session() as session:
        kept = sorted((a.tenant_id, now - a.created_at)
                      for a in (await session.exec(select(AuthorizationAnswer))).all())
    assert kept == sorted((tenant, age) for tenant in (DEFAULT_TENANT, "wallonie")
                          for age in (ANSWER_RETENTION, timedelta(hours=1)))


async def test_every_instance_runs_the_answer_sweep(passerelle: Running) -> None:
    assert "answer-janitor" in {task.get_name() for task in asyncio.all_tasks()}
