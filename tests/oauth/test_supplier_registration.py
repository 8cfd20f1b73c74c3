"""R13: a supplier is registered with its code, through the admin API and ``passerelle clients
create`` alike, and the operator can set the code of a supplier registered without one
(consent/supplier_codes.py, docs/market-rules.md "Suppliers"). Neither could set it before, and
the DSO's code was then matched against display names.
"""

from __future__ import annotations

from pathlib import Path

import aiohttp
import pytest

from proxy.cli import main
from proxy.oauth.registry import draft_from_json
from tests.oauth.conftest import Running
from tests.oauth.helpers import only_recipient
from tests.oauth.test_registry import NEW_RECIPIENT, mint_admin_token
from tests.support.journal import journal_and_events

VOLT = {
    "name": "Volt", "website": "https://volt.example", "contact_email": "dpo@volt.example",
    "purposes": ["supply_contract"], "legal_basis": "contract", "data_role": "controller",
    "allowed_datasets": ["daily_consumption"], "redirect_uris": ["https://volt.example/cb"],
    "is_supplier": True, "supplier_code": "5499000000007"}


def test_the_admin_api_keeps_the_supplier_code() -> None:
    draft = draft_from_json(VOLT)
    assert draft.supplier_code == "5499000000007"


def test_clients_create_registers_a_supplier_with_its_code(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ["clients", "create", "--data-dir", str(tmp_path), "--name", "Volt",
            "--redirect-uri", "https://volt.example/cb", "--purpose", "supply_contract",
            "--legal-basis", "contract", "--json"]
    assert main([*args, "--supplier"]) == 2
    assert "registered with its code" in capsys.readouterr().out
    assert main([*args, "--supplier-code", "5499000000001"]) == 2
    assert "check digit" in capsys.readouterr().out
    assert main([*args, "--supplier-code", "5499000000007"]) == 0
    capsys.readouterr()

    recipient = only_recipient(tmp_path)
    assert (recipient.is_supplier, recipient.supplier_code) == (True, "5499000000007")


async def test_admin_api_registers_and_changes_supplier_codes(
        passerelle: Running, capsys: pytest.CaptureFixture[str]) -> None:
    token = await mint_admin_token(passerelle, capsys)
    base = passerelle.url + "/admin/recipients"
    async with aiohttp.ClientSession(headers={"Authorization": f"Bearer {token}"}) as session:
        async with session.post(base, json=VOLT) as r:
            assert r.status == 201, await r.text()
            volt = await r.json()
        assert volt["supplier_code"] == "5499000000007"
        async with session.post(base, json={**VOLT, "name": "Volt bis"}) as r:
            assert (r.status, (await r.json())["field"]) == (409, "supplier_code")
        async with session.post(base, json={**VOLT, "supplier_code": None}) as r:
            assert (r.status, (await r.json())["field"]) == (400, "supplier_code")
        async with session.post(base, json={**NEW_RECIPIENT, "supplier_code": "X-1"}) as r:
            assert (r.status, (await r.json())["field"]) == (400, "supplier_code")
        async with session.post(base, json=NEW_RECIPIENT) as r:
            plain = await r.json()
        url = f"{base}/{volt['client_id']}/supplier-code"
        async with session.post(url, json={"supplier_code": "VOLT-BE"}) as r:
            assert r.status == 200, await r.text()
            assert (await r.json())["supplier_code"] == "VOLT-BE"
        async with session.post(url, json={"supplier_code": "Volt Energy"}) as r:
            assert (r.status, (await r.json())["field"]) == (400, "supplier_code")
        async with session.post(f"{base}/{plain['client_id']}/supplier-code",
                                json={"supplier_code": "SOLAR-1"}) as r:
            assert r.status == 400  # not a supplier
        async with session.get(f"{base}/{volt['client_id']}") as r:
            assert (await r.json())["supplier_code"] == "VOLT-BE"
    _journal, events, _dump = await journal_and_events(
        passerelle.db.engine.url.render_as_string(hide_password=False))
    assert [e["details"] for e in events if e["action"] == "recipient.supplier_code"] == [
        {"from": "5499000000007", "to": "VOLT-BE"}]
    created = [e["details"] for e in events if e["action"] == "recipient.create"]
    assert {"name": "Volt", "supplier_code": "5499000000007", "state": "active"} in created
