"""The data routes of the fake ADICT v2: consumption (informative, published), contract and
technical data of a PCE, as NDJSON with a trailing status line.

Parameters are checked as ADICT documents (400: formats, ``date_debut`` before ``date_fin``,
``date_debut`` not older than three years, ``date_fin`` not after today). A read the operator may
not make is answered **HTTP 200** with one line whose ``statut_restitution`` says why (the holder
moved, revoked, the right expired or is obsolete, proofs failed, the perimeter excludes the data,
nothing was measured). Informative values are per gas day (06:00 to 06:00 local); published ones
per meter-reading period, monthly here. Energies are kWh, volumes m³.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters.errors import UpstreamError
from adapters.fakes.grdf.state import GRDF_KEY, AccessRight, GrdfState
from adapters.fakes.grdf.wire import AdictError, ndjson, refused_line
from adapters.grdf.vocabulary import GAS_DAY_START, PCE
from adapters.simulator.weather import mix
from consent.identifiers import PointRef, Source
from consent.periods import Period, add_months
from consent.readings import Reading
from consent.vocabulary import Dataset, Resolution

PARIS = ZoneInfo("Europe/Paris")

MOVED = "Le client semble avoir déménagé et n'est plus titulaire de ce PCE, vous ne pouvez donc " \
    "plus accéder à ses données."
EXPIRED = "Votre droit d’accès sur ce PCE a expiré. Pour continuer à accéder aux données, vous " \
    "devez faire une nouvelle demande d'accès et, le cas échéant, renouveler le consentement du " \
    "titulaire."
REVOKED = "Le client titulaire a révoqué son consentement, vous ne pouvez plus accéder aux " \
    "données de ce PCE."
YOU_REVOKED = "Vous avez révoqué votre droit d’accès aux données de ce PCE."
BAD_PROOF = "La preuve de consentement fournie lors du contrôle opéré par GRDF n’est pas valide."
OBSOLETE = "GRDF a passé le droit d'accès à l'état obsolète."
NOT_ALLOWED = "Vous n'êtes pas ou plus autorisé à consulter les données de ce PCE."
NO_DATA = "Il n'y a pas de données correspondant à ce PCE sur la période demandée."


def _gas_instant(day: date) -> str:
    return datetime.combine(day, time(GAS_DAY_START), tzinfo=PARIS).isoformat()


def _kwh(wh: Decimal) -> Decimal:
    return wh / 1000


def _coefficient(pce: str, day: date) -> Decimal:
    """The day's conversion coefficient (kWh per m³), around 11.2."""
    return Decimal(1100 + mix(int(pce[-6:]), day.toordinal()) % 40) / 100


def _right(state: GrdfState, pce: str, flag: str, what: str) -> AccessRight | dict[str, Any]:
    """The usable droit d'accès, or the refused line explaining why not."""
    rights = state.rights_of(pce)
    if not rights:
        return refused_line(pce, "2000000001", NOT_ALLOWED)
    active = [r for r in rights if state.state(r)[0] == "Active"]
    if not active:
        latest = max(rights, key=lambda r: r.created)
        etat, _, source = state.state(latest)
        today = state.today()
        if etat == "Révoquée":
            message = YOU_REVOKED if source == "TIERS" else REVOKED
        elif etat == "Obsolète":
            end = latest.day("date_fin_droit_acces")
            present = any(o.customer == latest.giver and o.present_on(today)
                          for o in state.profile(pce).occupants)
            message = MOVED if not present else EXPIRED if end and end < today else OBSOLETE
        elif etat.endswith("revérifier"):
            message = BAD_PROOF
        else:
            message = NOT_ALLOWED
        return refused_line(pce, "2000000002", message)
    right = active[0]
    if not right.flag(flag):
        return refused_line(pce, "2000000003", "Le périmètre des données auxquelles vous avez "
                            f"accès pour ce PCE ne couvre pas les données {what}.")
    return right


