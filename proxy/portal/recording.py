"""Every decision taken on a household page becomes signed evidence (R16, R18; GDPR art. 7(1)).

The consent and mandate services sign and log each change in the change's own transaction
(:mod:`consent.evidence.lifecycle`); what they cannot know is how the household proved who it
is and what the page showed it. :meth:`DecisionRecorder.recording` adds both to the household's
:class:`~consent.services.Actor` for the block that takes the decision: the session's sign-in
(password, reset code, or OpenID provider and subject, R15) and, for a grant or a renewal, a
:class:`~consent.evidence.records.Notice`: the SHA-256 of the terms the page showed, in the
page's language. A change whose record cannot be made is not made.
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
        """How the signed-in household proved who it is (the session's sign-in, R15)."""
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
                    return Authentication("oidc", link.subject, at, provider=link.issuer)
        return Authentication(method, account.username, at)
