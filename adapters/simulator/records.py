"""Contract, identity, contact and address records of a simulated point.

Fields are exactly those of the shared vocabulary (:data:`consent.vocabulary.DATASETS`), so a
consent can release a subset of them (R6). Identity and contact belong to the current occupant.
"""

from __future__ import annotations

from adapters.simulator.profiles import Occupant, PointProfile
from consent.vocabulary import Dataset


def build_record(profile: PointProfile, occupant: Occupant,
                 dataset: Dataset) -> dict[str, str | None]:
    """The fields of ``dataset`` for ``occupant`` of ``profile``, named as the vocabulary does."""
    if dataset is Dataset.CONTRACT:
        terms = profile.contract
        values: dict[str, str | None] = {
            "segment": terms.segment,
            "subscribed_power": (f"{terms.subscribed_power_kva} kVA"
                                 if terms.subscribed_power_kva is not None else None),
            "tariff": terms.tariff,
            "offpeak_hours": terms.offpeak_hours,
            "contract_status": terms.contract_status,
            "supplier": terms.supplier,
            # The grid contract is (re)activated when the occupant moves in (Enedis semantics).
            "last_activation_date": occupant.move_in.isoformat(),
            "meter_type": terms.meter_type,
        }
    elif dataset is Dataset.IDENTITY:
        values = {"title": occupant.title, "firstname": occupant.firstname,
                  "lastname": occupant.lastname, "legal_entity_name": occupant.legal_entity_name,
                  "siret_number": occupant.siret_number}
    elif dataset is Dataset.CONTACT:
        values = {"email": occupant.email, "phone": occupant.phone}
    else:
        address = profile.address
        values = {"street": address.street, "postal_code": address.postal_code,
                  "city": address.city, "insee_code": address.insee_code,
                  "country": address.country}
    expected = dataset.spec.fields
    assert tuple(values) == expected, f"record fields drifted from the vocabulary: {expected}"
    return values
