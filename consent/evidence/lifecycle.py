"""Consent and mandate changes become signed records in the evidence log, in the same
transaction as the change itself (R18; GDPR art. 7(1): the operator must be able to demonstrate
consent).

:class:`LifecycleRecorder` holds the two listeners the application appends to
``ConsentService.hooks.listeners`` and ``MandateService.hooks.listeners``. Each runs inside the
transition's transaction (:mod:`consent.services.base`): it reads what the record needs from
that same session (the recipient as registered, the points, the proof documents), signs a
:class:`~consent.evidence.records.ConsentRecord` or
:class:`~consent.evidence.records.MandateRecord` and appends it on the session's connection.
So the change and its record commit together or not at all: a record that cannot be made (no
key, a grant by the household that does not say which text it was shown or how the person was
authenticated) aborts the change.

What the household was shown and how it was authenticated come from the event's ``details``
(``notice``, ``authentication``), which the services copy from the
:class:`~consent.services.base.Actor` the HTTP layer built.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import NotFound
from consent.evidence.records import (
    Actor,
    Authentication,
    ConsentRecord,
    DocumentRef,
    MandateRecord,
    Notice,
    RecipientTerms,
    Scope,
)
from consent.identifiers import PointRef, Source
from consent.models import (
    Consent,
    ConsentEvent,
    ConsentPoint,
    Mandate,
    MandateEvent,
    MandatePoint,
    MandateProof,
    MeteringPoint,
    Party,
    ProofDocument,
    Recipient,
)
from consent.models.proofs import ConsentProof

if TYPE_CHECKING:
    from consent.evidence.service import Evidence


def _actor(event: ConsentEvent | MandateEvent) -> Actor:
    return Actor(role=str(event.actor_role), channel=str(event.channel),
                 party_id=event.actor_party_id, account_id=event.actor_account_id)


def _shown(details: Mapping[str, Any]) -> tuple[Notice | None, Authentication | None]:
    notice, authentication = details.get("notice"), details.get("authentication")
    return (None if notice is None else Notice.from_json(notice),
            None if authentication is None else Authentication.from_json(authentication))


async def _points(session: AsyncSession, link: Any, column: Any, owner_id: str) -> tuple[str, ...]:
    rows = await session.exec(
        select(MeteringPoint.source, MeteringPoint.identifier)
        .join(link, col(link.point_id) == col(MeteringPoint.id)).where(column == owner_id))
    return tuple(sorted(str(PointRef(Source(source), ident)) for source, ident in rows.all()))


async def _documents(session: AsyncSession, link: Any, column: Any,
                     owner_id: str) -> tuple[DocumentRef, ...]:
    rows = await session.exec(
        select(ProofDocument).join(link, col(link.proof_id) == col(ProofDocument.id))
        .where(column == owner_id).order_by(col(ProofDocument.created_at)))
    # The document store keeps the bytes under the proof's storage key (ProofUpload).
    return tuple(DocumentRef(d.storage_key, str(d.kind), d.media_type, d.sha256, d.size_bytes,
                             str(d.review_state)) for d in rows.all())


class LifecycleRecorder:
    """The evidence listeners of the consent and mandate services (module docstring)."""

    def __init__(self, evidence: Evidence) -> None:
        self.evidence = evidence

    async def consent_changed(self, session: AsyncSession, consent: Consent,
                              event: ConsentEvent) -> None:
        """Sign and log the consent after ``event``, in the transition's transaction."""
        recipient = await session.get(Recipient, consent.recipient_id)
        if recipient is None:  # the foreign key makes this impossible; never sign a guess
            raise NotFound(f"No recipient {consent.recipient_id}.")
        notice, authentication = _shown(event.details)
        record = ConsentRecord(
            tenant=consent.tenant_id, consent_id=consent.id, version=consent.version,
            action=event.action, state=event.to_state, at=event.at,
            household_id=consent.grantor_id,
            recipient=RecipientTerms(recipient.id, recipient.name, str(recipient.data_role),
                                     tuple(recipient.purposes), str(recipient.legal_basis)),
            purpose=str(consent.purpose), legal_basis=str(consent.legal_basis),
            scope=Scope(await _points(session, ConsentPoint, ConsentPoint.consent_id,
                                      consent.id),
                        tuple(sorted(consent.datasets)), str(consent.max_resolution),
                        consent.data_from, consent.history_days),
            valid_from=consent.valid_from, valid_until=consent.valid_until,
            actor=_actor(event), notice=notice, authentication=authentication,
            mandate_id=consent.mandate_id, arrangement_id=consent.arrangement_id,
            supersedes_id=consent.supersedes_id, reason=event.reason,
            documents=await _documents(session, ConsentProof, ConsentProof.consent_id,
                                       consent.id),
            view=str(consent.view), community_id=consent.community_id)
        await self.evidence.record_in(await session.connection(), record)

    async def mandate_changed(self, session: AsyncSession, mandate: Mandate,
                              event: MandateEvent) -> None:
        """Sign and log the mandate after ``event``, in the transition's transaction."""
        mandatary = await session.get(Party, mandate.mandatary_id)
        if mandatary is None:
            raise NotFound(f"No party {mandate.mandatary_id}.")
        notice, authentication = _shown(event.details)
        record = MandateRecord(
            tenant=mandate.tenant_id, mandate_id=mandate.id, version=mandate.version,
            action=event.action, state=event.to_state, at=event.at,
            household_id=mandate.mandator_id, mandatary_id=mandatary.id,
            mandatary_kind=str(mandatary.kind), purpose=str(mandate.scope),
            scope=Scope(await _points(session, MandatePoint, MandatePoint.mandate_id,
                                      mandate.id), tuple(sorted(mandate.datasets))),
            valid_from=mandate.valid_from, valid_until=mandate.valid_until,
            actor=_actor(event), notice=notice, authentication=authentication,
            reason=event.reason,
            documents=await _documents(session, MandateProof, MandateProof.mandate_id,
                                       mandate.id))
        await self.evidence.record_in(await session.connection(), record)
