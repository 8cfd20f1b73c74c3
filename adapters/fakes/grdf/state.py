"""What the fake ADICT knows: its configuration and the droits d'accès declared to it.

A droit d'accès is created ``A valider``; the holder validates it after ``validation_delay``
(GRDF emails holders in batches every 15 minutes) unless their e-mail is in ``refusing``. An
AUTORISE role must send proofs before ``date_limite_transmission_preuve``; GRDF checks them after
``proof_check_delay`` (a file named ``*invalid*`` fails the check). A failed or missing proof puts
the right ``A revérifier``; the holder moving out, or the end of the right, makes it ``Obsolète``;
the third party's PATCH makes it ``Révoquée``. The simulator's authorisation override wins, as in
every fake, so the contract suite drives all DSOs with one switch.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from aiohttp import web

from adapters.base import Quota
from adapters.errors import UnknownPoint
from adapters.fakes.common import QuotaGate, TokenDesk
from adapters.grdf.vocabulary import FALSE, FLAGS, TRUE, ProofStatus, Role
from adapters.simulator.profiles import PointProfile
from adapters.simulator.simulator import Simulator
from adapters.simulator.timegrid import day_of
from consent.identifiers import PointRef, Source
from consent.upstream import UpstreamState

TOKEN_PATH = "/oauth2/aus5y2ta2uEHjCWIR417/v1/token"  # noqa: S105 - a URL path
API_PREFIX = "/adict/v2"


@dataclass
class GrdfFakeConfig:
    """Knobs of the fake. ADICT's quotas are not public: none unless given."""

    clients: dict[str, str]
    scope: str = "/adict/v2"
    token_lifetime: timedelta = timedelta(seconds=14400)
    quotas: tuple[Quota, ...] = ()
    validation_delay: timedelta = timedelta(minutes=15)
    proof_check_delay: timedelta = timedelta(days=1)
    proof_deadline: timedelta = timedelta(days=30)
    refusing: frozenset[str] = frozenset()  # holder e-mails that refuse the validation
    wrap_access_list: bool = False  # lowatt-grdf saw [{"liste_acces": [...]}, status]
    accented_states: bool = False  # "À valider" instead of "A valider"
    inclusive_end: bool = False  # also return the gas day named by date_fin


@dataclass
class Proof:
    name: str
    size: int
    received: datetime


@dataclass
class AccessRight:
    """One declared droit d'accès (the request body, kept as sent, plus its lifecycle)."""

    id: str
    pce: str
    body: dict[str, str | None]
    created: datetime
    giver: str  # customer reference of the PCE's occupant at declaration
    proofs: list[Proof] = field(default_factory=list)
    revoked: datetime | None = None

    @property
    def role(self) -> Role:
        return Role(str(self.body["role_tiers"]))

    def flag(self, name: str) -> bool:
        return self.body.get(name) == TRUE

    def day(self, name: str) -> date | None:
        value = self.body.get(name)
        return date.fromisoformat(value) if value else None


