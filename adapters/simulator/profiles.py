"""Who and what sits behind a simulated metering point: :class:`PointProfile`.

A profile fixes everything the simulator serves about a point: energy, occupants (R8, R9),
address, contract, consumption scale, PV, port state. :func:`derive_profile` builds a
deterministic default for any valid identifier (seeded from the point), and callers give
explicit profiles for demos (``dataclasses.replace`` or keyword overrides).
"""

from __future__ import annotations

import hashlib
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, timedelta
from typing import Any

from adapters.base import PortState
from adapters.simulator.weather import CLIMATES, mix, unit
from consent.errors import DomainError
from consent.identifiers import PointRef, Source
from consent.upstream import UpstreamState
from consent.vocabulary import Energy, Resolution

#: The steps a simulated electricity curve can come at (Enedis: 10 to 60 minutes).
CURVE_STEPS = (Resolution.PT10M, Resolution.PT15M, Resolution.PT30M, Resolution.PT1H)


def point_seed(point: PointRef) -> int:
    """The 64-bit seed of every number the simulator derives for ``point``."""
    return int.from_bytes(hashlib.sha256(str(point).encode()).digest()[:8], "big")


@dataclass(frozen=True, slots=True)
class Occupant:
    """One occupant (the DSO's customer) of the point over ``[move_in, move_out)``, local days.

    ``customer`` is the DSO's opaque customer reference; the names and contact feed the
    identity and contact records, served only while the occupant is current.
    """

    customer: str
    move_in: date
    move_out: date | None = None
    title: str | None = None
    firstname: str | None = None
    lastname: str | None = None
    email: str | None = None
    phone: str | None = None
    legal_entity_name: str | None = None
    siret_number: str | None = None

    def present_on(self, day: date) -> bool:
        """True if the occupant occupies the point on ``day``."""
        return self.move_in <= day and (self.move_out is None or day < self.move_out)


@dataclass(frozen=True, slots=True)
class Address:
    """Address of the point (the postal code is what ADICT checks against the holder)."""

    street: str
    postal_code: str
    city: str
    insee_code: str | None = None
    country: str = "France"


@dataclass(frozen=True, slots=True)
class ContractTerms:
    """Grid contract of the point, as the DSO's contract record shows it."""

    supplier: str
    segment: str = "C5"
    subscribed_power_kva: int | None = 6
    tariff: str = "BTINFCUST"
    offpeak_hours: str | None = None
    meter_type: str = "AMM"
    contract_status: str = "SERVC"


