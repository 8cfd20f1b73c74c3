"""External OpenID identities linked to household accounts (R15; GDPR art. 16/17).

``(issuer, subject)`` of an OpenID Connect provider (FranceConnect, itsme...) is linked to an
account once, at the first sign-in through the provider, after the person proved the meter
number of a point their household occupies; later sign-ins find the account by that link
(:func:`linked_account`), and each session they open records the link
(``browser_session.external_identity_id``). The meter number proves *occupancy*, not who owns an
account: an account someone can already sign into (:func:`consent.identity.way_in`) is linked
only from a session signed into it (proxy/portal/oidc_link.py).

A link is a permanent way in that survives a password change, so the household can remove one
(:func:`remove_identity`): never the last way in it keeps, and exactly the sessions the link
opened end with it.

A provider's ``sub`` identifies a person: pages and journal events show it masked
(:func:`masked_subject`, through :func:`journal_identity` for events), never whole. Only the link
row (deleted with the link) and the signed decision records (the R15 evidence of who decided,
proxy/portal/recording.py) hold it whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import and_, delete, func, or_, update
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from consent.errors import Conflict, NotFound
from consent.identity import NO_PASSWORD
from consent.models import Account, BrowserSession, ExternalIdentity
from consent.services.base import flush_unique
from consent.storage.row_lock import read_for_update

#: ``browser_session.auth_method`` of a session opened through an OpenID provider.
OIDC_METHOD = "oidc"


def masked_subject(subject: str) -> str:
    """What pages and the journal show of a provider's ``sub``: an ellipsis and its last four
    characters (FranceConnect's and itsme's subjects identify a person: never shown whole);
    a short subject shows only the ellipsis."""
    return "…" + subject[-4:] if len(subject) >= 12 else "…"


def journal_identity(issuer: str, subject: str) -> dict[str, str | int | bool | None]:
    """The identity as every journal event names it (``account.oidc_linked``,
    ``account.oidc_link_refused``, ``account.oidc_unlinked``): the issuer, the masked subject."""
    return {"issuer": issuer, "subject": masked_subject(subject)}


@dataclass(frozen=True, slots=True)
class SignIn:
    """An identity that signs in: its link and the account it opens."""

    link: ExternalIdentity
    account: Account


@dataclass(frozen=True, slots=True)
class Removal:
    """A removed link and how many live sessions ended with it."""

    link: ExternalIdentity
    sessions_ended: int


async def linked_account(session: AsyncSession, tenant_id: str, issuer: str, subject: str,
                         now: datetime) -> SignIn | None:
    """The link of ``subject`` at ``issuer`` and its enabled account, if any (touches the link).
    ``None`` too if the link is removed meanwhile (the touch is a statement that then changes
    no row, where the ORM's flush of a vanished row would raise)."""
    link = await _link_of(session, tenant_id, issuer, subject)
    if link is None:
        return None
    account = await session.get(Account, link.account_id)
    if account is None or account.disabled:
        return None
    touched = await session.exec(update(ExternalIdentity).where(
        col(ExternalIdentity.id) == link.id).values(last_login_at=now))
    return SignIn(link, account) if touched.rowcount == 1 else None


async def link_identity(session: AsyncSession, account: Account, issuer: str, subject: str,
                        proof: str, now: datetime) -> ExternalIdentity:
    """Link ``subject`` at ``issuer`` to ``account`` (once: the pair is unique per tenant).
    :class:`Conflict` if it is linked already, also when a concurrent request linked it
    between the caller's check and this write (two tabs): the caller's transaction rolls back.
    The first sign-in links in the transaction that creates the household and claims the
    point: a refused or failed claim rolls the link back with the rest
    (proxy/portal/oidc_link.py)."""
    taken = Conflict("This identity is already linked to an account.", field="identity")
    if await _link_of(session, account.tenant_id, issuer, subject) is not None:
        raise taken
    link = ExternalIdentity(tenant_id=account.tenant_id, issuer=issuer[:500],
                            subject=subject[:255], account_id=account.id, proof=proof,
                            created_at=now, last_login_at=now)
    session.add(link)
    await flush_unique(session, taken)
    return link


async def _link_of(session: AsyncSession, tenant_id: str, issuer: str,
                   subject: str) -> ExternalIdentity | None:
    result = await session.exec(select(ExternalIdentity).where(
        ExternalIdentity.tenant_id == tenant_id, ExternalIdentity.issuer == issuer[:500],
        ExternalIdentity.subject == subject[:255]))
    return result.first()


async def identities_of(session: AsyncSession, account_id: str) -> list[ExternalIdentity]:
    """The external identities linked to an account, oldest first."""
    result = await session.exec(select(ExternalIdentity)
                                .where(ExternalIdentity.account_id == account_id)
                                .order_by(col(ExternalIdentity.created_at)))
    return list(result.all())


async def end_identity_sessions(session: AsyncSession, account_id: str, link_id: str,
                                now: datetime) -> int:
    """End the account's live sessions the link ``link_id`` opened; how many. Sessions opened
    through OpenID before revision 0014 recorded no link: they may be this one's, so they end
    too (secure by default; they last twelve hours at most)."""
    opened = col(BrowserSession.external_identity_id)
    result = await session.exec(update(BrowserSession).where(
        col(BrowserSession.account_id) == account_id, col(BrowserSession.revoked_at).is_(None),
        or_(opened == link_id, and_(opened.is_(None),
                                    col(BrowserSession.auth_method) == OIDC_METHOD)),
    ).values(revoked_at=now))
    return int(result.rowcount)


async def remove_identity(session: AsyncSession, account: Account, link_id: str,
                          now: datetime) -> Removal:
    """Remove the link ``link_id`` of ``account``: at once, the identity signs in no more (its
    next sign-in is a first one, through the link flow) and the sessions it opened end
    (:func:`end_identity_sessions`), whichever browser holds them; the account's other sessions
    stay. :class:`NotFound` unless it is one of the account's links (another account's id, or
    one removed meanwhile: the same answer, R24). :class:`Conflict` (``reason="last_way_in"``)
    if the account would keep no way in: no password and no other link (a live reset code does
    not count: the operator holds it, not necessarily the household); the caller's transaction
    then rolls back, nothing changes.

    The account row is locked first (:func:`~consent.storage.row_lock.read_for_update`), so
    two removals of the account's last two links at once cannot both pass the check, and a
    sign-in through the link either committed its session before (it is ended here) or finds
    the link gone (its session's foreign key refuses it)."""
    locked = (await read_for_update(session, select(Account).where(Account.id == account.id))
              ).one()
    link = (await session.exec(select(ExternalIdentity).where(
        ExternalIdentity.id == link_id, ExternalIdentity.account_id == account.id))).first()
    gone = NotFound("No such linked identity.", field="identity")
    if link is None:
        raise gone
    # Before the delete: its ON DELETE SET NULL would hide which sessions the link opened.
    ended = await end_identity_sessions(session, account.id, link.id, now)
    removed = await session.exec(delete(ExternalIdentity).where(
        col(ExternalIdentity.id) == link.id, col(ExternalIdentity.account_id) == account.id))
    if removed.rowcount != 1:  # a concurrent request removed it first
        raise gone
    others = (await session.exec(select(func.count()).select_from(ExternalIdentity).where(
        col(ExternalIdentity.account_id) == account.id))).one()
    if locked.password_hash == NO_PASSWORD and not others:
        raise Conflict("This identity is the account's only way in.", field="identity",
                       reason="last_way_in")
    return Removal(link, ended)
