"""R13: payment-difficulty signals never leave Passerelle, whatever the consent releases."""

from __future__ import annotations

import pytest

from consent.identifiers import PointRef
from consent.readings import Record
from consent.redaction import redact, reveals_payment_difficulty
from consent.vocabulary import Dataset


@pytest.mark.parametrize("value", [
    "DEFAUT_PAIEMENT", "Procédure de défaut de paiement", "compteur à budget", "BUDGETMETER",
    "prepayment", "Limiteur 10A", "client protégé", "Tarif social", "Fournisseur X",
    "supplier of last resort", "DROP", "impayés",
])
def test_signals_are_recognised(value: str) -> None:
    assert reveals_payment_difficulty(value)


@pytest.mark.parametrize("value", [
    "SERVC", "AMM", "smart meter", "Gazpar", "BTINFCUST", "C5", "Engie", "HC (23h00-7h30)",
    "dropdown", "Budgetaire SA", None,
])
def test_ordinary_values_pass(value: str | None) -> None:
    assert not reveals_payment_difficulty(value)


def test_redaction_blanks_the_field_and_keeps_the_shape() -> None:
    record = Record(PointRef.parse("enedis:22516914714270"), Dataset.CONTRACT,
                    {"contract_status": "DEFAUT_PAIEMENT", "meter_type": "compteur à budget",
                     "supplier": "Volt", "tariff": "BTINFCUST"})
    assert redact(record).fields == {"contract_status": None, "meter_type": None,
                                     "supplier": "Volt", "tariff": "BTINFCUST"}