def _window(state: GrdfState, request: web.Request) -> tuple[str, date, date]:
    pce = request.match_info["pce"]
    if not PCE.fullmatch(pce):
        raise AdictError(400, "1000000400", "L'identifiant du PCE n'est pas correctement "
                         "formaté (GI+6 chiffres ou 14 chiffres).", data=True)
    days = []
    for name in ("date_debut", "date_fin"):
        text = request.query.get(name)
        try:
            if text is None or len(text) != 10:
                raise ValueError(text)
            days.append(date.fromisoformat(text))
        except ValueError:
            raise AdictError(400, "1000000400", f"Le paramètre '{name}' est obligatoire et doit "
                             "être renseigné au format YYYY-MM-DD.", data=True) from None
    first, last = days
    today = state.today()
    if not first < last:
        raise AdictError(400, "1000000400", "La date de début renseignée doit être antérieure à "
                         "la date de fin.", data=True)
    if first < add_months(today, -36):
        raise AdictError(400, "1000000400", "Le paramètre 'date_debut' ne doit pas être "
                         "antérieur à la date du jour - 3 ans.", data=True)
    if last > today:
        raise AdictError(400, "1000000400", "Le paramètre 'date_fin' doit être inférieur ou égal "
                         "à la date du jour.", data=True)
    return pce, first, last


def _served(state: GrdfState, pce: str, right: AccessRight, first: date,
            end: date) -> list[Reading]:
    """The simulator's gas days whose day lies in ``[first, end)``, clipped to what is served
    (the holder's time, the declared perimeter, published days)."""
    point = PointRef(Source.GRDF, pce)
    available = state.simulator.describe(point).availability(Dataset.DAILY_CONSUMPTION).period
    perimeter_from = right.day("perim_donnees_conso_debut") or first
    perimeter_to = right.day("perim_donnees_conso_fin") or end
    if available is None or available.end is None:
        return []
    start = max(datetime.combine(max(first, perimeter_from), time(), tzinfo=PARIS),
                available.start)
    stop = min(datetime.combine(min(end, perimeter_to + timedelta(days=1)), time(),
                                tzinfo=PARIS), available.end)
    if not start < stop:
        return []
    try:
        return list(state.simulator.series(point, Dataset.DAILY_CONSUMPTION, Period(start, stop),
                                           Resolution.P1D).readings)
    except UpstreamError:
        return []


def _line(pce: str, first: date, end: date, start: datetime, stop: datetime, wh: Decimal,
          informative: bool) -> dict[str, Any]:
    day = start.astimezone(PARIS).date()
    coefficient = _coefficient(pce, day)
    energy = _kwh(wh)
    volume = (energy / coefficient).quantize(Decimal("0.01"))
    return {
        "pce": {"id_pce": pce},
        "periode": {"valeur": None, "date_debut": first.isoformat(), "date_fin": end.isoformat()},
        "releve_debut": {"date_releve": None if informative else start.isoformat(),
                         "index_brut_debut": {"valeur_index": None, "horodate_Index": None},
                         "index_converti_debut": {"valeur_index": None, "horodate_Index": None}},
        "releve_fin": {"date_releve": stop.isoformat(),
                       "raison_releve": None if informative else "RNO",
                       "index_brut_fin": {"valeur_index": None, "horodate_Index": None},
                       "index_converti_fin": {"valeur_index": None, "horodate_Index": None}},
        "consommation": {
            "date_debut_consommation": start.isoformat(), "date_fin_consommation": stop.isoformat(),
            "flag_retour_zero": None if informative else False, "volume_brut": volume,
            "coeff_calcul": {"coeff_pta": None, "valeur_pcs": None,
                             "coeff_conversion": coefficient},
            "volume_converti": None, "energie": energy, "type_qualif_conso": "Mesuré",
            "sens_flux_gaz": "Consommation",
            "statut_conso": "Provisoire" if informative else "Définitive",
            "journee_gaziere": day.isoformat() if informative else None,
            "type_conso": "Informative Journalier" if informative else "Publiée"},
        "statut_restitution": None}


