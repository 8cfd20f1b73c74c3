"""The droit d'accès: what the operator declares to ADICT for a PCE, and what ADICT says of it.

:class:`AccessDeclaration` is the small value the proxy builds from the household's consent
(R1, R2): role, holder identity and postal code, access period, data perimeter, the four
perimeter flags. It validates what ADICT would refuse with a 400 (so a household sees the
mistake at once) and renders the ``DemanderAccesIn`` body, booleans as ``"Vrai"``/``"Faux"``.

:class:`AccessRight` is an access right as ADICT lists it (``ListeAccesOut``), read strictly;
:func:`authorisation` turns the rights of a PCE into its :class:`UpstreamAuthorisation` (or
``None`` when ADICT lists none).

:class:`Proof` is one proof document (PJ); :func:`check_proofs` applies ADICT's limits (3
files, 4 MB each, PDF/JPEG/PNG whose content matches the type) before anything is sent.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from adapters.base import UpstreamAuthorisation
from adapters.decode import Doc
from adapters.grdf.vocabulary import (
    ACCESS_STATES,
    EMAIL,
    FALSE,
    FLAGS,
    MAX_PROOF_BYTES,
    MAX_PROOFS,
    MOBILE,
    PROOF_TYPES,
    TRUE,
    ProofStatus,
    Role,
)
from adapters.timekeeping import at_hour
from consent.errors import DomainError, InvalidPeriod
from consent.identifiers import PointRef, Source
from consent.periods import Period
from consent.upstream import UpstreamState


@dataclass(frozen=True, slots=True)
class AccessDeclaration:
    """A droit d'accès to declare for ``point`` (built by the proxy from a consent).

    Exactly one of ``holder_name`` (a person) and ``holder_company`` (a legal entity). The
    access period is ``[access_from, access_until]`` and the data perimeter ``[data_from,
    data_until]`` (days, as ADICT writes them); ``data_until`` may not pass ``access_until``.
    """

    point: PointRef
    role: Role
    postal_code: str
    email: str
    access_from: date
    access_until: date
    data_from: date
    data_until: date
    holder_name: str | None = None
    holder_company: str | None = None
    mobile: str | None = None
    contractual: bool = False
    technical: bool = False
    informative: bool = True
    published: bool = True

    def __post_init__(self) -> None:
        if self.point.source is not Source.GRDF:
            raise DomainError("A droit d'accès is declared for a GRDF PCE.", field="point")
        if (self.holder_name is None) == (self.holder_company is None):
            raise DomainError("Name the holder as a person or as a company, not both.",
                              field="holder_name")
        if not (len(self.postal_code) == 5 and self.postal_code.isdigit()):
            raise DomainError("A French postal code has five digits.", field="postal_code")
        if not EMAIL.fullmatch(self.email):
            raise DomainError("The holder's e-mail address is not valid.", field="email")
        if self.mobile is not None and not MOBILE.fullmatch(self.mobile):
            raise DomainError("The holder's mobile number is ten digits starting 06 or 07.",
                              field="mobile")
        if self.access_until < self.access_from:
            raise InvalidPeriod("The access ends before it starts.", field="access_until")
        if not self.data_from <= self.data_until <= self.access_until:
            raise InvalidPeriod("The data perimeter must be ordered and end with the access at "
                                "the latest.", field="data_until")
        if not (self.informative or self.published or self.contractual or self.technical):
            raise DomainError("A droit d'accès covers at least one kind of data.",
                              field="perimeter")

    def to_wire(self) -> dict[str, str | None]:
        """The ``DemanderAccesIn`` body."""
        kind = "conso" if self.role.supply else "inj"
        flags = (self.contractual, self.technical, self.informative, self.published)
        return {
            "role_tiers": self.role.value,
            "raison_sociale": self.holder_company, "nom_titulaire": self.holder_name,
            "code_postal": self.postal_code, "courriel_titulaire": self.email,
            "numero_telephone_mobile_titulaire": self.mobile,
            "date_debut_droit_acces": self.access_from.isoformat(),
            "date_fin_droit_acces": self.access_until.isoformat(),
            f"perim_donnees_{kind}_debut": self.data_from.isoformat(),
            f"perim_donnees_{kind}_fin": self.data_until.isoformat(),
            **{name: TRUE if on else FALSE for name, on in zip(FLAGS, flags, strict=True)},
        }


@dataclass(frozen=True, slots=True)
class Proof:
    """One proof document (a signed mandate, a contract, an ID proof: R2)."""

    filename: str
    content_type: str
    content: bytes

    def __repr__(self) -> str:  # never print a household's document
        return f"Proof({self.filename!r}, {self.content_type}, {len(self.content)} bytes)"


def check_proofs(proofs: list[Proof]) -> None:
    """ADICT's limits, checked before sending: 1 to 3 files, 4 MB each, allowed formats."""
    if not 1 <= len(proofs) <= MAX_PROOFS:
        raise DomainError(f"Send 1 to {MAX_PROOFS} proof documents.", field="proofs")
    for proof in proofs:
        if len(proof.content) > MAX_PROOF_BYTES:
            raise DomainError(f"{proof.filename!r} is larger than 4 MB.", field="proofs")
        signature = PROOF_TYPES.get(proof.content_type)
        if signature is None:
            raise DomainError(f"{proof.filename!r} must be a PDF, JPEG or PNG file.",
                              field="proofs")
        if not proof.content.startswith(signature):
            raise DomainError(f"{proof.filename!r} is not the {proof.content_type} it claims "
                              "to be.", field="proofs")


