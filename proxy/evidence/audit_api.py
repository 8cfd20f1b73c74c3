"""The audit API (``/audit/v1``): what an auditor reads, proves and exports (issue 6, R18, R19).

Authentication: ``Authorization: Bearer pas_aud_...``, a token minted for an account holding the
``auditor`` role by ``passerelle auditor-token create --account <username> [--all-tenants]``
(only its SHA-256 is stored, :mod:`consent.auditors`). Any other credential is refused: no
token, an unknown, expired or revoked auditor token, or a string that is no Passerelle
credential at all: 401 ``invalid_token`` with a ``WWW-Authenticate: Bearer`` challenge (RFC
6750 §3); a credential of another kind, told by its prefix (an admin, staff or app token):
403. Every error of this API, these included, is an RFC 9457 problem
(``application/problem+json``) whose ``type`` ends in its code (:func:`audit_errors`).

Read-only and scoped: an auditor of one tenant sees that tenant's log entries only (and
nothing tells it whether another tenant's entry exists: 404); a regulator's token
(``--all-tenants``) sees every tenant. Checkpoints, consistency proofs and public keys describe
the whole log and are shown to every auditor: they reveal sizes and hashes, no content. No
endpoint ever returns a private key, a keyring secret or a token.

============================================  ===================================================
``GET  /audit/v1/checkpoints/latest``         the latest signed checkpoint (C2SP note)
``POST /audit/v1/checkpoints``                sign a checkpoint of the current head now
``GET  /audit/v1/keys``                       the public key history (keys.json form)
``GET  /audit/v1/entries``                    entries in scope: ``consent_id``, ``household_id``,
                                              ``recipient_id``, ``kind``, ``after``, ``limit``
``GET  /audit/v1/proofs/inclusion``           ``index``, ``size``: RFC 9162 audit path
``GET  /audit/v1/proofs/consistency``         ``first``, ``second``: RFC 9162 consistency proof
``POST /audit/v1/exports``                    a proof bundle (zip) of a consent, household,
                                              recipient and/or period; logged. Optionally
                                              with the stored checkpoints of kept sizes
============================================  ===================================================

Reading entries is logged too (an ``admin`` entry ``audit.entries`` with the query): what an
auditor looked at is itself evidence.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from aiohttp import web
from sqlalchemy import and_, func, select

from consent.auditors import AUDITOR_PREFIX, Auditor, find_auditor
from consent.errors import DomainError, NotFound, NotPermitted
from consent.evidence.bundle import selected
from consent.evidence.bundle_checkpoints import checked_sizes
from consent.evidence.canonical import b64encode, format_instant
from consent.evidence.checkpoints import SignedCheckpoint
from consent.evidence.events import ACCESS, CONSENT_RECORD, MANDATE_RECORD, AdminEvent, Refs
from consent.evidence.log_reader import ENTRY
from consent.evidence.selection import Selection
from consent.numbers import whole_in
from consent.periods import instant_from_text
from consent.staff import STAFF_PREFIX
from consent.tokens import (
    ACCESS_PREFIX,
    ADMIN_PREFIX,
    INITIAL_ACCESS_PREFIX,
    REFRESH_PREFIX,
    SESSION_PREFIX,
)
from proxy.auth import bearer_value
from proxy.errors import InvalidToken
from proxy.evidence.bundles import bundle_response
from proxy.keys import auditor_key, clock_key, database_key, evidence_key
from proxy.middlewares import bearer_problems
from proxy.oauth.registry import json_body
from proxy.paging import MAX_CURSOR, page_of

_FILTERS = ("consent_id", "household_id", "recipient_id")
#: Prefixes of Passerelle's other bearer credentials: valid or not, not for this API (403).
_OTHER_CREDENTIALS = (ACCESS_PREFIX, REFRESH_PREFIX, ADMIN_PREFIX, STAFF_PREFIX,
                      SESSION_PREFIX, INITIAL_ACCESS_PREFIX)

#: Every audit handler is wrapped so: bearer errors as problem+json, with their challenge.
audit_errors = bearer_problems


async def require_auditor(request: web.Request) -> Auditor:
    """The auditor behind the request's bearer token (module docstring for the refusals)."""
    raw = bearer_value(request)
    async with request.app[database_key].session() as session:
        auditor = await find_auditor(session, raw, request.app[clock_key].now())
    if auditor is None:
        if raw.startswith(_OTHER_CREDENTIALS):
            raise NotPermitted("The audit API is for auditors' tokens only.")
        if raw.startswith(AUDITOR_PREFIX):
            raise InvalidToken("This auditor token is unknown, expired or revoked.")
        raise InvalidToken("This is not a Passerelle credential; the audit API takes "
                           "auditors' tokens.")
    request[auditor_key] = auditor
    return auditor