async def informative(request: web.Request) -> web.Response:
    state = request.app[GRDF_KEY]
    pce, first, last = _window(state, request)
    right = _right(state, pce, "perim_donnees_informatives", "de consommations informatives")
    if isinstance(right, dict):
        return ndjson([right])
    end = last + timedelta(days=1) if state.config.inclusive_end else last
    readings = _served(state, pce, right, first, end)
    if not readings:
        return ndjson([refused_line(pce, "2000000004", NO_DATA)])
    return ndjson([_line(pce, first, last, r.start, r.end, r.value, True) for r in readings])


def _reading_day(pce: str) -> int:
    """The PCE's monthly reading day (GRDF reads 1M meters on a fixed schedule)."""
    return 1 + int(pce[-4:]) % 27


async def published(request: web.Request) -> web.Response:
    """One line per monthly meter-reading period that started in ``[date_debut, date_fin[``
    and is complete (read and published)."""
    state = request.app[GRDF_KEY]
    pce, first, last = _window(state, request)
    right = _right(state, pce, "perim_donnees_publiees", "de consommations publiées")
    if isinstance(right, dict):
        return ndjson([right])
    reading_day = _reading_day(pce)
    month = add_months(date(first.year, first.month, reading_day), -1)
    out = []
    while month < last:
        following = add_months(month, 1)
        if first <= month:
            readings = _served(state, pce, right, month, following)
            if len(readings) == (following - month).days:  # complete and published
                out.append(_line(pce, first, last, readings[0].start, readings[-1].end,
                                 sum((r.value for r in readings), Decimal(0)), False))
        month = following
    if not out:
        return ndjson([refused_line(pce, "2000000004", NO_DATA)])
    return ndjson(out)


async def contract(request: web.Request) -> web.Response:
    state = request.app[GRDF_KEY]
    pce = request.match_info["pce"]
    right = _right(state, pce, "perim_donnees_contractuelles", "contractuelles")
    if isinstance(right, dict):
        return ndjson([right])
    occupant = state.profile(pce).occupant_on(state.today())
    assert occupant is not None
    return ndjson([{"pce": {"id_pce": pce}, "donnees_contractuelles": {
        "car": 4000 + int(pce[-6:]) % 9000, "cja": 0, "profil": {"profil_type_actuel": "P012"},
        "tarif_acheminement": state.profile(pce).contract.tariff,
        "date_mes": occupant.move_in.isoformat()}, "statut_restitution": None}])


async def technical(request: web.Request) -> web.Response:
    state = request.app[GRDF_KEY]
    pce = request.match_info["pce"]
    right = _right(state, pce, "perim_donnees_techniques", "techniques")
    if isinstance(right, dict):
        return ndjson([right])
    address = state.profile(pce).address
    number, _, street = address.street.partition(" ")
    return ndjson([{"pce": {"id_pce": pce}, "donnees_techniques": {
        "situation_compteur": {"numero_rue": number, "nom_rue": street,
                               "complement_adresse": None, "code_postal": address.postal_code,
                               "commune": address.city},
        "caracteristiques_compteur": {"frequence": "1M", "client_sensible_mig": "Non"},
        "pitd": {"identifiant_pitd": f"GD{int(pce[-4:]):04d}", "libelle_pitd": address.city}},
        "statut_restitution": None}])


def add_routes(app: web.Application, prefix: str) -> None:
    app.router.add_get(prefix + "/pce/{pce}/donnees_consos_informatives", informative)
    app.router.add_get(prefix + "/pce/{pce}/donnees_consos_publiees", published)
    app.router.add_get(prefix + "/pce/{pce}/donnees_contractuelles", contract)
    app.router.add_get(prefix + "/pce/{pce}/donnees_techniques", technical)