class GrdfState:
    """The fake's memory, shared by its handlers."""

    def __init__(self, simulator: Simulator, config: GrdfFakeConfig) -> None:
        self.simulator = simulator
        self.config = config
        self.tokens = TokenDesk(config.clients, simulator.clock, config.token_lifetime)
        self.gate = QuotaGate(config.quotas)
        self.rights: dict[str, AccessRight] = {}

    def now(self) -> datetime:
        return self.simulator.now()

    def today(self) -> date:
        return day_of("Europe/Paris", self.now())

    def profile(self, pce: str) -> PointProfile:
        """The simulator's profile of ``pce``; :class:`LookupError` if GRDF does not know it."""
        try:
            return self.simulator.profile(PointRef(Source.GRDF, pce))
        except (UnknownPoint, ValueError) as exc:
            raise LookupError(pce) from exc

    def add(self, pce: str, body: dict[str, str | None], created: datetime) -> AccessRight:
        occupant = self.profile(pce).occupant_on(day_of("Europe/Paris", created))
        right = AccessRight(str(uuid.uuid4()), pce, body, created,
                            occupant.customer if occupant else "")
        self.rights[right.id] = right
        return right

    def seed(self, pce: str, role: Role, declared: date, holder: str, email: str,
             postal_code: str, data_from: date, days: int = 1095,
             flags: tuple[bool, bool, bool, bool] = (True, True, True, True),
             proofs: bool = True) -> AccessRight:
        """A droit d'accès declared on ``declared`` (the past), as a proxy would have done."""
        ends = (declared + timedelta(days=days)).isoformat()
        body: dict[str, str | None] = {
            "role_tiers": role.value, "nom_titulaire": holder, "raison_sociale": None,
            "code_postal": postal_code, "courriel_titulaire": email,
            "numero_telephone_mobile_titulaire": None,
            "date_debut_droit_acces": declared.isoformat(), "date_fin_droit_acces": ends,
            "perim_donnees_conso_debut": data_from.isoformat(), "perim_donnees_conso_fin": ends,
            **{name: TRUE if on else FALSE for name, on in zip(FLAGS, flags, strict=True)}}
        created = datetime.combine(declared, time(9), tzinfo=ZoneInfo("Europe/Paris"))
        right = self.add(pce, body, created)
        if proofs and role.authorised:
            right.proofs.append(Proof("mandat-signe.pdf", 48_213, created))
        return right

    # ---- lifecycle ---------------------------------------------------------------------

    def proof_status(self, right: AccessRight) -> ProofStatus | None:
        if not right.role.authorised:
            return None
        if not right.proofs:
            return ProofStatus.WAITING
        last = max(p.received for p in right.proofs)
        if self.now() < last + self.config.proof_check_delay:
            return ProofStatus.CHECKING
        return ProofStatus.KO if any("invalid" in p.name for p in right.proofs) else \
            ProofStatus.OK

    def proof_deadline(self, right: AccessRight) -> date | None:
        if not right.role.authorised:
            return None
        return (right.created + self.config.proof_deadline).date()

    def state(self, right: AccessRight) -> tuple[str, datetime | None, str | None]:
        """``etat_droit_acces``, when it changed and who changed it (for the *_source fields)."""
        now, today = self.now(), self.today()
        profile = self.profile(right.pce)
        override = self.simulator.authorisation_state(PointRef(Source.GRDF, right.pce))
        giver = next((o for o in profile.occupants if o.customer == right.giver), None)
        if right.revoked is not None:
            return "Révoquée", right.revoked, "TIERS"
        if override is UpstreamState.REVOKED:
            return "Révoquée", now, "CLIENT"
        if override is UpstreamState.REFUSED or (
                now >= right.created + self.config.validation_delay
                and right.body.get("courriel_titulaire") in self.config.refusing):
            return "Refusée", now, "CLIENT"
        if override is UpstreamState.REQUESTED or \
                now < right.created + self.config.validation_delay:
            return self._pending(), None, None
        end = right.day("date_fin_droit_acces")
        if giver is None or (giver.move_out is not None and giver.move_out <= today) or \
                (end is not None and end < today) or override is UpstreamState.ENDED:
            return "Obsolète", now, "GRDF"
        proof, deadline = self.proof_status(right), self.proof_deadline(right)
        if override is UpstreamState.SUSPENDED or proof is ProofStatus.KO or (
                proof is ProofStatus.WAITING and deadline is not None and today > deadline):
            return self._accented("A revérifier"), now, "GRDF"
        return "Active", None, None

    def _pending(self) -> str:
        return self._accented("A valider")

    def _accented(self, text: str) -> str:
        return "À" + text[1:] if self.config.accented_states else text

    def rights_of(self, pce: str) -> list[AccessRight]:
        return [r for r in self.rights.values() if r.pce == pce]


#: Where the handlers find the state.
GRDF_KEY = web.AppKey("grdf", GrdfState)
