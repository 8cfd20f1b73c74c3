"""The droit d'accès routes of the fake ADICT v2.

``PUT /pce/{id}/droit_acces`` validates like ADICT documents it (400 for a missing or
ill-formatted member, 404 for an unknown PCE, 409 for a postal code that is not the PCE's, dates
out of order, a right that already exists); ``PUT /droit_acces/{id}/preuves`` takes multipart
``preuves`` and refuses (409) more than 3 proofs, a file over 4 MB, a format other than PDF, JPEG
or PNG, a file whose content does not match its type, or proofs nobody asked for;
``PATCH /droit_acces/{id}`` revokes (AUTORISE roles only); ``GET``/``POST /droits_acces`` list
them as NDJSON with a trailing status line.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from aiohttp import BodyPartReader, web

from adapters.fakes.grdf.state import GRDF_KEY, GrdfState, Proof
from adapters.fakes.grdf.wire import AdictError, ndjson, record, status
from adapters.grdf.vocabulary import (
    EMAIL,
    FALSE,
    FLAGS,
    MAX_PROOF_BYTES,
    MAX_PROOFS,
    MOBILE,
    PCE,
    PROOF_TYPES,
    TRUE,
    Role,
)

_FLAG_NAMES = {"perim_donnees_contractuelles": "contractuelles",
               "perim_donnees_techniques": "techniques",
               "perim_donnees_informatives": "informatives",
               "perim_donnees_publiees": "publiées"}


def _bad(message: str) -> AdictError:
    return AdictError(400, "1000000400", message)


def _conflict(message: str) -> AdictError:
    return AdictError(409, "1000000409", message)


def _day(body: dict[str, Any], name: str, message: str) -> date:
    value = body.get(name)
    try:
        if not isinstance(value, str) or len(value) != 10:
            raise ValueError(value)
        return date.fromisoformat(value)
    except ValueError:
        raise _bad(message) from None


def _validate(state: GrdfState, pce: str, body: dict[str, Any]) -> None:
    """ADICT's checks, in its order: format (400), then the PCE (404), then coherence (409)."""
    if not PCE.fullmatch(pce):
        raise _bad("Le format du PCE est incorrect.")
    try:
        role = Role(str(body.get("role_tiers")))
    except ValueError:
        raise _bad("Votre rôle dans la demande d'accès n'est pas renseigné.") from None
    names = [n for n in ("raison_sociale", "nom_titulaire") if body.get(n)]
    if not names:
        raise _bad("Le nom ou la raison sociale du titulaire doit être renseigné.")
    if len(names) == 2:
        raise _bad("Seul le nom ou la raison sociale du titulaire doit être renseigné.")
    postal = body.get("code_postal")
    if not postal:
        raise _bad("Le code postal n'est pas renseigné.")
    if not (isinstance(postal, str) and len(postal) == 5 and postal.isdigit()):
        raise _bad("Le format du code postal est incorrect.")
    email = body.get("courriel_titulaire")
    if not email:
        raise _bad("Le courriel du titulaire n'est pas renseigné.")
    if not (isinstance(email, str) and EMAIL.fullmatch(email)):
        raise _bad("Le format du courriel du titulaire est incorrect.")
    mobile = body.get("numero_telephone_mobile_titulaire")
    if mobile and not (isinstance(mobile, str) and MOBILE.fullmatch(mobile)):
        raise _bad("Le numéro de téléphone mobile du titulaire renseigné n'est pas correctement "
                   "formaté.")
    starts = _day(body, "date_debut_droit_acces", "La date de début du droit d’accès est "
                  "obligatoire et doit être renseignée au format YYYY-MM-DD.")
    ends = _day(body, "date_fin_droit_acces", "La date de fin du droit d’accès est obligatoire "
                "et doit être renseignée au format YYYY-MM-DD.")
    kind = "conso" if role.supply else "inj"
    data_from = _day(body, f"perim_donnees_{kind}_debut", "La date de début du périmètre "
                     "relatif aux données de consommation est obligatoire et doit être "
                     "renseignée au format YYYY-MM-DD.")
    data_to = _day(body, f"perim_donnees_{kind}_fin", "La date de fin du périmètre relatif "
                   "aux données de consommation est obligatoire et doit être renseignée au "
                   "format YYYY-MM-DD.")
    for flag in FLAGS:
        if body.get(flag) not in (TRUE, FALSE):
            raise _bad(f"Le périmètre d'accès aux données {_FLAG_NAMES[flag]} doit être "
                       "renseigné à Vrai ou Faux.")
    try:
        profile = state.profile(pce)
    except LookupError:
        raise AdictError(404, "1000000404", "Le PCE est inconnu.") from None
    today = state.today()
    if profile.address.postal_code != postal:
        raise _conflict("Le code postal ne correspond pas à l'adresse du PCE.")
    if starts > today:
        raise _conflict("La date de début du droit d’accès doit être inférieure ou égale à la "
                        "date du jour.")
    if ends < today:
        raise _conflict("La date de fin du droit d’accès doit être supérieure ou égale à la date "
                        "du jour.")
    if data_from > today:
        raise _conflict("La date de début du périmètre relatif aux données de consommation doit "
                        "être inférieure ou égale à la date du jour.")
    if data_to < data_from:
        raise _conflict("La date de fin du périmètre relatif aux données de consommation doit "
                        "être supérieure ou égale à la date de début du périmètre relatif aux "
                        "données de consommation.")
    if data_to > ends:
        raise _conflict("La date de fin du périmètre relatif aux données de consommation doit "
                        "être inférieure ou égale à la date de fin du droit d’accès.")
    for other in state.rights_of(pce):
        if other.role is role and state.state(other)[0] in ("Active", "A valider", "À valider"):
            raise _conflict("Un droit d'accès existe déjà.")


