"""``passerelle clients ...`` and ``passerelle admin-token ...``: the operator's registry
commands (the same rules as the admin API, see :mod:`proxy.oauth.registry`).

``clients create`` prints the client_id and the client_secret once: only the secret's hash
is stored; the registration is traced in the evidence log. A supplier is registered with its
code (``--supplier-code``, R13): the supply contracts the DSO reports are matched on it. The
admin API's tokens are :mod:`proxy.oauth.admin_token_cli`.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
from collections.abc import Callable
from urllib.parse import urlsplit

from consent.clock import SystemClock
from consent.errors import PasserelleError
from consent.evidence.events import AdminEvent, Refs
from consent.evidence.log import EvidenceLog
from consent.evidence.service import origin_for
from consent.models import DEFAULT_TENANT
from consent.purposes import DataRole, LegalBasis, Purpose
from consent.services.registry import RecipientDraft, register_recipient
from consent.storage import Database
from consent.vocabulary import Dataset
from proxy.oauth.admin_token_cli import add_admin_token_commands
from proxy.oauth.registry import created_details
from proxy.settings import Settings


def _clients_create(args: argparse.Namespace, settings: Settings) -> int:
    website = args.website or _origin(args.redirect_uri[0])
    draft = RecipientDraft(
        name=args.name, website=website, contact_email=args.contact or "",
        purposes=args.purpose or [Purpose.ENERGY_MONITORING.value],
        legal_basis=args.legal_basis, data_role=args.role,
        allowed_datasets=args.dataset or [Dataset.DAILY_CONSUMPTION.value],
        redirect_uris=args.redirect_uri, is_supplier=args.supplier or bool(args.supplier_code),
        supplier_code=args.supplier_code, logo_url=args.logo)

    async def run() -> tuple[str, str]:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        db = Database.from_url(settings.resolved_database_url)
        try:
            await db.migrate()
            async with db.session() as session:
                now = SystemClock().now()
                recipient, secret = await register_recipient(
                    session, draft, tenant_id=DEFAULT_TENANT, now=now)
                # Traced in the same transaction (no signing key needed for an admin entry).
                log = EvidenceLog(db, origin=origin_for(settings.issuer))
                await log.append_in(await session.connection(), [AdminEvent(
                    at=now, actor=f"cli:{getpass.getuser()}", action="recipient.create",
                    refs=Refs(DEFAULT_TENANT, recipient_id=recipient.id),
                    target=recipient.client_id, details=created_details(recipient),
                ).to_log_event()])
            return recipient.client_id, secret
        finally:
            await db.dispose()

    try:
        client_id, secret = asyncio.run(run())
    except PasserelleError as error:
        print(f"error: {error.detail}")
        return 2
    if args.json:
        print(json.dumps({"client_id": client_id, "client_secret": secret}))
    else:
        print(f"client_id:     {client_id}\nclient_secret: {secret}\n"
              "(the secret is shown this once; only its hash is kept)")
    return 0


def _origin(uri: str) -> str:
    parts = urlsplit(uri)
    return f"{parts.scheme}://{parts.netloc}"


def add_oauth_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser],
                       parent: argparse.ArgumentParser,
                       settings_from: Callable[[argparse.Namespace], Settings]) -> None:
    """Register ``clients create`` and the ``admin-token`` commands."""
    def bind(func: Callable[[argparse.Namespace, Settings], int]
             ) -> Callable[[argparse.Namespace], int]:
        return lambda args: func(args, settings_from(args))

    clients = sub.add_parser("clients", help="the recipient registry (OAuth clients)")
    clients_sub = clients.add_subparsers(dest="clients_command", required=True)
    create = clients_sub.add_parser("create", parents=[parent],
                                    help="register a recipient app; prints its credentials")
    create.add_argument("--name", required=True)
    create.add_argument("--redirect-uri", action="append", required=True,
                        help="exact redirect URI (repeat for several); https, or http on "
                             "a loopback address")
    create.add_argument("--purpose", action="append", choices=[p.value for p in Purpose],
                        help="declared purpose (repeat; default energy_monitoring)")
    create.add_argument("--dataset", action="append", choices=[d.value for d in Dataset],
                        help="dataset it may ever ask for (repeat; default daily_consumption)")
    create.add_argument("--legal-basis", default=LegalBasis.CONSENT.value,
                        choices=[b.value for b in LegalBasis])
    create.add_argument("--role", default=DataRole.CONTROLLER.value,
                        choices=[r.value for r in DataRole], help="GDPR role (R5)")
    create.add_argument("--website", help="default: the first redirect URI's origin")
    create.add_argument("--contact", help="contact e-mail of the recipient's DPO")
    create.add_argument("--logo", help="https URL of its logo")
    create.add_argument("--supplier", action="store_true",
                        help="an energy supplier (R13); needs --supplier-code")
    create.add_argument("--supplier-code", metavar="CODE",
                        help="the supplier's code as DSOs report it: a GLN (13 digits) or the "
                             "DSO's code; unique in the tenant; implies --supplier (R13)")
    create.add_argument("--json", action="store_true", help="machine-readable output")
    create.set_defaults(func=bind(_clients_create))

    add_admin_token_commands(sub, parent, bind)
