"""Erasure of a household's personal data on its request (GDPR art. 17, R23; docs/operations.md
§8), against the evidence the log must keep (R16-R18, art. 17(3)(b), (e)).

:meth:`ErasureService.erase` does, in one transaction (all of it or nothing):

1. every live consent of the household is withdrawn (``requested`` ones refused) and every live
   mandate it gave withdrawn, through the consent and mandate services, so each change is a
   signed record and its tokens die as for any withdrawal (art. 7(3)); the actor is the
   household itself (``subject``), its request relayed by staff, authenticated as
   ``erasure_request`` (the staff checked its identity, §8);
2. its accounts' sessions, authorization codes, tokens, linked OpenID identities and reset codes
   end or go;
3. the accounts' login names become ``erased-<account id>``, their password hashes a marker no
   password matches, and they are disabled; the party's name, e-mail and official number are
   cleared;
4. an ``admin`` evidence event ``household.erased`` names the household, its accounts and the
   actor by opaque ids only, with counts;
5. a row of the erasure journal (:class:`~consent.models.ErasureRecord`) says so, for a restore
   from an older backup to re-apply it (``passerelle households reapply-erasures``).

Kept, and why: occupancies, consents, mandates and their events and signed records (evidence of
who could read what, under which consent: never edited, named by opaque ids); proof documents,
because every one is linked to a consent or mandate and cited by its signed records (the
erasure's own withdrawals cite them again), so they are needed to establish or defend legal
claims (art. 17(3)(e)). A proof document of the household linked to nothing could be deleted,
but none exists: an upload and its link are written in one transaction.

Running it again is harmless: a household with nothing left to erase gets no second event nor
journal row (:attr:`ErasureOutcome.changed` is ``False``). Two erasures of one household at
once (two replicas, two staff members) erase it once: each first locks the household's party
row (:func:`~consent.services.held_points.lock_household`), so the second waits for the first to
commit, then finds nothing left and answers ``changed`` ``False``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from sqlmodel import col, delete, select, update
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.clock import Clock
from consent.errors import NotFound
from consent.evidence.events import AdminEvent, Refs
from consent.evidence.records import Authentication
from consent.identity import NO_PASSWORD
from consent.lifecycle import (
    CONSENT_MACHINE,
    MANDATE_MACHINE,
    ActorRole,
    ConsentAction,
    ConsentState,
    MandateAction,
)
from consent.models import (
    Account,
    AuthorizationCode,
    BrowserSession,
    Channel,
    Consent,
    ConsentProof,
    ErasureRecord,
    ExternalIdentity,
    Mandate,
    MandateProof,
    OAuthToken,
    Party,
    PartyKind,
    PasswordReset,
)
from consent.services.base import Actor
from consent.services.consents import ConsentService
from consent.services.held_points import lock_household
from consent.services.mandates import MandateService

if TYPE_CHECKING:
    from consent.evidence.service import Evidence

#: The party's name once erased (a name is required; this one names nobody).
ERASED_NAME = "(erased)"
#: Why the household's consents and mandates end, in their events and signed records.
ERASURE_REASON = "erasure request (GDPR art. 17)"

AdminSink = Callable[[AsyncSession, AdminEvent], Awaitable[object]]
"""Appends an admin event to the evidence log inside the caller's transaction."""


def evidence_sink(evidence: Evidence) -> AdminSink:
    """The :data:`AdminSink` of ``evidence``: the event joins the erasure's transaction, so it
    commits with it or not at all (the CLI and the staff API wire it alike)."""
    async def log_admin(session: AsyncSession, event: AdminEvent) -> object:
        return await evidence.admin_in(await session.connection(), event)

    return log_admin


def tombstone(account_id: str) -> str:
    """The login name an erased account keeps: unique, and names nobody."""
    return f"erased-{account_id}"


