"""``passerelle staff ...``: bootstrap staff accounts and mint staff API tokens (R19, R24).

These commands need shell access to the instance (its data directory or database URL): they
are how the platform operator gives a tenant its first operator admins and auditors, and how
a staff member obtains a token for the staff API. ``account`` prints a generated password once
(only its argon2id hash is kept); ``token`` prints a ``pas_stf_...`` token once (only its
SHA-256 is kept), valid 12 hours at most.

Issuing a staff token is a privileged act (R16, R19), recorded like ``passerelle admin-token``'s:
a ``staff_action`` journal row of the account's tenant and an ``admin`` event in the evidence
log (:func:`proxy.staff.records.record_in`), action ``staff-token.create``, actor
``cli:<user>``, target ``staff-token:<id>`` (the row's random id), naming the account, its roles
and the expiry; both in the transaction that stores the token, so a token never exists without
its record. Neither the token nor its digest is recorded or logged: the token is printed once
on stdout, what it is on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import secrets
import sys
from collections.abc import Awaitable, Callable
from typing import TypeVar

from consent.clock import SystemClock
from consent.errors import NotFound, PasserelleError
from consent.journal import DONE, JournalEntry
from consent.logins import find_account
from consent.models import (
    DEFAULT_TENANT,
    Account,
    AccountRole,
    Party,
    PartyKind,
    StaffToken,
    Tenant,
)
from consent.services import registry
from consent.staff import mint_token
from consent.storage import Database
from proxy.settings import Settings
from proxy.staff.records import record_in

_STAFF_ROLES = [r.value for r in AccountRole if r is not AccountRole.HOUSEHOLD]


T = TypeVar("T")


async def _with_db(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(settings.resolved_database_url)
    try:
        await db.migrate()
        return await work(db)
    finally:
        await db.dispose()


def _account(args: argparse.Namespace, settings: Settings) -> int:
    password = secrets.token_urlsafe(18)

    async def work(db: Database) -> str:
        now = SystemClock().now()
        async with db.session() as session:
            # Checked here: the foreign keys would refuse them too, as a traceback.
            if await session.get(Tenant, args.tenant) is None:
                raise NotFound(f"No tenant {args.tenant!r}.")
            if args.member_of is not None:
                member_of = await session.get(Party, args.member_of)
                if member_of is None or member_of.tenant_id != args.tenant:
                    raise NotFound(f"No organisation {args.member_of!r} in tenant "
                                   f"{args.tenant!r}.")
            organisation = None
            if args.organisation:
                organisation = (await registry.add_party(
                    session, tenant_id=args.tenant, kind=PartyKind(args.organisation_kind),
                    name=args.organisation, now=now)).id
            person = await registry.add_party(session, tenant_id=args.tenant,
                                              kind=PartyKind.PERSON, name=args.name, now=now,
                                              member_of_id=organisation or args.member_of)
            account = await registry.add_account(session, tenant_id=args.tenant,
                                                 username=args.username, password=password,
                                                 party_id=person.id, roles=args.role, now=now)
            return account.id

    try:
        account_id = asyncio.run(_with_db(settings, work))
    except PasserelleError as error:
        print(f"error: {error.detail}")
        return 2
    out = {"account_id": account_id, "username": args.username, "password": password,
           "tenant": args.tenant}
    print(json.dumps(out) if args.json else
          f"account {args.username} ({', '.join(args.role)}) in tenant {args.tenant}\n"
          f"password: {password}\n(shown this once; only its hash is kept)")
    return 0


def _token(args: argparse.Namespace, settings: Settings) -> int:
    async def work(db: Database) -> tuple[str, StaffToken, Account]:
        now = SystemClock().now()
        async with db.session() as session:
            account = await find_account(session, args.username, args.tenant)
            if account is None or account.disabled:
                raise NotFound(f"No enabled account {args.username!r} in tenant "
                               f"{args.tenant!r}.")
            raw, row = await mint_token(session, account, now)
            roles = ",".join(sorted(account.roles))
            await record_in(session, db, settings.issuer, JournalEntry(
                tenant_id=account.tenant_id, at=now, action="staff-token.create",
                outcome=DONE, target=f"staff-token:{row.id}",
                detail=f"for {account.username} ({roles}) by {args.actor}",
                details={"actor": args.actor, "token_id": row.id, "account_id": account.id,
                         "username": account.username, "granted_roles": roles,
                         "expires_at": row.expires_at.isoformat()}), args.actor)
            return raw, row, account

    try:
        token, row, account = asyncio.run(_with_db(settings, work))
    except PasserelleError as error:
        print(f"error: {error.detail}")
        return 2
    print(json.dumps({"staff_token": token, "id": row.id,
                      "expires_at": row.expires_at.isoformat()}) if args.json else token)
    sys.stderr.write(f"staff token {row.id} for {account.username} in tenant "
                     f"{account.tenant_id}, valid until {row.expires_at.isoformat()} (shown "
                     "this once; only its hash is kept)\n")
    return 0


def add_staff_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       parent: argparse.ArgumentParser,
                       settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``staff account`` and ``staff token``."""
    def bind(func: Callable[[argparse.Namespace, Settings], int],
             ) -> Callable[[argparse.Namespace], int]:
        return lambda args: func(args, settings_from(args))

    staff = sub.add_parser("staff", help="staff accounts and staff API tokens")
    staff_sub = staff.add_subparsers(dest="staff_command", required=True)
    account = staff_sub.add_parser("account", parents=[parent],
                                   help="create a staff account; prints its password once")
    account.add_argument("--tenant", default=DEFAULT_TENANT)
    account.add_argument("--username", required=True)
    account.add_argument("--name", required=True, help="the person's name")
    account.add_argument("--role", action="append", required=True, choices=_STAFF_ROLES)
    account.add_argument("--member-of", help="id of the organisation party it works for")
    account.add_argument("--organisation", help="create its organisation with this name")
    account.add_argument("--organisation-kind", default=PartyKind.OPERATOR.value,
                         choices=[k.value for k in PartyKind])
    account.add_argument("--json", action="store_true")
    account.set_defaults(func=bind(_account))
    token = staff_sub.add_parser("token", parents=[parent],
                                 help="print a staff API token for an account (shown once)")
    token.add_argument("--tenant", default=DEFAULT_TENANT)
    token.add_argument("--username", required=True)
    token.add_argument("--actor", default=f"cli:{getpass.getuser()}",
                       help="who issues it, as recorded")
    token.add_argument("--json", action="store_true")
    token.set_defaults(func=bind(_token))
