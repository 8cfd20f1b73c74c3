"""``passerelle accounts reset-code USERNAME``: the operator's side of the password reset (R7).

The operator checks the person's identity as usual (at the counter, on the phone), runs this
command and hands the printed code over; the household then sets a new password at
``/account/reset`` with that code and the number printed on one of its meters (see
:mod:`consent.identity`). The code is shown once; only its SHA-256 is kept, with who issued it.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from collections.abc import Callable

from consent.clock import SystemClock
from consent.identity import RESET_CODE_TTL, issue_reset_code
from consent.logins import find_account
from consent.models import AccountRole
from consent.storage import Database
from proxy.settings import Settings


def _reset_code(args: argparse.Namespace, settings: Settings) -> int:
    async def run() -> str | None:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database.from_url(settings.resolved_database_url)
        try:
            await db.migrate()
            async with db.session() as session:
                account = await find_account(session, args.username)
                if account is None or not account.has_role(AccountRole.HOUSEHOLD):
                    return None
                return await issue_reset_code(session, account, SystemClock().now(),
                                              issued_by=f"cli:{args.operator}")
        finally:
            await db.dispose()

    code = asyncio.run(run())
    if code is None:
        print(f"error: no household account named {args.username!r}")
        return 2
    hours = int(RESET_CODE_TTL.total_seconds() // 3600)
    if args.json:
        print(json.dumps({"username": args.username, "code": code, "valid_hours": hours}))
    else:
        print(f"reset code for {args.username}: {code}\nvalid {hours} hours, once; the "
              "household also needs the number printed on one of its meters.")
    return 0


def add_account_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                         parent: argparse.ArgumentParser,
                         settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``passerelle accounts ...``."""
    accounts = sub.add_parser("accounts", help="household accounts (password reset codes)")
    accounts_sub = accounts.add_subparsers(dest="accounts_command", required=True)
    p = accounts_sub.add_parser("reset-code", parents=[parent],
                                help="issue a one-time password reset code (R7: no mailbox)")
    p.add_argument("username")
    p.add_argument("--operator", default=getpass.getuser(),
                   help="who hands the code over (recorded with it)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=lambda args: _reset_code(args, settings_from(args)))