@dataclass(frozen=True, slots=True)
class ErasureOutcome:
    """What one erasure did (counts), and whether it changed anything."""

    household_id: str
    consents: tuple[str, ...]
    mandates: tuple[str, ...]
    accounts: tuple[str, ...]
    sessions: int
    tokens: int
    identities: int
    reset_codes: int
    documents_kept: int
    journalled: bool

    @property
    def changed(self) -> bool:
        return self.journalled or bool(self.consents or self.mandates or self.sessions
                                       or self.tokens or self.identities or self.reset_codes)

    def to_json(self) -> dict[str, object]:
        return {"household_id": self.household_id, "consents_ended": list(self.consents),
                "mandates_ended": list(self.mandates), "accounts_erased": list(self.accounts),
                "sessions_ended": self.sessions, "tokens_revoked": self.tokens,
                "identities_removed": self.identities, "reset_codes_removed": self.reset_codes,
                "documents_kept": self.documents_kept, "journalled": self.journalled,
                "changed": self.changed}


class ErasureService:
    """Erases households (see the module docstring). ``consents`` and ``mandates`` must be
    wired like the server's (token revocation, signed records); ``log_admin`` appends the
    ``household.erased`` event in the same transaction."""

    def __init__(self, consents: ConsentService, mandates: MandateService, clock: Clock,
                 log_admin: AdminSink) -> None:
        self.consents, self.mandates, self.clock = consents, mandates, clock
        self.log_admin = log_admin

    async def erase(self, tenant_id: str, household_id: str, *, actor: str,
                    reason: str = "", erased_at: datetime | None = None) -> ErasureOutcome:
        """Erase ``household_id`` of ``tenant_id`` on behalf of ``actor`` (``cli:<user>``,
        ``account:<id>``). ``erased_at`` is the journalled instant when re-applying one.
        :class:`NotFound` if no such household."""
        async with self.consents.db.session() as session:
            # Lock first: a concurrent erasure of the same household waits here, then sees
            # this one's outcome (nothing left: no second event, no journal-row clash).
            await lock_household(session, household_id)
            party = await session.get(Party, household_id)
            if party is None or party.tenant_id != tenant_id or \
                    party.kind is not PartyKind.HOUSEHOLD:
                raise NotFound(f"No household {household_id} in tenant {tenant_id}.")
            now = self.clock.now()
            accounts = list((await session.exec(select(Account).where(
                Account.party_id == household_id).order_by(col(Account.id)))).all())
            subject = Actor(ActorRole.SUBJECT, party_id=household_id,
                            account_id=accounts[0].id if accounts else None,
                            channel=Channel.CLI if actor.startswith("cli:") else Channel.API,
                            tenant_id=tenant_id,
                            authentication=Authentication(
                                "erasure_request", accounts[0].id if accounts else household_id,
                                now))
            consents = await self._end_consents(session, subject, household_id)
            mandates = await self._end_mandates(session, subject, household_id)
            ids = [a.id for a in accounts]
            sessions, tokens, identities, resets = await _end_credentials(session, ids, now)
            for account in accounts:
                _erase_account(session, account)
            party.name, party.email, party.external_ref = ERASED_NAME, None, None
            session.add(party)
            kept = await _documents_kept(session, household_id)
            journalled = False
            if (await session.exec(select(ErasureRecord.id).where(
                    ErasureRecord.tenant_id == tenant_id,
                    ErasureRecord.household_id == household_id))).first() is None:
                session.add(ErasureRecord(tenant_id=tenant_id, household_id=household_id,
                                          erased_at=erased_at or now, actor=actor[:150],
                                          reason=reason[:500]))
                journalled = True
            await session.flush()
            outcome = ErasureOutcome(household_id, consents, mandates, tuple(ids), sessions,
                                     tokens, identities, resets, kept, journalled)
            if outcome.changed:
                await self.log_admin(session, AdminEvent(
                    at=now, actor=actor, action="household.erased",
                    refs=Refs(tenant=tenant_id, household_id=household_id),
                    target=f"household:{household_id}",
                    details={**{k: v for k, v in outcome.to_json().items()
                                if isinstance(v, int | bool)},
                             "accounts": ",".join(ids), "reason": reason[:500]}))
            return outcome

    async def journal(self, tenant_id: str | None = None) -> list[ErasureRecord]:
        """The erasure journal (of ``tenant_id``, or all), oldest first: what an operator
        exports out of the database's reach before a restore (docs/operations.md §6)."""
        async with self.consents.db.session() as session:
            statement = select(ErasureRecord).order_by(col(ErasureRecord.erased_at),
                                                       col(ErasureRecord.id))
            if tenant_id is not None:
                statement = statement.where(ErasureRecord.tenant_id == tenant_id)
            return list((await session.exec(statement)).all())

    async def reapply(self, entries: Sequence[ErasureRecord], *,
                      actor: str) -> list[ErasureOutcome]:
        """After a restore: erase again every journalled household that still holds personal
        data (or lost its journal row), as ``actor``; keep each entry's instant and reason.
        A household the restored database does not hold is skipped (the backup predates it:
        nothing to erase). Returns the erasures that changed something."""
        done = []
        for entry in entries:
            async with self.consents.db.session() as session:
                party = await session.get(Party, entry.household_id)
            if party is None or party.tenant_id != entry.tenant_id:
                continue
            outcome = await self.erase(entry.tenant_id, entry.household_id, actor=actor,
                                       reason=entry.reason or ERASURE_REASON,
                                       erased_at=entry.erased_at)
            if outcome.changed:
                done.append(outcome)
        return done

    async def _end_consents(self, session: AsyncSession, actor: Actor,
                            household_id: str) -> tuple[str, ...]:
        live = CONSENT_MACHINE.rules[ConsentAction.REVOKE].sources  # every non-final state
        rows = (await session.exec(select(Consent).where(
            Consent.grantor_id == household_id, col(Consent.state).in_(live)).order_by(
            col(Consent.id)))).all()
        for consent in rows:
            # A consent still awaiting the household's answer cannot be withdrawn: refused.
            action = (ConsentAction.REFUSE if consent.state is ConsentState.REQUESTED
                      else ConsentAction.WITHDRAW)
            await self.consents.act_in(session, actor, consent, action, reason=ERASURE_REASON)
        return tuple(c.id for c in rows)

    async def _end_mandates(self, session: AsyncSession, actor: Actor,
                            household_id: str) -> tuple[str, ...]:
        live = MANDATE_MACHINE.rules[MandateAction.WITHDRAW].sources
        ids = (await session.exec(select(Mandate.id).where(
            Mandate.mandator_id == household_id, col(Mandate.state).in_(live)).order_by(
            col(Mandate.id)))).all()
        for mandate_id in ids:
            await self.mandates.act_in(session, actor, mandate_id, MandateAction.WITHDRAW,
                                       reason=ERASURE_REASON)
        return tuple(ids)


