"""Small helpers of the portal tests: CSRF tokens, posting forms like a browser, rows."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
from sqlmodel import col, select

from consent.models import Consent
from tests.oauth.conftest import CSRF_RE, Browser
from tests.portal.world import Portal


async def csrf_of(browser: Browser, path: str = "/account") -> str:
    """The CSRF token of the browser's session, read from a page."""
    _response, html = await browser.get(path)
    found = CSRF_RE.search(html)
    assert found is not None, html[:500]
    return found.group(1)


async def post(browser: Browser, path: str, fields: list[tuple[str, str]] | dict[str, str],
               *, page: str = "/account") -> tuple[aiohttp.ClientResponse, str]:
    """POST a form with this session's CSRF token (read from ``page``) and our Origin."""
    pairs = list(fields.items()) if isinstance(fields, dict) else list(fields)
    token = await csrf_of(browser, page)
    return await browser.post(path, [("csrf_token", token), *pairs],
                              headers={"Origin": browser.base})


async def consent(portal: Portal, key: str) -> Consent:
    """The consent row named ``key`` in the world's ids."""
    async with portal.db.session() as session:
        row = await session.get(Consent, portal.ids[key])
        assert row is not None
        return row


async def consents_of(portal: Portal, household: str) -> list[Consent]:
    """Every consent of a household, oldest first."""
    async with portal.db.session() as session:
        return list((await session.exec(select(Consent).where(
            Consent.grantor_id == portal.ids[household]).order_by(
            col(Consent.created_at)))).all())


def text_of(html: str) -> str:
    """The page's text, tags removed and spaces collapsed (for assertions on wording)."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).replace("&#39;", "'")


def field_error(html: str, name: str) -> str | None:
    """The error shown next to field ``name``, if any."""
    found = re.search(rf'<span class="field-error" id="{re.escape(name)}-error">([^<]*)</span>',
                      html)
    return found.group(1) if found else None


async def log_entries(portal: Portal) -> list[dict[str, Any]]:
    """Every entry of the evidence log (kind, refs, payload), oldest first."""
    import json

    import sqlalchemy as sa

    from consent.evidence.log_reader import ENTRY

    async with portal.db.engine.connect() as conn:
        rows = (await conn.execute(sa.select(ENTRY).order_by(ENTRY.c.idx))).all()
    out = []
    for row in rows:
        entry = dict(row._mapping)
        entry["payload"] = json.loads(entry["payload"]) if entry.get("payload") else None
        out.append(entry)
    return out
