"""How the fake ADICT writes its answers: NDJSON with a trailing status line, JSON statuses,
access-right records, and the per-line ``statut_restitution`` of refused data reads."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from aiohttp import web

from adapters.fakes.grdf.state import AccessRight, GrdfState
from adapters.grdf.vocabulary import SUCCESS, SUCCESS_MESSAGE

NDJSON = "application/x-ndjson"


def status(code: str = SUCCESS, message: str = SUCCESS_MESSAGE) -> dict[str, str]:
    return {"code_statut_traitement": code, "message_retour_traitement": message}


def ndjson(lines: list[dict[str, Any]], code: str = SUCCESS, message: str = SUCCESS_MESSAGE,
           http: int = 200) -> web.Response:
    """Every line, then the status line."""
    text = "\n".join(json.dumps(line, ensure_ascii=False, default=_number) for line in
                     [*lines, status(code, message)]) + "\n"
    return web.Response(text=text, status=http, content_type=NDJSON)


def _number(value: object) -> float:
    """Decimals (kWh with Wh precision, m³) as JSON numbers; their shortest float text is
    exact at these magnitudes."""
    if isinstance(value, Decimal):
        return float(value)
    raise TypeError(type(value).__name__)


class AdictError(Exception):
    """A refusal: HTTP status and a status body (JSON for access rights, NDJSON for data)."""

    def __init__(self, http: int, code: str, message: str, *, data: bool = False) -> None:
        super().__init__(http, code, message)
        self.http, self.code, self.message, self.data = http, code, message, data

    def response(self, pce: str | None = None) -> web.Response:
        if self.data:
            line = {"pce": {"id_pce": pce}, "periode": None, "releve_debut": None,
                    "releve_fin": None, "consommation": None,
                    "statut_restitution": {"code": self.code, "message": self.message}}
            return ndjson([line], self.code, self.message, self.http)
        return web.json_response(status(self.code, self.message), status=self.http)


def refused_line(pce: str, code: str, message: str) -> dict[str, Any]:
    """A data line whose only content is why it was refused (sent with HTTP 200)."""
    return {"pce": {"id_pce": pce}, "periode": None, "releve_debut": None, "releve_fin": None,
            "consommation": None, "statut_restitution": {"code": code, "message": message}}


def record(state: GrdfState, right: AccessRight) -> dict[str, Any]:
    """The ``ListeAccesOut`` record of a droit d'accès."""
    etat, changed, source = state.state(right)
    body = right.body
    proof = state.proof_status(right)
    deadline = state.proof_deadline(right)
    when = changed.isoformat(timespec="seconds") if changed else None
    return {
        "id_droit_acces": right.id, "id_pce": right.pce, "role_tiers": body["role_tiers"],
        "raison_sociale_du_tiers": "PASSERELLE", "nom_titulaire": body.get("nom_titulaire"),
        "raison_sociale_du_titulaire": body.get("raison_sociale"),
        "courriel_titulaire": body.get("courriel_titulaire"),
        "numero_telephone_mobile_titulaire": body.get("numero_telephone_mobile_titulaire"),
        "code_postal": body.get("code_postal"),
        "date_debut_droit_acces": body.get("date_debut_droit_acces"),
        "date_fin_droit_acces": body.get("date_fin_droit_acces"),
        "perim_donnees_conso_debut": body.get("perim_donnees_conso_debut"),
        "perim_donnees_conso_fin": body.get("perim_donnees_conso_fin"),
        "perim_donnees_inj_debut": body.get("perim_donnees_inj_debut"),
        "perim_donnees_inj_fin": body.get("perim_donnees_inj_fin"),
        "perim_donnees_contractuelles": body.get("perim_donnees_contractuelles"),
        "perim_donnees_techniques": body.get("perim_donnees_techniques"),
        "perim_donnees_informatives": body.get("perim_donnees_informatives"),
        "perim_donnees_publiees": body.get("perim_donnees_publiees"),
        "date_creation": right.created.isoformat(timespec="seconds"),
        "etat_droit_acces": etat,
        "date_revocation": when if etat == "Révoquée" else None,
        "source_revocation": source if etat == "Révoquée" else None,
        "date_passage_a_obsolete": when if etat == "Obsolète" else None,
        "source_passage_a_obsolete": source if etat == "Obsolète" else None,
        "date_passage_a_refuse": when if etat == "Refusée" else None,
        "source_passage_a_refuse": source if etat == "Refusée" else None,
        "parcours": "TIERS_DIRECT",
        "statut_controle_preuve": proof.value if proof else None,
        "date_limite_transmission_preuve": deadline.isoformat() if deadline else None,
    }
