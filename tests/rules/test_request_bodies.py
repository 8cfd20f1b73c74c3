"""JSON bodies and proof documents that arrive in several pieces are read whole
(proxy/web/body.py): a review found a valid JSON body refused and a 900 KB PDF cut short."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator

from tests.rules.app_world import POINTS, RulesWorld


def big_pdf(size: int) -> bytes:
    filler = b"%" + b"x" * 78 + b"\n"
    return b"%PDF-1.4\n" + filler * (size // len(filler)) + b"trailer << >>\n%%EOF\n"


async def test_a_large_proof_is_stored_whole(app_world: RulesWorld) -> None:
    w = app_world
    status, body = await w.staff("marc", "POST", "/staff/mandates", json_body={
        "household_id": w.parties["h0"], "scope": "both",
        "points": [str(POINTS[0])], "datasets": ["daily_consumption"]})
    assert status == 201, body
    document = big_pdf(900_000)
    status, body = await w.staff("marc", "POST", f"/staff/mandates/{body['id']}/proofs",
                                 data=document, content_type="application/pdf")
    assert status == 201, body
    assert body["size"] == len(document)


async def test_a_json_body_sent_in_two_pieces_is_read_whole(app_world: RulesWorld) -> None:
    w = app_world
    raw = json.dumps({"name": "Two pieces", "organiser_id": w.apps["pmo"]}).encode()

    async def pieces() -> AsyncIterator[bytes]:
        yield raw[:10]
        await asyncio.sleep(0.05)
        yield raw[10:]

    async with w.client.post("/staff/communities", data=pieces(), headers={
            "Authorization": f"Bearer {w.tokens['alex']}",
            "Content-Type": "application/json"}) as response:
        assert response.status == 201, await response.text()
        assert (await response.json())["name"] == "Two pieces"