async def _end_credentials(session: AsyncSession, account_ids: Sequence[str],
                           now: datetime) -> tuple[int, int, int, int]:
    """End every way into the accounts: sessions, codes and reset codes deleted, tokens
    revoked, OpenID links removed. Returns (sessions, tokens, identities, reset codes)."""
    if not account_ids:
        return 0, 0, 0, 0
    ids = list(account_ids)
    # Sessions first: their rows point at the identities deleted below.
    sessions = await session.exec(delete(BrowserSession).where(
        col(BrowserSession.account_id).in_(ids)))
    await session.exec(delete(AuthorizationCode).where(
        col(AuthorizationCode.account_id).in_(ids)))
    tokens = await session.exec(update(OAuthToken).where(
        col(OAuthToken.account_id).in_(ids), col(OAuthToken.revoked_at).is_(None)).values(
        revoked_at=now))
    identities = await session.exec(delete(ExternalIdentity).where(
        col(ExternalIdentity.account_id).in_(ids)))
    resets = await session.exec(delete(PasswordReset).where(
        col(PasswordReset.account_id).in_(ids)))
    return sessions.rowcount, tokens.rowcount, identities.rowcount, resets.rowcount


def _erase_account(session: AsyncSession, account: Account) -> None:
    account.username = tombstone(account.id)
    account.password_hash = NO_PASSWORD
    account.password_changed_at = None
    account.disabled = True  # no sign-in, and no first password can be chosen for it
    session.add(account)


async def _documents_kept(session: AsyncSession, household_id: str) -> int:
    """How many proof documents of the household's consents and mandates stay: all, each
    being cited by their signed records (see the module docstring)."""
    of_consents = (await session.exec(select(ConsentProof.proof_id).join(
        Consent, col(Consent.id) == col(ConsentProof.consent_id)).where(
        Consent.grantor_id == household_id))).all()
    of_mandates = (await session.exec(select(MandateProof.proof_id).join(
        Mandate, col(Mandate.id) == col(MandateProof.mandate_id)).where(
        Mandate.mandator_id == household_id))).all()
    return len(set(of_consents) | set(of_mandates))