def _flag(doc: Doc) -> bool:
    if doc.value not in (TRUE, FALSE):
        raise doc.fail('"Vrai" or "Faux"')
    return bool(doc.value == TRUE)


def _optional_day(doc: Doc) -> date | None:
    return None if doc.is_null else doc.day()


@dataclass(frozen=True, slots=True)
class AccessRight:
    """A droit d'accès as ADICT lists it, normalised."""

    id: str
    point: PointRef
    role: Role
    upstream_state: str
    state: UpstreamState
    access_from: date
    access_until: date
    data_from: date | None
    data_until: date | None
    perimeter: dict[str, bool]
    proof_status: ProofStatus | None
    proof_deadline: date | None
    created: str

    @classmethod
    def parse(cls, doc: Doc) -> AccessRight:
        state_text = doc["etat_droit_acces"].text()
        if state_text not in ACCESS_STATES:
            raise doc["etat_droit_acces"].fail("one of " + ", ".join(ACCESS_STATES))
        role = doc["role_tiers"].enum(Role)
        kind = "conso" if role.supply else "inj"
        proof = doc.get("statut_controle_preuve")
        pce = doc["id_pce"].text()
        try:
            point = PointRef(Source.GRDF, pce)
        except DomainError:
            raise doc["id_pce"].fail("a PCE identifier") from None
        return cls(
            id=doc["id_droit_acces"].text(), point=point, role=role,
            upstream_state=state_text, state=ACCESS_STATES[state_text],
            access_from=doc["date_debut_droit_acces"].day(),
            access_until=doc["date_fin_droit_acces"].day(),
            data_from=_optional_day(doc.get(f"perim_donnees_{kind}_debut")),
            data_until=_optional_day(doc.get(f"perim_donnees_{kind}_fin")),
            perimeter={name: _flag(doc[name]) for name in FLAGS},
            proof_status=None if proof.is_null else proof.enum(ProofStatus),
            proof_deadline=_optional_day(doc.get("date_limite_transmission_preuve")),
            created=doc["date_creation"].text())

    def validity(self, zone: str) -> Period:
        """``[access_from, access_until]`` as instants (the end day included)."""
        return Period(at_hour(self.access_from, zone),
                      at_hour(self.access_until + timedelta(days=1), zone))

    def summary(self) -> dict[str, Any]:
        """Evidence-friendly view (no holder data)."""
        return {"id": self.id, "state": self.upstream_state,
                "proof": self.proof_status.value if self.proof_status else None,
                "proof_deadline": self.proof_deadline.isoformat() if self.proof_deadline
                else None}


#: When a PCE has several rights, the most usable one speaks for it.
_PRECEDENCE = (UpstreamState.ACTIVE, UpstreamState.REQUESTED, UpstreamState.SUSPENDED,
               UpstreamState.REVOKED, UpstreamState.ENDED, UpstreamState.REFUSED)


def current(rights: list[AccessRight]) -> AccessRight | None:
    """The right that speaks for the PCE: the most usable, then the most recent."""
    if not rights:
        return None
    return min(rights, key=lambda r: (_PRECEDENCE.index(r.state), _negated(r.created)))


def _negated(text: str) -> tuple[int, ...]:
    return tuple(-ord(c) for c in text)


def authorisation(point: PointRef, rights: list[AccessRight],
                  zone: str) -> UpstreamAuthorisation | None:
    """The PCE's authorisation: its current right (:func:`current`); ``None`` without any."""
    right = current(rights)
    if right is None:
        return None
    return UpstreamAuthorisation(point, right.state, right.id, right.validity(zone),
                                 right.upstream_state)
