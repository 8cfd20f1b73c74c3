"""Every decision taken on a household page becomes signed evidence (R16, R18; GDPR art. 7(1)).

The domain services write each change and its event in one transaction; :func:`capture` is a
hook on the consent and mandate services that, while a page decision is being made inside
:meth:`DecisionRecorder.recording`, notes which events were written (a narrowing writes three:
the new consent's request and grant, the old one's revocation). Once the transaction has
committed, each of them is appended to the evidence log as a signed
:class:`~consent.evidence.records.ConsentRecord` or
:class:`~consent.evidence.records.MandateRecord` carrying how the household was authenticated
(the session's sign-in method: password, reset code or OpenID provider and subject, R15) and,
for a grant or a renewal, a :class:`~consent.evidence.records.Notice`: the SHA-256 of the terms
the page showed, in the page's language. An evidence failure after the commit is logged, never
turned into a failure of what already happened (the domain's event history keeps it).
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from sqlmodel import col, select

from consent.evidence.records import (
    Actor as RecordActor,
)
from consent.evidence.records import (
    Authentication,
    ConsentRecord,
    DocumentRef,
    MandateRecord,
    Notice,
    RecipientTerms,
    Scope,
)
from consent.evidence.service import Evidence
from consent.models import (
    Account,
    BrowserSession,
    Consent,
    ConsentEvent,
    ConsentPoint,
    ExternalIdentity,
    Mandate,
    MandateEvent,
    MandatePoint,
    MeteringPoint,
    Party,
    Recipient,
)
from consent.services.mandates import MandateService
from consent.storage import Database
from consent.tokens import digest

log = logging.getLogger("passerelle.portal")

#: Version of the terms pages whose text is hashed into notices.
NOTICE_VERSION = "portal-terms-1"

_captured: ContextVar[list[ConsentEvent | MandateEvent] | None] = ContextVar(
    "portal_captured_events", default=None)


async def capture(_session: object, _row: object, event: ConsentEvent | MandateEvent) -> None:
    """Service hook: remember ``event`` if a page decision is being recorded."""
    pending = _captured.get()
    if pending is not None:
        pending.append(event)


def notice(lang: str, terms: Mapping[str, Any]) -> Notice:
    """The notice of what the page showed: ``terms`` (the texts, as displayed) hashed."""
    text = json.dumps({"version": NOTICE_VERSION, "lang": lang, "terms": terms},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Notice(NOTICE_VERSION, hashlib.sha256(text.encode()).hexdigest(), lang)


@dataclass(frozen=True, slots=True)
class DecisionRecorder:
    """Builds and appends the records of page decisions."""

    db: Database
    evidence: Evidence
    mandates: MandateService

    @asynccontextmanager
    async def recording(self, cookie: str, account: Account,
                        shown: Notice | None = None) -> AsyncIterator[None]:
        """Record, after the block, every consent or mandate event the block wrote;
        ``cookie`` is the browser session's (how ``account`` signed in)."""
        token = _captured.set([])
        try:
            yield
            events = list(_captured.get() or [])
        finally:
            _captured.reset(token)
        if not events:
            return
        authentication = await self.authentication(cookie, account)
        for event in events:
            try:
                record = await self._record(event, authentication, shown)
                await self.evidence.record(record)
            except Exception:  # the decision stands; its domain event is the fallback
                log.exception("could not record %s %s as evidence", type(event).__name__,
                              event.id)

    async def authentication(self, cookie: str, account: Account) -> Authentication:
        """How the signed-in household proved who it is (the session's sign-in, R15)."""
        async with self.db.session() as session:
            row = (await session.exec(select(BrowserSession).where(
                BrowserSession.token_hash == digest(cookie)))).first()
            method = row.auth_method if row is not None else "password"
            at = row.created_at if row is not None else account.created_at
            if method == "oidc":
                link = (await session.exec(select(ExternalIdentity).where(
                    ExternalIdentity.account_id == account.id).order_by(
                    col(ExternalIdentity.last_login_at).desc()))).first()
                if link is not None:
                    return Authentication("oidc", link.subject, at, provider=link.issuer)
        return Authentication(method, account.username, at)

    async def _record(self, event: ConsentEvent | MandateEvent, authentication: Authentication,
                      shown: Notice | None) -> ConsentRecord | MandateRecord:
        household_act = str(event.actor_role) in {"subject", "mandatary"}
        auth = authentication if household_act else None
        note = shown if household_act and event.action in {"grant", "renew"} else None
        actor = RecordActor(str(event.actor_role), str(event.channel), event.actor_party_id,
                            event.actor_account_id)
        async with self.db.session() as session:
            if isinstance(event, ConsentEvent):
                consent = await session.get(Consent, event.consent_id)
                assert consent is not None
                recipient = await session.get(Recipient, consent.recipient_id)
                assert recipient is not None
                points = await _refs(session, ConsentPoint, consent.id)
                return ConsentRecord(
                    tenant=consent.tenant_id, consent_id=consent.id, version=event.version,
                    action=event.action, state=event.to_state, at=event.at,
                    household_id=consent.grantor_id,
                    recipient=RecipientTerms(recipient.id, recipient.name,
                                             str(recipient.data_role),
                                             tuple(recipient.purposes),
                                             str(recipient.legal_basis)),
                    purpose=str(consent.purpose), legal_basis=str(consent.legal_basis),
                    scope=Scope(points, tuple(consent.datasets), str(consent.max_resolution),
                                consent.data_from, consent.history_days),
                    valid_from=consent.valid_from, valid_until=consent.valid_until,
                    actor=actor, notice=note, authentication=auth,
                    mandate_id=consent.mandate_id, arrangement_id=consent.arrangement_id,
                    supersedes_id=consent.supersedes_id, reason=event.reason)
            mandate = await session.get(Mandate, event.mandate_id)
            assert mandate is not None
            mandatary = await session.get(Party, mandate.mandatary_id)
            points = await _refs(session, MandatePoint, mandate.id)
        proofs = await self.mandates.proofs(mandate.tenant_id, mandate.id)
        return MandateRecord(
            tenant=mandate.tenant_id, mandate_id=mandate.id, version=event.version,
            action=event.action, state=event.to_state, at=event.at,
            household_id=mandate.mandator_id, mandatary_id=mandate.mandatary_id,
            mandatary_kind=str(mandatary.kind) if mandatary else "unknown",
            purpose=f"mandate:{mandate.scope}", scope=Scope(points, tuple(mandate.datasets)),
            valid_from=mandate.valid_from, valid_until=mandate.valid_until, actor=actor,
            notice=note, authentication=auth, reason=event.reason,
            documents=tuple(DocumentRef(p.id, str(p.kind), p.media_type, p.sha256,
                                        p.size_bytes, str(p.review_state)) for p in proofs))


async def _refs(session: Any, link: type[ConsentPoint] | type[MandatePoint],
                owner: str) -> tuple[str, ...]:
    column = link.consent_id if link is ConsentPoint else link.mandate_id  # type: ignore[union-attr]
    rows = (await session.exec(select(MeteringPoint).join(
        link, col(link.point_id) == col(MeteringPoint.id)).where(column == owner))).all()
    return tuple(sorted(str(p.ref) for p in rows))
