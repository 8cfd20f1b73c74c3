"""What the operator holds at the DSO for a point: the upstream authorisation's kind and state.

The upstream authorisation (a Data Connect consent, an ADICT *droit d'accès*, a Belgian DSO
access) is what lets the intermediary fetch data at all; when it ends, every downstream consent
on that point stops with it (domain.md, "How the pieces fit"). Adapters map their wire states to
:class:`UpstreamState`:

===========  ======================  ===========================  =========================
state        Enedis (``etatCode``)   GRDF (``etat_droit_acces``)  meaning here
===========  ======================  ===========================  =========================
requested    ``DEMANDE``             ``A valider``                asked, not yet usable
active       ``ACTIF``               ``Active``                   data may be fetched
suspended    -                       ``A revérifier``             temporarily unusable
ended        ``TERMINE``             ``Obsolète``                 ended normally (period over,
                                                                  occupant changed)
revoked      ``SUPPRIME``            ``Révoquée``                 withdrawn at the DSO
refused      -                       ``Refusée``                  never became active
===========  ======================  ===========================  =========================
"""

from __future__ import annotations

from enum import StrEnum

from consent.identifiers import Source


class UpstreamKind(StrEnum):
    """Which DSO mechanism the authorisation is."""

    ENEDIS_DATACONNECT = "enedis_dataconnect"
    GRDF_DROIT_ACCES = "grdf_droit_acces"
    BE_EAN_ACCESS = "be_ean_access"
    INHOUSE = "inhouse"

    @classmethod
    def for_source(cls, source: Source) -> UpstreamKind:
        """The mechanism a point of ``source`` is reached through."""
        return _KIND_BY_SOURCE[source]


_KIND_BY_SOURCE = {
    Source.ENEDIS: UpstreamKind.ENEDIS_DATACONNECT,
    Source.GRDF: UpstreamKind.GRDF_DROIT_ACCES,
    Source.BE_EAN: UpstreamKind.BE_EAN_ACCESS,
    Source.INHOUSE: UpstreamKind.INHOUSE,
}


class UpstreamState(StrEnum):
    """Normalised state of an upstream authorisation (table above)."""

    REQUESTED = "requested"
    ACTIVE = "active"
    SUSPENDED = "suspended"
    ENDED = "ended"
    REVOKED = "revoked"
    REFUSED = "refused"

    @property
    def usable(self) -> bool:
        """True only for ``active``: data may be fetched under this authorisation."""
        return self is UpstreamState.ACTIVE

    @property
    def final(self) -> bool:
        """True when the authorisation can never become usable again."""
        return self in {UpstreamState.ENDED, UpstreamState.REVOKED, UpstreamState.REFUSED}