def _int(request: web.Request, name: str, *, default: int | None = None,
         minimum: int = 0, maximum: int = MAX_CURSOR) -> int:
    text = request.query.get(name)
    if text is None:
        if default is None:
            raise DomainError(f"The query parameter {name} is required.", field=name)
        return default
    return whole_in(text, name, low=minimum, high=maximum)


def _checkpoint_json(checkpoint: SignedCheckpoint) -> dict[str, Any]:
    return {"origin": checkpoint.checkpoint.origin, "size": checkpoint.size,
            "root": b64encode(checkpoint.checkpoint.root),
            "issued_at": format_instant(checkpoint.issued_at), "kid": checkpoint.kid,
            "note": checkpoint.note}


async def latest_checkpoint(request: web.Request) -> web.Response:
    """``GET /audit/v1/checkpoints/latest``."""
    await require_auditor(request)
    evidence = request.app[evidence_key]
    latest = await evidence.checkpoints.latest() or await evidence.checkpoint()
    return web.json_response(_checkpoint_json(latest))


async def issue_checkpoint(request: web.Request) -> web.Response:
    """``POST /audit/v1/checkpoints``: a checkpoint of the head as it is now."""
    await require_auditor(request)
    return web.json_response(_checkpoint_json(await request.app[evidence_key].checkpoint()),
                             status=201)


async def keys(request: web.Request) -> web.Response:
    """``GET /audit/v1/keys``: every public signing key, with its validity period."""
    await require_auditor(request)
    evidence = request.app[evidence_key]
    origin = await evidence.origin()
    history = await evidence.keys.history()
    return web.json_response({"origin": origin,
                              "keys": [key.to_json(origin) for key in history.keys]})


def _tenant(auditor: Auditor, asked: str | None) -> str | None:
    """The tenant a query is confined to; asking for another one than one's own is a 404."""
    if auditor.tenant_scope is None:
        return asked
    if asked is not None and asked != auditor.tenant_scope:
        raise NotFound("No such tenant in your scope.", field="tenant")
    return auditor.tenant_scope


async def entries(request: web.Request) -> web.Response:
    """``GET /audit/v1/entries``: a page of entries in scope, in index order."""
    auditor = await require_auditor(request)
    evidence = request.app[evidence_key]
    tenant = _tenant(auditor, request.query.get("tenant"))
    page = page_of(request.query, before_first=-1)
    conditions = [ENTRY.c.idx > page.after]
    if tenant is not None:
        conditions.append(ENTRY.c.tenant == tenant)
    query = {name: request.query[name] for name in (*_FILTERS, "kind") if name in request.query}
    conditions += [getattr(ENTRY.c, "kind" if name == "kind" else name) == value
                   for name, value in query.items()]
    async with evidence.log.db.engine.connect() as conn:
        rows = (await conn.execute(
            select(ENTRY.c.idx, ENTRY.c.leaf, ENTRY.c.payload, ENTRY.c.pruned_at,
                   ENTRY.c.prune_reason).where(and_(*conditions))
            .order_by(ENTRY.c.idx).limit(page.limit))).all()
    size, _root = await evidence.log.head()
    await _log_read(request, auditor, "audit.entries", tenant, query)
    return web.json_response({
        "tree_size": size,
        "entries": [{"index": row.idx, "leaf": row.leaf,
                     "payload": None if row.payload is None else json.loads(row.payload),
                     "pruned": None if row.pruned_at is None else
                     {"at": row.pruned_at, "reason": row.prune_reason}} for row in rows],
        "next": page.next([row.idx for row in rows])})


async def _log_read(request: web.Request, auditor: Auditor, action: str, tenant: str | None,
                    details: dict[str, Any]) -> None:
    refs = Refs(tenant, details.get("consent_id"), details.get("household_id"),
                details.get("recipient_id"))
    await request.app[evidence_key].admin(AdminEvent(
        at=request.app[clock_key].now(), actor=auditor.actor, action=action, refs=refs,
        details={k: str(v) for k, v in details.items()}))


