"""What a mandate request and its proofs must satisfy, and whether a mandatary holds an active
mandate that covers what it wants to do (R2, R10, R11).

A mandate names a party as mandatary: a person (a relative), or an organisation (a CPAS, a
supplier). A person who works for a mandatary organisation (``Party.member_of_id``) acts under
that organisation's mandates (a social worker under the CPAS's standing mandates, R11): see
:func:`acting_parties`.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import DomainError, NotFound, NotPermitted
from consent.identifiers import PointRef
from consent.lifecycle import MandateState
from consent.models import Mandate, MandatePoint, MandateScope, Party, ProofKind
from consent.services.queries import point_ids_of
from consent.vocabulary import Dataset

#: Documents a proof may be (what a reviewer can open safely).
PROOF_MEDIA_TYPES = frozenset({"application/pdf", "image/jpeg", "image/png"})
#: Largest proof accepted (GRDF ADICT accepts 4 MB per proof).
MAX_PROOF_BYTES = 4 * 1024 * 1024
#: Most proofs per mandate (ADICT accepts 3; we allow a few more for multi-page scans).
MAX_PROOFS = 5

_SHA256 = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True, slots=True)
class MandateDraft:
    """A mandate as asked for. ``valid_until`` ``None`` asks for a standing mandate (R11)."""

    mandator_id: str
    mandatary_id: str
    scope: MandateScope | str
    points: Sequence[PointRef]
    datasets: Sequence[Dataset | str]
    valid_until: datetime | None = None
    valid_from: datetime | None = None


@dataclass(frozen=True, slots=True)
class ProofUpload:
    """Metadata of a proof whose bytes the evidence store has just written."""

    kind: ProofKind | str
    media_type: str
    size_bytes: int
    sha256: str
    storage_key: str


def check_proof_upload(upload: ProofUpload) -> ProofKind:
    """The proof's kind, if its metadata is acceptable (type, size, digest)."""
    kind = ProofKind(upload.kind)
    if upload.media_type not in PROOF_MEDIA_TYPES:
        raise DomainError(f"Proofs are PDF, JPEG or PNG, not {upload.media_type!r}.",
                          field="media_type")
    if not 0 < upload.size_bytes <= MAX_PROOF_BYTES:
        raise DomainError(f"A proof weighs at most {MAX_PROOF_BYTES} bytes.", field="size")
    if not _SHA256.fullmatch(upload.sha256):
        raise DomainError("sha256 must be 64 lowercase hex digits.", field="sha256")
    return kind


async def mandate_point_ids(session: AsyncSession, mandate_id: str) -> set[str]:
    """The ids of the points a mandate covers."""
    return set(await point_ids_of(session, MandatePoint, "mandate_id", mandate_id))


async def acting_parties(session: AsyncSession, tenant_id: str, party_id: str) -> set[str]:
    """The parties whose mandates ``party_id`` may act under: itself and the organisation it
    works for, if any."""
    party = (await session.exec(select(Party).where(Party.tenant_id == tenant_id,
                                                    Party.id == party_id))).first()
    if party is None:
        return set()
    return {party.id} | ({party.member_of_id} if party.member_of_id else set())


async def covering_mandate(session: AsyncSession, *, tenant_id: str, mandator_id: str,
                           mandatary_ids: Collection[str], point_ids: Collection[str],
                           datasets: Collection[str], at: datetime,
                           manage_consents: bool) -> Mandate:
    """An active mandate from ``mandator_id`` to one of ``mandatary_ids``, valid at ``at``,
    whose scope, points and datasets cover the request.

    Raises :class:`NotFound` when the mandatary holds no active mandate of that household at
    all (it learns nothing about the household), :class:`NotPermitted` when it holds one that
    does not cover the request (R10: a mandatary acts only within its mandate's scope).
    """
    statement = select(Mandate).where(
        Mandate.tenant_id == tenant_id, Mandate.mandator_id == mandator_id,
        col(Mandate.mandatary_id).in_(list(mandatary_ids)),
        col(Mandate.state) == MandateState.ACTIVE,
    ).order_by(col(Mandate.created_at))
    mandates = [m for m in (await session.exec(statement)).all() if m.validity.contains(at)]
    if not mandates:
        raise NotFound("No active mandate of this household names you.", field="mandate")
    for mandate in mandates:
        scope = MandateScope(mandate.scope)
        if not (scope.manages_consents if manage_consents else scope.reads_data):
            continue
        if not set(datasets) <= set(mandate.datasets):
            continue
        if set(point_ids) <= await mandate_point_ids(session, mandate.id):
            return mandate
    raise NotPermitted("Your mandate from this household does not cover these points, datasets "
                       "or actions.", field="mandate", rule="R10")


async def reading_mandate(session: AsyncSession, *, tenant_id: str,
                          mandatary_ids: Collection[str], point_id: str, dataset: str,
                          at: datetime) -> Mandate | None:
    """The active mandate, valid at ``at``, that lets one of ``mandatary_ids`` read ``dataset``
    of ``point_id`` itself (scope ``read_data`` or ``both``), or ``None``."""
    statement = select(Mandate).join(
        MandatePoint, col(MandatePoint.mandate_id) == col(Mandate.id)).where(
        Mandate.tenant_id == tenant_id, col(Mandate.mandatary_id).in_(list(mandatary_ids)),
        col(Mandate.state) == MandateState.ACTIVE, MandatePoint.point_id == point_id,
    ).order_by(col(Mandate.created_at))
    for mandate in (await session.exec(statement)).all():
        if (MandateScope(mandate.scope).reads_data and dataset in mandate.datasets
                and mandate.validity.contains(at)):
            return mandate
    return None