@dataclass(frozen=True, slots=True)
class PointProfile:
    """Everything the simulator knows about one point. Frozen; build variants with ``replace``.

    ``scale`` multiplies the household's consumption; ``authorisation`` overrides the state of
    the operator's upstream authorisation (``None``: active while someone occupies the point,
    ended once the last occupant moved out).
    """

    point: PointRef
    energy: Energy
    occupants: tuple[Occupant, ...]
    address: Address
    contract: ContractTerms
    commissioned: date
    has_production: bool = False
    scale: float = 1.0
    electric_heating: bool = False
    pv_kwc: float = 3.0
    port: PortState = PortState.CLOSED
    load_curve_enabled: bool = True
    authorisation: UpstreamState | None = None
    timezone: str = "Europe/Paris"
    #: The number printed on the meter (R15); ``None``: derived from the point's seed.
    meter_number: str | None = None
    #: The steps its electricity curves come at; ``None``: every Enedis step (PT10M to PT1H).
    #: A real Linky meter records one, set on the point (PT30M unless asked otherwise).
    curve_steps: tuple[Resolution, ...] | None = None

    def __post_init__(self) -> None:
        if self.point.source is Source.ENEDIS and self.energy is not Energy.ELECTRICITY:
            raise DomainError("An Enedis PRM is an electricity point.", field="energy")
        if self.point.source is Source.GRDF and self.energy is not Energy.GAS:
            raise DomainError("A GRDF PCE is a gas point.", field="energy")
        if self.has_production and self.energy is not Energy.ELECTRICITY:
            raise DomainError("Only electricity points produce in the simulator.",
                              field="has_production")
        if not self.scale > 0 or not self.pv_kwc > 0:
            raise DomainError("scale and pv_kwc must be positive.", field="scale")
        if self.timezone not in CLIMATES:
            raise DomainError(f"No climate for timezone {self.timezone!r}.", field="timezone")
        for before, after in zip(self.occupants, self.occupants[1:], strict=False):
            if before.move_out is None or before.move_out > after.move_in:
                raise DomainError("Occupants must be in order and must not overlap.",
                                  field="occupants")
        if self.curve_steps is not None and (
                not self.curve_steps or not set(self.curve_steps) <= set(CURVE_STEPS)):
            raise DomainError("curve_steps must be some of PT10M, PT15M, PT30M and PT1H.",
                              field="curve_steps")
        for occupant in self.occupants:
            if occupant.move_out is not None and occupant.move_out <= occupant.move_in:
                raise DomainError("An occupant must move out after moving in.",
                                  field="occupants")

    @property
    def seed(self) -> int:
        return point_seed(self.point)

    @property
    def printed_number(self) -> str:
        """The meter's number as printed on it: twelve digits (Linky, Gazpar and Belgian
        smart meters all carry a serial of about that length)."""
        return self.meter_number or f"{mix(self.seed, 90) % 10**12:012d}"

    def occupant_on(self, day: date) -> Occupant | None:
        """The occupant present on ``day``, if any."""
        for occupant in self.occupants:
            if occupant.present_on(day):
                return occupant
        return None


_FIRST = (("Camille", "Mme"), ("Lucas", "M."), ("Léa", "Mme"), ("Hugo", "M."), ("Chloé", "Mme"),
          ("Louis", "M."), ("Manon", "Mme"), ("Jules", "M."), ("Inès", "Mme"), ("Arthur", "M."),
          ("Emma", "Mme"), ("Noah", "M."), ("Sarah", "Mme"), ("Tom", "M."), ("Julie", "Mme"),
          ("Nathan", "M."), ("Elise", "Mme"), ("Maxime", "M."))
_LAST = ("Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
         "Leroy", "Moreau", "Simon", "Laurent", "Lefebvre", "Michel", "Peeters", "Janssens",
         "Maes", "Jacobs", "Lambert", "Dupont")
_STREETS = ("rue de la République", "avenue Jean Jaurès", "rue Victor Hugo", "rue des Lilas",
            "chemin des Vignes", "place de la Gare", "rue Pasteur", "allée des Tilleuls")
_FR_CITIES = (("69003", "Lyon", "69383"), ("35000", "Rennes", "35238"),
              ("44000", "Nantes", "44109"), ("31000", "Toulouse", "31555"),
              ("59000", "Lille", "59350"), ("67000", "Strasbourg", "67482"))
_BE_CITIES = (("5000", "Namur"), ("4000", "Liège"), ("6000", "Charleroi"),
              ("1348", "Louvain-la-Neuve"), ("7000", "Mons"))
_FR_SUPPLIERS = ("EDF", "Engie", "TotalEnergies", "Ekwateur", "Enercoop")
_BE_SUPPLIERS = ("Engie", "Luminus", "TotalEnergies", "Mega", "Bolt")


def _pick(seq: tuple[Any, ...], seed: int, salt: int) -> Any:
    return seq[mix(seed, salt) % len(seq)]


