"""Enedis wire vocabulary: the codes and labels Data Connect speaks, in one place.

Facts only (sources in ``docs/adapters.md``): states of a subscribed service, measure types,
tariff labels of the 2026 contract API, the API names quotas are counted by. Both the adapter and
the fake server read them, so neither invents its own spelling.
"""

from __future__ import annotations

from consent.upstream import UpstreamState

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

#: Upstream API names, as quotas count them ("1000 appels par heure" per API in 2026).
API_TOKEN = "oauth2/v3"  # noqa: S105 - an API name, not a secret
API_MEASURES = "mesure_synchrone_auto/v2"
API_SERVICES = "subscribed_services/v1"
API_SITUATION = "situation_contrat_auto/v1"
API_SYNTHESIS = "synth_contrat_auto/v1"
API_METERING = "comptage_auto/v1"
API_GENERAL = "donnees_generales_auto/v1"
