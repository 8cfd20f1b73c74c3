"""Every decision taken on a household page becomes signed evidence (R16, R18; GDPR art. 7(1)).

The consent and mandate services sign and log each change in the change's own transaction
(:mod:`consent.evidence.lifecycle`); what they cannot know is how the household proved who it
is and what the page showed it. :meth:`DecisionRecorder.recording` adds both to the household's
:class:`~consent.services.Actor` for the block that takes the decision: the session's sign-in
(password, reset code, or OpenID provider, R15) and, for a grant or a renewal, a
:class:`~consent.evidence.records.Notice`: the SHA-256 of the terms the page showed, in the
page's language. A change whose record cannot be made is not made.

The signed record names the person by the account's opaque id, never by its login name or the
provider's subject: signed records are kept for the evidence retention (R16, R17, GDPR art.
17(3)(b), (e)) and can never be edited, so what they hold must stay pseudonymous once the
account's personal data is erased (art. 17, :mod:`consent.services.erasure`). The account id
points at nothing once the account is erased; the provider is named by its issuer URL.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import Any

from sqlmodel import col, select

from consent.evidence.records import Authentication, Notice
from consent.models import Account, BrowserSession, ExternalIdentity
from consent.services import Actor
from consent.storage import Database
from consent.tokens import digest

#: Version of the terms pages whose text is hashed into notices.
NOTICE_VERSION = "portal-terms-1"


def notice(lang: str, terms: Mapping[str, Any]) -> Notice:
    """The notice of what the page showed: ``terms`` (the texts, as displayed) hashed."""
    text = json.dumps({"version": NOTICE_VERSION, "lang": lang, "terms": terms},
                      ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return Notice(NOTICE_VERSION, hashlib.sha256(text.encode()).hexdigest(), lang)


@dataclass(frozen=True, slots=True)
class DecisionRecorder:
    """Says, for the evidence of a page decision, how the household was authenticated."""

    db: Database

    @asynccontextmanager
    async def recording(self, cookie: str, account: Account, actor: Actor,
                        shown: Notice | None = None) -> AsyncIterator[Actor]:
        """The block's actor: ``actor`` with how ``account`` signed in (``cookie`` is the
        browser session's) and what it was shown; the services record what it decides."""
        yield replace(actor, authentication=await self.authentication(cookie, account),
                      notice=shown)

    async def authentication(self, cookie: str, account: Account) -> Authentication:
        """How the signed-in household proved who it is (the session's sign-in, R15): the
        method, the account's opaque id as subject, and for OpenID the provider's issuer."""
        async with self.db.session() as session:
            row = (await session.exec(select(BrowserSession).where(
                BrowserSession.token_hash == digest(cookie)))).first()
            method = row.auth_method if row is not None else "password"
            at = row.created_at if row is not None else account.created_at
            if method == "oidc":
                # The identity the session signed in with; sessions opened before it was
                # recorded (revision 0014) fall back to the account's most recent sign-in.
                link = (await session.get(ExternalIdentity, row.external_identity_id)
                        if row is not None and row.external_identity_id is not None else
                        (await session.exec(select(ExternalIdentity).where(
                            ExternalIdentity.account_id == account.id).order_by(
                            col(ExternalIdentity.last_login_at).desc()))).first())
                if link is not None:
                    # Not link.subject: the provider's identifier of the person (often a
                    # national one) would outlive the account's erasure in the log.
                    return Authentication("oidc", account.id, at, provider=link.issuer)
        return Authentication(method, account.id, at)