async def declare(request: web.Request) -> web.Response:
    state = request.app[GRDF_KEY]
    pce = request.match_info["pce"]
    try:
        body = await request.json()
    except ValueError:
        raise _bad("Donnée(s) obligatoire(s) manquante(s)") from None
    if not isinstance(body, dict):
        raise _bad("Donnée(s) obligatoire(s) manquante(s)")
    _validate(state, pce, body)
    right = state.add(pce, {k: (str(v) if v is not None else None) for k, v in body.items()},
                      state.now())
    out = record(state, right)
    created = {k: out[k] for k in ("id_pce", "role_tiers", "id_droit_acces", "etat_droit_acces",
                                   "date_debut_droit_acces", "date_fin_droit_acces",
                                   "nom_titulaire", "courriel_titulaire", "code_postal",
                                   "perim_donnees_conso_debut", "perim_donnees_conso_fin",
                                   *FLAGS, "parcours")}
    created["date_creation_droit_acces"] = out["date_creation"]
    created["raison_sociale_du_titulaire"] = out["raison_sociale_du_titulaire"]
    return web.json_response({
        "demander_acces_out": created,
        "retour_201_demander_acces": status(message="La demande d'accès est en attente de la "
                                                    "validation du titulaire du PCE.")},
        status=201)


async def proofs(request: web.Request) -> web.Response:
    state = request.app[GRDF_KEY]
    right = state.rights.get(request.match_info["id"])
    if right is None:
        raise AdictError(404, "1000000404", "Aucun droit d’accès trouvé.")
    if not request.content_type.startswith("multipart/"):
        raise _bad("La forme de la requête est incorrecte.")
    received: list[tuple[str, str, bytes]] = []
    reader = await request.multipart()
    while (part := await reader.next()) is not None:
        if not isinstance(part, BodyPartReader) or part.name != "preuves":
            raise _bad("La forme de la requête est incorrecte.")
        content = await part.read(decode=False)
        received.append((part.filename or "", part.headers.get("Content-Type", ""),
                         bytes(content)))
    if not received:
        raise _bad("La forme de la requête est incorrecte.")
    if not right.role.authorised:
        raise _conflict("GRDF ne demande pas de preuve sur ce droit d'accès.")
    if len(right.proofs) + len(received) > MAX_PROOFS:
        raise _conflict("Le nombre maximal autorisé de 3 preuves est dépassé.")
    if any(len(content) > MAX_PROOF_BYTES for _, _, content in received):
        raise _conflict("La taille maximale autorisée de 4Mo d’une ou plusieurs preuves est "
                        "dépassée.")
    if any(kind not in PROOF_TYPES for _, kind, _ in received):
        raise _conflict("Une ou plusieurs preuves ne possèdent pas un format autorisé.")
    if any(not content.startswith(PROOF_TYPES[kind]) for _, kind, content in received):
        raise _conflict("Le traitement n'a pu aboutir car une ou plusieurs preuves sont "
                        "corrompues et présentent un risque de sécurité.")
    right.proofs += [Proof(name, len(content), state.now()) for name, _, content in received]
    return web.json_response(status())


async def revoke(request: web.Request) -> web.Response:
    state = request.app[GRDF_KEY]
    right = state.rights.get(request.match_info["id"])
    if right is None:
        raise AdictError(404, "1000000404", "Aucun droit d’accès trouvé.")
    if not right.role.authorised:
        raise _conflict("Le demande est incohérente.")
    if state.state(right)[0] in ("Révoquée", "Obsolète", "Refusée"):
        raise _conflict("Le droit d'accès à révoquer n'existe pas.")
    right.revoked = state.now()
    return web.json_response(status())


async def listing(request: web.Request) -> web.Response:
    state = request.app[GRDF_KEY]
    wanted: dict[str, Any] = {}
    if request.method == "POST":
        try:
            wanted = await request.json()
        except ValueError:
            raise AdictError(400, "1000000400", "Une erreur technique est survenue.",
                             data=True) from None
        if not isinstance(wanted, dict):
            raise AdictError(400, "1000000400", "Une erreur technique est survenue.", data=True)
    records = [record(state, r) for r in state.rights.values()]
    for name in ("id_pce", "role_tiers", "etat_droit_acces", "statut_controle_preuve"):
        if wanted.get(name):
            allowed = wanted[name] if isinstance(wanted[name], list) else [wanted[name]]
            records = [r for r in records if r[name] in allowed]
    if not records:
        return ndjson([], message="Aucun droit d’accès trouvé.")
    if state.config.wrap_access_list:
        return ndjson([{"liste_acces": records}])
    return ndjson(records)


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_put(prefix + "/pce/{pce}/droit_acces", declare)
    app.router.add_put(prefix + "/droit_acces/{id}/preuves", proofs)
    app.router.add_patch(prefix + "/droit_acces/{id}", revoke)
    app.router.add_get(prefix + "/droits_acces", listing)
    app.router.add_post(prefix + "/droits_acces", listing)
