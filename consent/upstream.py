"""What the operator holds at the DSO for a point: the upstream authorisation's kind and state.

The upstream authorisation (a Data Connect consent, an ADICT *droit d'accès*, a Belgian DSO
access) is what lets the intermediary fetch data at all; when it ends, every downstream consent
on that point stops with it (domain.md, "How the pieces fit"). :class:`UpstreamState` is the one
vocabulary of its state: adapters map their DSO's wire states to it, the stored
:class:`~consent.models.UpstreamAuthorisation` keeps it, the R9 cascade reads it.

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

There is no ``absent`` state. That the DSO knows no authorisation for a point is a fact about
the point, not a state an authorisation passes through: adapters answer ``None``
(:meth:`adapters.base.MeterDataAdapter.authorisation`), and a stored row always names an
authorisation the DSO did list, with its id. A state column that no row may hold would only be
a way to store nonsense.
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
    """Normalised state of an upstream authorisation (table above), stored as its value."""

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
