"""Who a household may name as its mandatary, and how the portal names them (R10, R11).

A household names an organisation from the list (social services, a collective
self-consumption organiser, a supplier: :data:`ORGANISATION_KINDS`, public names), or a person
by the username of their account. Who may be named so is a relative or neighbour: an account
of this tenant, not disabled, whose party is a person or a household that belongs to no
organisation, and that holds no staff role. Staff (operator admins, reviewers, support,
auditors) are no one's mandataries, and a person who works for an organisation (a CPAS's social
worker, ``Party.member_of_id``) acts under *the organisation's* mandates, which the household
gives by choosing the organisation (R11: social services hold the standing mandates, through
their own path, ``docs/market-rules.md``). The household itself is not its own mandatary.

**No oracle on usernames.** The form must not tell which usernames exist, nor whose they are:

* a username that names no one eligible gets the same answer as one that does
  (:func:`find_person` returns ``None`` and the form answers as for a mandate made: the same
  redirect, the same message, naming what the household typed), never a field error;
* a person is shown to the household by the username it typed (:func:`labels`), never by
  the name of the party behind it: the household named an account, and learning the real name
  (a neighbour's, a staff member's) is not what giving a mandate is for. Organisations keep
  their public names;
* lookups are throttled per household account (:func:`person_throttle`: at most
  :data:`PERSON_LOOKUPS` in :data:`PERSON_WINDOW`, each counted before the lookup, shared by
  replicas on PostgreSQL), so that the one remaining signal (whether a mandate appears in the
  household's own list) cannot be asked for in bulk.
"""

from __future__ import annotations

from datetime import timedelta

from aiohttp import web
from sqlmodel import col, select

from consent.clock import Clock
from consent.models import Account, AccountRole, Party, PartyKind
from consent.shared_state import AttemptCounter, attempt_counter
from consent.storage import Database
from proxy.keys import database_key
from proxy.portal.pages import Household

ORGANISATION_KINDS = (PartyKind.SOCIAL_SERVICES, PartyKind.MANDATARY_ORGANISATION,
                      PartyKind.RECIPIENT)
#: Roles of the operator's staff: never a household's mandatary.
STAFF_ROLES = frozenset({AccountRole.OPERATOR_ADMIN, AccountRole.REVIEWER, AccountRole.SUPPORT,
                         AccountRole.AUDITOR})
PERSON_LOOKUPS = 10
PERSON_WINDOW = timedelta(hours=1)


def person_throttle(db: Database, clock: Clock) -> AttemptCounter:
    """The mandate form's person lookups per household account (module docstring)."""
    return attempt_counter(db, "mandate-person", PERSON_LOOKUPS, PERSON_WINDOW, clock)


async def organisations(request: web.Request, household: Household) -> list[Party]:
    """The organisations a household may choose, by name."""
    async with request.app[database_key].session() as session:
        return list((await session.exec(select(Party).where(
            Party.tenant_id == household.tenant_id,
            col(Party.kind).in_(ORGANISATION_KINDS)).order_by(col(Party.name)))).all())


async def find_person(request: web.Request, household: Household, username: str) -> Party | None:
    """The party of the eligible account ``username`` (module docstring), or ``None`` for no
    one, someone ineligible or the household itself alike."""
    async with request.app[database_key].session() as session:
        account = (await session.exec(select(Account).where(
            Account.tenant_id == household.tenant_id, Account.username == username))).first()
        if account is None or account.disabled or any(account.has_role(r) for r in STAFF_ROLES):
            return None
        party = await session.get(Party, account.party_id)
    if (party is None or party.id == household.party_id or party.member_of_id is not None
            or party.kind not in (PartyKind.PERSON, PartyKind.HOUSEHOLD)):
        return None
    return party


async def labels(request: web.Request, party_ids: set[str]) -> dict[str, str]:
    """How the household's pages name each mandatary: an organisation by its name, a person
    by their account's username (what the household typed), never by their name."""
    async with request.app[database_key].session() as session:
        parties = (await session.exec(select(Party).where(col(Party.id).in_(party_ids)))).all()
        accounts = (await session.exec(select(Account).where(
            col(Account.party_id).in_(party_ids)).order_by(col(Account.created_at)))).all()
    usernames: dict[str, str] = {}
    for account in accounts:
        usernames.setdefault(account.party_id, account.username)
    return {p.id: p.name if p.kind in ORGANISATION_KINDS else usernames.get(p.id, "—")
            for p in parties}
