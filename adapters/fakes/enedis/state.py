"""What the fake Data Connect knows: its configuration, the autorisations given to the operator,
and the answer to "may the operator read this PRM now?".

An autorisation is given by the occupant of its PRMs on the consent page (or seeded with
:meth:`EnedisState.grant`). Its services are ``ACTIF`` while its period runs and its giver still
holds the point; ``TERMINE`` once the period is over or the giver moved out (the date of the move
becomes ``dateFin``); ``SUPPRIME`` once revoked. The simulator's authorisation override (what the
contract suite flips) wins over all of that, so one switch drives every front-end.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from aiohttp import web

from adapters.base import Quota
from adapters.enedis.vocabulary import SERVICE_LABELS
from adapters.errors import UnknownPoint
from adapters.fakes.common import QuotaGate, TokenDesk
from adapters.simulator.profiles import PointProfile
from adapters.simulator.simulator import Simulator
from adapters.simulator.timegrid import day_of
from consent.identifiers import PointRef, Source
from consent.upstream import UpstreamState
from consent.vocabulary import Resolution

#: The sandbox's fake customers: the last digit of ``state`` picks one (section 1.8).
SANDBOX_CUSTOMERS: dict[int, tuple[str, ...]] = {
    0: ("22516914714270",), 1: ("11453290002823",), 2: ("32320647321714",),
    3: ("12345678901234", "10284856584123"), 4: ("42900589957123",), 5: ("24880057139941",),
    6: ("12655648759651",), 7: ("64975835695673", "63695879465986", "22315546958763"),
    8: ("26584978546985",), 9: (),
}
REFUSING_CUSTOMER = 9  # always refuses the consent
REVOKING_CUSTOMER = 8  # consents, then revokes at once


@dataclass
class EnedisFakeConfig:
    """Knobs of the fake. Defaults are Data Connect 2026's documented values."""

    clients: dict[str, str]
    redirect_uri: str = "https://passerelle.example/enedis/callback"
    quotas: tuple[Quota, ...] = (Quota(5, timedelta(seconds=1)),
                                 Quota(1000, timedelta(hours=1), "api"))
    token_lifetime: timedelta = timedelta(seconds=12600)
    curve_steps: dict[str, Resolution] = field(default_factory=dict)
    default_step: Resolution = Resolution.PT30M
    customers: dict[int, tuple[str, ...]] = field(default_factory=lambda: dict(SANDBOX_CUSTOMERS))
    #: PRM -> weekdays (Monday 0) whose values come as the string "null" (gaps, customer #4).
    null_days: dict[str, frozenset[int]] = field(default_factory=dict)
    #: APIs the operator's DataHub application subscribed to (others answer 403 900908).
    unsubscribed: frozenset[str] = frozenset()
    page_size: int = 10
    first_page: int = 1  # the numbering is not documented: 0 or 1

    def step(self, prm: str) -> Resolution:
        return self.curve_steps.get(prm, self.default_step)


@dataclass
class Autorisation:
    """One consent given on the Enedis page: its PRMs, its giver, its period."""

    autorisation_id: int
    prms: tuple[str, ...]
    givers: dict[str, str]  # PRM -> customer reference of the occupant who consented
    starts: date
    ends: date
    revoked_on: date | None = None


class Refusal(Exception):
    """An Enedis error answer: HTTP status and body."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status, body)
        self.status = status
        self.body = body

    def response(self) -> web.Response:
        return web.json_response(self.body, status=self.status)


def error(status: int, code: str, message: str) -> Refusal:
    """A 2026-shaped error (``{code, message}``)."""
    return Refusal(status, {"code": code, "message": message})


NOT_HOLDER = ("ADAM-DC-0007", "Le client n'est pas titulaire du point demandé.")
NO_CONSENT = ("ADAM-DC-0008", "Aucun consentement n'a été trouvé pour ce client et ce point.")
UNKNOWN_PRM = ("STM-ERR-0000019", "PRM non existant")


class EnedisState:
    """The fake's memory, shared by its handlers."""

    def __init__(self, simulator: Simulator, config: EnedisFakeConfig) -> None:
        self.simulator = simulator
        self.config = config
        self.tokens = TokenDesk(config.clients, simulator.clock, config.token_lifetime)
        self.gate = QuotaGate(config.quotas)
        self.autorisations: dict[int, Autorisation] = {}
        self._next_id = 10_000_000_001

    def today(self) -> date:
        return day_of("Europe/Paris", self.simulator.now())

    def profile(self, prm: str) -> PointProfile:
        """The simulator's profile of ``prm``; :class:`Refusal` 404 if unknown."""
        try:
            return self.simulator.profile(PointRef(Source.ENEDIS, prm))
        except (UnknownPoint, ValueError) as exc:
            raise error(404, *UNKNOWN_PRM) from exc

    def grant(self, prms: tuple[str, ...], starts: date, days: int) -> Autorisation:
        """Record an autorisation given on ``starts`` for ``days`` by each PRM's occupant."""
        givers = {}
        for prm in prms:
            occupant = self.profile(prm).occupant_on(starts)
            givers[prm] = occupant.customer if occupant else ""
        autorisation = Autorisation(self._next_id, prms, givers, starts,
                                    starts + timedelta(days=days))
        self.autorisations[autorisation.autorisation_id] = autorisation
        self._next_id += 1
        return autorisation

    def revoke(self, autorisation_id: int) -> None:
        """The customer withdraws the consent (SUPPRIME from today)."""
        self.autorisations[autorisation_id].revoked_on = self.today()

    def service_state(self, autorisation: Autorisation, prm: str) -> tuple[str, date]:
        """``etatCode`` and effective ``dateFin`` of the autorisation's services for ``prm``."""
        today = self.today()
        profile = self.profile(prm)
        override = self.simulator.authorisation_state(PointRef(Source.ENEDIS, prm))
        giver = next((o for o in profile.occupants
                      if o.customer == autorisation.givers.get(prm)), None)
        if autorisation.revoked_on is not None or override is UpstreamState.REVOKED:
            return "SUPPRIME", autorisation.revoked_on or today
        if override is UpstreamState.REQUESTED:
            return "DEMANDE", autorisation.ends
        end = autorisation.ends
        if giver is None:
            return "TERMINE", min(end, today)
        if giver.move_out is not None:
            end = min(end, giver.move_out)
        if today >= end or override is not UpstreamState.ACTIVE:
            return "TERMINE", min(end, today)
        return "ACTIF", end

    def label(self, state: str) -> str:
        return SERVICE_LABELS[state]

    def require_access(self, prm: str) -> PointProfile:
        """Raise the error Enedis answers when the operator may not read ``prm`` today."""
        profile = self.profile(prm)
        today = self.today()
        occupant = profile.occupant_on(today)
        mine = [a for a in self.autorisations.values() if prm in a.prms]
        if not mine:
            raise error(403, *NO_CONSENT)
        current = [a for a in mine if occupant is not None
                   and a.givers.get(prm) == occupant.customer]
        if not current:
            # The quirk: "not the holder" comes as HTTP 400, not the documented 403.
            raise error(400, *NOT_HOLDER)
        if not any(self.service_state(a, prm)[0] == "ACTIF" for a in current):
            raise error(403, *NO_CONSENT)
        return profile


#: Where the handlers find the state.
ENEDIS_KEY = web.AppKey("enedis", EnedisState)
