"""GRDF ADICT wire vocabulary: roles, states, proof statuses, flags, status lines.

Facts only (sources in ``docs/adapters.md``: Natixar's generated ADICT v2 client docs, lowatt-grdf
and its fixtures). Both the adapter and the fake server read them.
"""

from __future__ import annotations

import re
from enum import StrEnum

from consent.upstream import UpstreamState


class Role(StrEnum):
    """``role_tiers``: the third party's role towards the PCE's supply or injection contract."""

    AUTORISE_CONTRAT_FOURNITURE = "AUTORISE_CONTRAT_FOURNITURE"
    DETENTEUR_CONTRAT_FOURNITURE = "DETENTEUR_CONTRAT_FOURNITURE"
    AUTORISE_CONTRAT_INJECTION = "AUTORISE_CONTRAT_INJECTION"
    DETENTEUR_CONTRAT_INJECTION = "DETENTEUR_CONTRAT_INJECTION"

    @property
    def supply(self) -> bool:
        """FOURNITURE roles read consumption; INJECTION roles read injection."""
        return self.value.endswith("FOURNITURE")

    @property
    def authorised(self) -> bool:
        """AUTORISE roles act on the holder's authorisation (proofs may be asked, may revoke)."""
        return self.value.startswith("AUTORISE")


class ProofStatus(StrEnum):
    """``statut_controle_preuve``."""

    WAITING = "Preuve en attente"
    CHECKING = "Preuve en cours de vérification"
    OK = "Preuve Vérifiée OK"
    KO = "Preuve Vérifiée KO"


#: ``etat_droit_acces`` -> normalised state. Both spellings of "A valider" occur ("À valider" in
#: lowatt-grdf's fixtures, "A valider" in the API documentation).
ACCESS_STATES: dict[str, UpstreamState] = {
    "Active": UpstreamState.ACTIVE,
    "A valider": UpstreamState.REQUESTED,
    "À valider": UpstreamState.REQUESTED,
    "Révoquée": UpstreamState.REVOKED,
    "A revérifier": UpstreamState.SUSPENDED,
    "À revérifier": UpstreamState.SUSPENDED,
    "Obsolète": UpstreamState.ENDED,
    "Refusée": UpstreamState.REFUSED,
}

#: ADICT booleans are the strings "Vrai" and "Faux".
TRUE, FALSE = "Vrai", "Faux"

#: The four data-perimeter flags of a droit d'accès.
FLAGS = ("perim_donnees_contractuelles", "perim_donnees_techniques",
         "perim_donnees_informatives", "perim_donnees_publiees")

#: The status line's success code (every NDJSON answer ends with a status line).
SUCCESS = "0000000000"
SUCCESS_MESSAGE = "L'opération s'est déroulée avec succès."

#: Proofs: at most 3 files of at most 4 MB each (409 beyond), in these formats.
MAX_PROOFS = 3
MAX_PROOF_BYTES = 4 * 1024 * 1024
PROOF_TYPES = {"application/pdf": b"%PDF", "image/jpeg": b"\xff\xd8\xff",
               "image/png": b"\x89PNG\r\n\x1a\n"}

#: The gas day starts at 06:00 local time ("journée gazière").
GAS_DAY_START = 6

#: Formats ADICT checks (400 otherwise): the holder's e-mail and French mobile number, a PCE.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
MOBILE = re.compile(r"0[67][0-9]{8}")
PCE = re.compile(r"[0-9]{14}|GI[0-9]{6}")