async def _visible(request: web.Request, auditor: Auditor, index: int) -> None:
    """404 unless entry ``index`` exists and its tenant is in the auditor's scope."""
    async with request.app[evidence_key].log.db.engine.connect() as conn:
        row = (await conn.execute(select(ENTRY.c.tenant).where(ENTRY.c.idx == index))).first()
    if row is None or not auditor.sees(row.tenant):
        raise NotFound(f"No entry {index} in your scope.", field="index")


async def _checked_size(request: web.Request, name: str, *, minimum: int = 0) -> int:
    size = _int(request, name, minimum=minimum)
    current, _root = await request.app[evidence_key].log.head()
    if size > current:
        raise DomainError(f"The log has {current} entries; {name}={size} is beyond it.",
                          field=name)
    return size


async def inclusion_proof(request: web.Request) -> web.Response:
    """``GET /audit/v1/proofs/inclusion?index=&size=``: the audit path of one entry."""
    auditor = await require_auditor(request)
    index = _int(request, "index")
    size = await _checked_size(request, "size", minimum=1)
    if index >= size:
        raise DomainError("index must be smaller than size.", field="index")
    await _visible(request, auditor, index)
    log = request.app[evidence_key].log
    proof = await log.inclusion_proof(index, size)
    async with log.db.engine.connect() as conn:
        leaf_hash = (await conn.execute(select(ENTRY.c.leaf_hash)
                                        .where(ENTRY.c.idx == index))).scalar_one()
    return web.json_response({"index": index, "size": size,
                              "leaf_hash": b64encode(bytes(leaf_hash)),
                              "proof": [b64encode(h) for h in proof]})


async def consistency_proof(request: web.Request) -> web.Response:
    """``GET /audit/v1/proofs/consistency?first=&second=``."""
    await require_auditor(request)
    second = await _checked_size(request, "second")
    first = _int(request, "first")
    if first > second:
        raise DomainError("first must not exceed second.", field="first")
    proof = await request.app[evidence_key].log.consistency_proof(first, second)
    return web.json_response({"first": first, "second": second,
                              "proof": [b64encode(h) for h in proof]})


def _instant(body: dict[str, Any], name: str) -> datetime | None:
    value = body.get(name)
    return None if value is None else instant_from_text(value, name)


def _selection(auditor: Auditor, body: dict[str, Any]) -> Selection:
    for name in (*_FILTERS, "tenant"):
        if body.get(name) is not None and not isinstance(body[name], str):
            raise DomainError(f"{name} must be a string.", field=name)
    return Selection(_tenant(auditor, body.get("tenant")), body.get("consent_id"),
                     body.get("household_id"), body.get("recipient_id"),
                     _instant(body, "from"), _instant(body, "to"))


def _checkpoint_sizes(body: dict[str, Any]) -> tuple[int, ...]:
    """``checkpoint_sizes``: an array of tree sizes (400 if it is anything else, or too long)."""
    sizes = body.get("checkpoint_sizes", [])
    if not isinstance(sizes, list):
        raise DomainError("checkpoint_sizes must be an array of tree sizes.",
                          field="checkpoint_sizes")
    return checked_sizes(sizes)


async def export(request: web.Request) -> web.Response:
    """``POST /audit/v1/exports`` (JSON ``{consent_id?, household_id?, recipient_id?, from?,
    to?, tenant?, include_documents?, checkpoint_sizes?}``): the proof bundle, streamed as a
    zip. ``checkpoint_sizes`` (at most 64) adds the stored checkpoints of those tree sizes, the
    anchors the auditor kept (docs/evidence-format.md §11): 409 ``missing-checkpoint`` if one
    is not held or is beyond the head."""
    auditor = await require_auditor(request)
    body = await json_body(request)
    selection = _selection(auditor, body)
    sizes = _checkpoint_sizes(body)
    if any(getattr(selection, name) for name in _FILTERS):
        # Evidence about the subject itself: the log also holds auditors' own queries, which
        # may name a consent of another tenant (an outsider asking about it leaves that trace).
        about_it = ENTRY.c.kind.in_((ACCESS, CONSENT_RECORD, MANDATE_RECORD))
        async with request.app[evidence_key].log.db.engine.connect() as conn:
            found = (await conn.execute(select(func.count()).select_from(
                select(ENTRY.c.idx).where(selected(selection), about_it).limit(1).subquery()
            ))).scalar_one()
        if not found:  # nothing, or nothing in this auditor's scope: the same answer
            raise NotFound("No evidence matches this selection in your scope.")
    return await bundle_response(request, selection, actor=auditor.actor,
                                 filename="passerelle-evidence.zip",
                                 include_documents=body.get("include_documents") is not False,
                                 checkpoint_sizes=sizes)
