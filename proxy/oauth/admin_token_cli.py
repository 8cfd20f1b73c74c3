"""``passerelle admin-token create|revoke|list``: the admin API's tokens (file format in
:mod:`proxy.oauth.admin_tokens`).

Minting and retiring a token are privileged acts (R16, R19), recorded like the staff's: a
``staff_action`` journal row of the token's tenant and an ``admin`` event in the evidence log,
actor ``cli:<user>``, target ``admin-token:<id>``. Both are written in the transaction that
changes the file, the file last: if recording fails the file is untouched, and if the commit
fails the file change is undone, so no token is ever valid without its record. Neither the
token nor its digest is ever recorded or logged: the id is random. ``create`` prints the token
once on stdout (its id on stderr); ``list`` prints ids and tenants, never digests.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
from collections.abc import Callable, Coroutine
from typing import Any

from consent.clock import SystemClock
from consent.errors import NotFound, PasserelleError
from consent.journal import DONE, JournalEntry
from consent.models import DEFAULT_TENANT, Tenant
from consent.storage import Database
from consent.tokens import ADMIN_PREFIX, digest, new_secret
from proxy.oauth.admin_tokens import (
    AdminToken,
    append_token,
    new_token_id,
    read_tokens,
    remove_token,
)
from proxy.settings import Settings
from proxy.staff.records import record_in


async def record_token_change(settings: Settings, token: AdminToken, action: str, actor: str,
                              change: Callable[[], object], undo: Callable[[], object]) -> None:
    """Journal and log ``action`` on ``token``, then ``change`` the file, in one transaction
    (``undo`` if the commit fails). :class:`NotFound` for a tenant that does not exist."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    db = Database.from_url(settings.resolved_database_url)
    changed = False
    try:
        await db.migrate()
        async with db.session() as session:
            if await session.get(Tenant, token.tenant) is None:
                raise NotFound(f"No tenant {token.tenant!r}.", field="tenant")
            await record_in(session, db, settings.issuer, JournalEntry(
                tenant_id=token.tenant, at=SystemClock().now(), action=action, outcome=DONE,
                target=f"admin-token:{token.id}", detail=f"by {actor}",
                details={"actor": actor, "token_id": token.id}), actor)
            change()
            changed = True
    except BaseException:
        if changed:
            undo()
        raise
    finally:
        await db.dispose()


def _run(work: Callable[[], Coroutine[Any, Any, None]], command: str) -> int:
    try:
        asyncio.run(work())
    except PasserelleError as error:
        sys.stderr.write(f"passerelle admin-token {command}: {error.detail}\n")
        return 2
    return 0


def _create(args: argparse.Namespace, settings: Settings) -> int:
    raw = new_secret(ADMIN_PREFIX)
    token = AdminToken(digest(raw), args.tenant, new_token_id())
    status = _run(lambda: record_token_change(
        settings, token, "admin-token.create", args.actor,
        change=lambda: append_token(settings, token),
        undo=lambda: remove_token(settings, token.id)), "create")
    if status:
        return status
    print(json.dumps({"admin_token": raw, "id": token.id, "tenant": token.tenant}) if args.json
          else raw)
    sys.stderr.write(f"admin token {token.id} for tenant {token.tenant} (shown this once; only "
                     "its hash is kept)\n")
    return 0


def _revoke(args: argparse.Namespace, settings: Settings) -> int:
    token = next((t for t in read_tokens(settings) if t.id == args.id), None)
    if token is None:
        sys.stderr.write(f"passerelle admin-token revoke: no admin token {args.id!r}\n")
        return 2
    status = _run(lambda: record_token_change(
        settings, token, "admin-token.revoke", args.actor,
        change=lambda: remove_token(settings, token.id),
        undo=lambda: append_token(settings, token)), "revoke")
    if status == 0:
        print(f"admin token {token.id} revoked")
    return status


def _list(args: argparse.Namespace, settings: Settings) -> int:
    tokens = [{"id": t.id, "tenant": t.tenant} for t in read_tokens(settings)]
    print(json.dumps(tokens) if args.json else
          "\n".join(f"{t['id']}  {t['tenant']}" for t in tokens) or "(no admin token)")
    return 0


Command = Callable[[argparse.Namespace, Settings], int]


def add_admin_token_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                             parent: argparse.ArgumentParser,
                             bind: Callable[[Command], Callable[[argparse.Namespace], int]],
                             ) -> None:
    """Register ``admin-token create``, ``revoke`` and ``list`` (``bind`` gives a command the
    settings of its options, as for every other command)."""
    operator = f"cli:{getpass.getuser()}"
    admin = sub.add_parser("admin-token", help="tokens of the admin API")
    admin_sub = admin.add_subparsers(dest="admin_command", required=True)
    mint = admin_sub.add_parser("create", parents=[parent],
                                help="print a new admin API token (shown once)")
    mint.add_argument("--tenant", default=DEFAULT_TENANT,
                      help="the tenant whose recipients it manages (R24)")
    mint.add_argument("--actor", default=operator, help="who mints it, as recorded")
    mint.add_argument("--json", action="store_true")
    mint.set_defaults(func=bind(_create))
    revoke = admin_sub.add_parser("revoke", parents=[parent],
                                  help="retire an admin API token by its id")
    revoke.add_argument("id", help="the token's id (admin-token list)")
    revoke.add_argument("--actor", default=operator, help="who retires it, as recorded")
    revoke.set_defaults(func=bind(_revoke))
    listing = admin_sub.add_parser("list", parents=[parent],
                                   help="the valid admin tokens' ids and tenants")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=bind(_list))