def _occupants(seed: int, commissioned: date, belgian: bool) -> tuple[Occupant, ...]:
    """One to three successive occupants; the last moved in between 2019 and late 2025."""
    count = 1 + mix(seed, 1) % 3
    last_in = date(2019, 3, 1) + timedelta(days=mix(seed, 2) % 2400)
    move_ins = [last_in]
    for k in range(count - 1):
        move_ins.insert(0, move_ins[0] - timedelta(days=400 + mix(seed, 3, k) % 1400))
    if count == 1:
        move_ins[0] = min(last_in, commissioned - timedelta(days=mix(seed, 4) % 3000))
    people = []
    for k, move_in in enumerate(move_ins):
        (first, title), last = _pick(_FIRST, seed, 10 + k), _pick(_LAST, seed, 20 + k)
        mailbox = unicodedata.normalize("NFKD", f"{first}.{last}".lower()).encode("ascii", "ignore")
        # A vacancy of a few days between two occupants is common (R9 must not bridge it).
        vacancy = timedelta(days=mix(seed, 5, k) % 20)
        move_out = move_ins[k + 1] - vacancy if k + 1 < count else None
        people.append(Occupant(
            customer=f"C{mix(seed, 30 + k) % 10**10:010d}", move_in=move_in, move_out=move_out,
            title=title, firstname=first, lastname=last,
            email=f"{mailbox.decode()}@example.org",
            phone=f"{'+32 4' if belgian else '+33 6'}{mix(seed, 50 + k) % 10**8:08d}"))
    return tuple(people)


def derive_profile(point: PointRef, **overrides: Any) -> PointProfile:
    """The deterministic default profile of ``point``, with ``overrides`` applied."""
    seed = point_seed(point)
    if point.source is Source.ENEDIS:
        energy = Energy.ELECTRICITY
    elif point.source is Source.GRDF:
        energy = Energy.GAS
    else:
        energy = Energy.GAS if mix(seed, 60) % 4 == 0 else Energy.ELECTRICITY
    belgian = point.source in (Source.BE_EAN, Source.INHOUSE)
    heating = energy is Energy.ELECTRICITY and unit(seed, 61) < 0.35
    commissioned = date(2016, 1, 1) + timedelta(days=mix(seed, 62) % 1100)
    street = f"{1 + mix(seed, 63) % 120} {_pick(_STREETS, seed, 64)}"
    if belgian:
        postal, city = _pick(_BE_CITIES, seed, 65)
        address = Address(street, postal, city, None, "Belgique")
    else:
        postal, city, insee = _pick(_FR_CITIES, seed, 65)
        address = Address(street, postal, city, insee)
    offpeak = unit(seed, 66) < 0.5
    if energy is Energy.GAS:
        contract = ContractTerms(_pick(_FR_SUPPLIERS if not belgian else _BE_SUPPLIERS, seed, 67),
                                 segment="T2" if not belgian else "residential",
                                 subscribed_power_kva=None, tariff="T2", meter_type="Gazpar"
                                 if not belgian else "smart gas meter")
    else:
        contract = ContractTerms(
            _pick(_FR_SUPPLIERS if not belgian else _BE_SUPPLIERS, seed, 67),
            subscribed_power_kva=((9, 12) if heating else (6, 9))[mix(seed, 68) % 2],
            tariff="BTINFCUDT" if offpeak else "BTINFCUST",
            offpeak_hours="HC (23h00-7h30)" if offpeak else None,
            meter_type="AMM" if not belgian else "smart meter")
    profile = PointProfile(
        point=point, energy=energy, occupants=_occupants(seed, commissioned, belgian),
        address=address, contract=contract, commissioned=commissioned,
        has_production=energy is Energy.ELECTRICITY and unit(seed, 69) < 0.2,
        scale=0.6 + unit(seed, 70), electric_heating=heating,
        pv_kwc=(3.0, 4.5, 6.0, 9.0)[mix(seed, 71) % 4],
        port=PortState.OPEN if unit(seed, 72) < 0.3 else PortState.CLOSED,
        timezone="Europe/Brussels" if belgian else "Europe/Paris")
    return replace(profile, **overrides) if overrides else profile


def is_reserved_unknown(point: PointRef) -> bool:
    """Identifiers the simulator treats as unknown to the DSO ("point inconnu").

    Those whose last five digits (before an EAN's check digit) are ``99999``; everything else
    valid gets a derived profile.
    """
    digits = point.identifier[:-1] if len(point.identifier) == 18 else point.identifier
    return digits.endswith("99999")
