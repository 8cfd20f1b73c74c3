"""R13: supply contracts come from the upstream; a new supplier ends the previous contract;
contracts are matched on the code a supplier is registered with (consent/supplier_codes.py)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent.clock import FrozenClock
from consent.errors import Conflict, DomainError, InvalidIdentifier, InvalidPeriod, NotPermitted
from consent.lifecycle import ActorRole
from consent.models import Recipient
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import Actor
from consent.services import registry as reg
from consent.services.supply import supplier_period
from consent.services.tenants import create_tenant
from consent.storage import Database
from consent.vocabulary import Dataset
from tests.rules.conftest import Rules
from tests.support.world import ALICE_PRM


async def _supplier(db: Database, clock: FrozenClock, name: str, code: str | None = None) -> str:
    async with db.session() as s:
        recipient, _ = await reg.register_recipient(s, reg.RecipientDraft(
            name=name, website="https://s.example", contact_email="dpo@s.example",
            purposes=[Purpose.SUPPLY_CONTRACT], legal_basis=LegalBasis.CONTRACT,
            data_role=DataRole.CONTROLLER, allowed_datasets=[Dataset.DAILY_CONSUMPTION],
            redirect_uris=["https://s.example/cb"], is_supplier=True, supplier_code=code),
            tenant_id="default", now=clock.now())
    return recipient.id


async def test_contracts_follow_the_upstream(rules: Rules, clock: FrozenClock,
                                             db: Database) -> None:
    volt = await _supplier(db, clock, "Volt", code="5414567000000")
    await _supplier(db, clock, "Watt", code="WATT")
    start = clock.now() - timedelta(days=100)
    first = await rules.supply.report(Actor.upstream(), ALICE_PRM, "5414567000000", start)
    assert first is not None
    assert first.supplier_id == volt
    again = await rules.supply.report(Actor.upstream(), ALICE_PRM, "5414567000000", clock.now())
    assert again is not None
    assert again.id == first.id  # the same running contract
    switch = clock.now() - timedelta(days=10)
    second = await rules.supply.report(Actor.upstream(), ALICE_PRM, "WATT", switch)
    assert second is not None
    assert second.supplier_id != volt
    point = rules.world.points[ALICE_PRM].id
    async with db.session() as s:
        period = await supplier_period(s, tenant_id="default", point_id=point, supplier_id=volt,
                                       at=clock.now())
        wrong_tenant = await supplier_period(s, tenant_id="other", point_id=point,
                                             supplier_id=volt, at=clock.now())
    assert period is not None
    assert (period.start, period.end) == (start, switch)
    assert wrong_tenant is None
    # An unregistered supplier takes over: Watt's contract ends, nothing new is recorded.
    assert await rules.supply.report(Actor.upstream(), ALICE_PRM, "EDF", clock.now()) is None
    with pytest.raises(InvalidPeriod):  # history is not rewritten
        await rules.supply.report(Actor.upstream(), ALICE_PRM, "5414567000000", switch)


async def test_a_supplier_cannot_declare_its_own_contract(rules: Rules,
                                                          clock: FrozenClock) -> None:
    supplier = rules.world.actor(rules.world.operator, ActorRole.RECIPIENT)
    with pytest.raises(NotPermitted, match="R13"):
        await rules.supply.report(supplier, ALICE_PRM, "Volt", clock.now())


async def test_contracts_are_matched_on_the_code_never_on_a_name(
        rules: Rules, clock: FrozenClock, db: Database) -> None:
    """Two apps named alike are two suppliers; the DSO's report names one by its code, and a
    report naming a display name matches nobody (no arbitrary first match)."""
    first = await _supplier(db, clock, "Volt", code="5499000000007")
    second = await _supplier(db, clock, "Volt", code="VOLT-BE")
    assert await rules.supply.report(Actor.upstream(), ALICE_PRM, "Volt", clock.now()) is None
    contract = await rules.supply.report(Actor.upstream(), ALICE_PRM, "VOLT-BE",
                                         clock.now() + timedelta(days=1))
    assert contract is not None
    assert contract.supplier_id == second != first
    assert contract.supplier_code == "VOLT-BE"


@pytest.mark.parametrize(("code", "supplier", "error", "says"), [
    (None, True, DomainError, "registered with its code"),
    ("VOLT-1", False, DomainError, "Only a supplier"),
    ("5499000000001", True, InvalidIdentifier, "check digit should be 7"),
    ("Watt & Co", True, InvalidIdentifier, "not a supplier code"),
    ("x" * 65, True, InvalidIdentifier, "not a supplier code"),
])
async def test_a_supplier_code_is_checked_at_registration(
        clock: FrozenClock, db: Database, rules: Rules, code: str | None, supplier: bool,
        error: type[Exception], says: str) -> None:
    with pytest.raises(error, match=says):
        async with db.session() as s:
            await reg.register_recipient(s, reg.RecipientDraft(
                name="Volt", website="https://s.example", contact_email="dpo@s.example",
                purposes=[Purpose.SUPPLY_CONTRACT], legal_basis=LegalBasis.CONTRACT,
                data_role=DataRole.CONTROLLER, allowed_datasets=[Dataset.DAILY_CONSUMPTION],
                redirect_uris=["https://s.example/cb"], is_supplier=supplier,
                supplier_code=code), tenant_id="default", now=clock.now())


async def test_a_code_names_one_supplier_per_tenant(rules: Rules, clock: FrozenClock,
                                                    db: Database) -> None:
    volt = await _supplier(db, clock, "Volt", code=" 5499000000007 ")  # spaces dropped
    with pytest.raises(Conflict, match="5499000000007"):
        await _supplier(db, clock, "Volt again", code="5499000000007")
    async with db.session() as s:
        await create_tenant(s, "other", "Autre région", clock.now())
        elsewhere, _ = await reg.register_recipient(s, reg.RecipientDraft(
            name="Volt", website="https://s.example", contact_email="dpo@s.example",
            purposes=[Purpose.SUPPLY_CONTRACT], legal_basis=LegalBasis.CONTRACT,
            data_role=DataRole.CONTROLLER, allowed_datasets=[Dataset.DAILY_CONSUMPTION],
            redirect_uris=["https://s.example/cb"], is_supplier=True,
            supplier_code="5499000000007"), tenant_id="other", now=clock.now())
    assert elsewhere.supplier_code == "5499000000007"  # another tenant's market party
    # The operator changes a code: checked as at registration.
    async with db.session() as s:
        other = await s.get(Recipient, await _supplier(db, clock, "Watt", code="WATT"))
        assert other is not None
        with pytest.raises(Conflict):
            await reg.change_supplier_code(s, other, "5499000000007", now=clock.now())
    async with db.session() as s:
        row = await s.get(Recipient, volt)
        assert row is not None
        await reg.change_supplier_code(s, row, "VOLT-NEW", now=clock.now())
    assert await rules.supply.report(Actor.upstream(), ALICE_PRM, "VOLT-NEW",
                                     clock.now()) is not None
