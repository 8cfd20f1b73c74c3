"""R13: supply contracts come from the upstream; a new supplier ends the previous contract."""

from __future__ import annotations

from datetime import timedelta

import pytest

from consent.clock import FrozenClock
from consent.errors import InvalidPeriod, NotPermitted
from consent.lifecycle import ActorRole
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services import Actor
from consent.services import registry as reg
from consent.services.supply import supplier_period
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
    volt = await _supplier(db, clock, "Volt", code="5414567000003")
    await _supplier(db, clock, "Watt")
    start = clock.now() - timedelta(days=100)
    first = await rules.supply.report(Actor.upstream(), ALICE_PRM, "5414567000003", start)
    assert first is not None
    assert first.supplier_id == volt
    again = await rules.supply.report(Actor.upstream(), ALICE_PRM, "5414567000003", clock.now())
    assert again is not None
    assert again.id == first.id  # the same running contract
    switch = clock.now() - timedelta(days=10)
    second = await rules.supply.report(Actor.upstream(), ALICE_PRM, "Watt", switch)
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
        await rules.supply.report(Actor.upstream(), ALICE_PRM, "Volt", switch)


async def test_a_supplier_cannot_declare_its_own_contract(rules: Rules,
                                                          clock: FrozenClock) -> None:
    supplier = rules.world.actor(rules.world.operator, ActorRole.RECIPIENT)
    with pytest.raises(NotPermitted, match="R13"):
        await rules.supply.report(supplier, ALICE_PRM, "Volt", clock.now())
