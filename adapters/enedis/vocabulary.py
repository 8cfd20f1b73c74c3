"""Enedis wire vocabulary: the codes and labels Data Connect speaks, in one place.

Facts only (sources in ``docs/adapters.md``): states of a subscribed service, measure types,
tariff labels of the 2026 contract API, the API names quotas are counted by. Both the adapter and
the fake server read them, so neither invents its own spelling.
"""

from __future__ import annotations

from consent.upstream import UpstreamState
from consent.vocabulary import Dataset

#: ``etatCode`` of a subscribed service (Services-souscrits.yaml) -> normalised state.
SERVICE_STATES: dict[str, UpstreamState] = {
    "DEMANDE": UpstreamState.REQUESTED,
    "ACTIF": UpstreamState.ACTIVE,
    "TERMINE": UpstreamState.ENDED,
    "SUPPRIME": UpstreamState.REVOKED,
}

SERVICE_LABELS = {"DEMANDE": "Demandé", "ACTIF": "Actif", "TERMINE": "Terminé",
                  "SUPPRIME": "Supprimé"}

#: The 2026 ``subscribed_services`` filter defaults to ACTIF and DEMANDE only: ask for all four.
ALL_SERVICE_STATES = ("DEMANDE", "ACTIF", "TERMINE", "SUPPRIME")

#: ``mesuresTypeCode`` values.
MEASURE_TYPES = ("CDC", "IDX", "PMAX", "ENERGIE", "ITC")

#: 2026 ``distribution_tariff`` labels (``situation_contrat_auto``) -> TURPE codes (v5 and
#: the vocabulary). Only the last label was seen in a real capture; the others follow its pattern.
TARIFF_LABELS: dict[str, str] = {
    "BTINFCUST": "Tarif BT<=36kVA Courte Utilisation sans différenciation temporelle",
    "BTINFCUDT": "Tarif BT<=36kVA Courte Utilisation heures pleines heures creuses",
    "BTINFCU4": "Tarif BT<=36kVA Courte Utilisation heures pleines heures creuses associées à "
                "deux saisons",
    "BTINFMUDT": "Tarif BT<=36kVA Moyenne Utilisation heures pleines heures creuses",
    "BTINFLU": "Tarif BT<=36kVA Longue Utilisation",
    "BTINFMU4": "Tarif BT<=36kVA Moyenne Utilisation heures pleines heures creuses associées à "
                "deux saisons",
}
TARIFF_CODES = {label: code for code, label in TARIFF_LABELS.items()}

#: Soutirage (consumption) and injection (production) contract types of the 2026 contract API.
CONSUMPTION_CONTRACT = "Contrat GRD-F"
PRODUCTION_CONTRACT = "Contrat GRD-A"

#: Upstream API names, as quotas count them: one API is one DataHub subscription and one base
#: path ("Chaque API doit être souscrite", 403 ``900908`` otherwise), and the 2026 quota is
#: "5 appels par secondes et/ou 1000 appels par heure" for *that* API
#: (swagger_mesure_synchrone_auto_v2.yaml; dso-apis-and-peers.md §1.7, §1.9).
API_TOKEN = "oauth2/v3"  # noqa: S105 - an API name, not a secret
API_MEASURES = "mesure_synchrone_auto/v2"
API_SERVICES = "subscribed_services/v1"
API_SITUATION = "situation_contrat_auto/v1"
API_SYNTHESIS = "synth_contrat_auto/v1"
API_METERING = "comptage_auto/v1"
API_GENERAL = "donnees_generales_auto/v1"

_MEASURED = (Dataset.DAILY_CONSUMPTION, Dataset.CONSUMPTION_LOAD_CURVE, Dataset.DAILY_MAX_POWER,
             Dataset.CONSUMPTION_INDEX, Dataset.DAILY_PRODUCTION, Dataset.PRODUCTION_LOAD_CURVE,
             Dataset.PRODUCTION_INDEX)

#: Data Connect 2026: the APIs each dataset's read calls, so the quota bucket(s) it spends. All
#: seven measure datasets are paths of the one ``mesure_synchrone_auto/v2`` API and share its
#: 1,000 calls an hour; each contract API counts apart. Describing a point also calls
#: ``subscribed_services/v1`` and ``synth_contrat_auto/v1``.
QUOTA_APIS_2026: dict[Dataset, tuple[str, ...]] = {
    **{dataset: (API_MEASURES,) for dataset in _MEASURED},
    Dataset.CONTRACT: (API_SITUATION, API_SYNTHESIS, API_METERING),
    Dataset.IDENTITY: (API_SITUATION,),
    Dataset.CONTACT: (API_SITUATION,),
    Dataset.ADDRESS: (API_GENERAL,),
}

#: Data Connect v5: one API per path family (``metering_data_dc/v5``...), but its quotas (Q3
#: 5/s, Q4 10,000/h) count the whole application (dso-apis-and-peers.md §1.6, §1.7), so the
#: API only names the call.
QUOTA_APIS_V5: dict[Dataset, tuple[str, ...]] = {
    Dataset.DAILY_CONSUMPTION: ("metering_data_dc/v5",),
    Dataset.CONSUMPTION_LOAD_CURVE: ("metering_data_clc/v5",),
    Dataset.DAILY_MAX_POWER: ("metering_data_dcmp/v5",),
    Dataset.DAILY_PRODUCTION: ("metering_data_dp/v5",),
    Dataset.PRODUCTION_LOAD_CURVE: ("metering_data_plc/v5",),
    Dataset.CONTRACT: ("customers_upc/v5",),
    Dataset.ADDRESS: ("customers_upa/v5",),
    Dataset.IDENTITY: ("customers_i/v5",),
    Dataset.CONTACT: ("customers_cd/v5",),
}
