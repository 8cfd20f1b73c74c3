"""The recipient registry over HTTP: the public register (R21) and the operator's admin API.

Public, no authentication: ``GET /register`` (HTML, French or English) and
``GET /register.json`` list the active recipients with their purposes, legal basis, GDPR role
and data categories (R5, R21); never a secret, never a redirect URI.

Admin API, for the operator: ``Authorization: Bearer pas_adm_...`` with a token minted by
``passerelle admin-token create [--tenant T]`` (only its SHA-256 is kept, in ``admin-tokens`` in
the data directory, with its tenant and id: :mod:`proxy.oauth.admin_tokens`; several may be
valid, ``passerelle admin-token revoke ID`` retires one; containers read the same lines from
the ``PASSERELLE_ADMIN_TOKENS`` secret). A token sees and changes only its tenant's recipients
(R24); another tenant's client id is not found. The public register
lists one tenant's recipients (``?tenant=``, default the default tenant).

* ``GET /admin/recipients``, ``GET /admin/recipients/{client_id}``
* ``POST /admin/recipients`` (JSON: name, website, contact_email, purposes, legal_basis,
  data_role, allowed_datasets, redirect_uris[, logo_url, is_supplier, supplier_code]) ->
  ``201`` with ``client_id`` and ``client_secret``, shown this once. A supplier
  (``is_supplier``) is registered with its ``supplier_code`` as DSOs report it, unique in the
  tenant (R13, :mod:`consent.supplier_codes`).
* ``POST /admin/recipients/{client_id}/state`` (JSON ``{"state": "suspended"}``): suspending
  or retiring a recipient revokes every token it holds.
* ``POST /admin/recipients/{client_id}/supplier-code`` (JSON ``{"supplier_code": "..."}``):
  sets or changes a supplier's code (a supplier registered before codes, or whose code the
  DSO changed); contracts already recorded stay, the next ones match the new code.

Each state-changing call is traced in the evidence log (kind ``admin``) in its own transaction.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from aiohttp import web
from sqlmodel import col, select

from consent.errors import DomainError, NotFound
from consent.evidence.events import AdminEvent, Refs
from consent.models import DEFAULT_TENANT, Recipient, RecipientState, Tenant
from consent.services.registry import (
    RecipientDraft,
    change_supplier_code,
    register_recipient,
)
from consent.tokens import digest, revoke_recipient_tokens
from proxy.auth import bearer_value
from proxy.errors import InvalidToken
from proxy.keys import clock_key, database_key, evidence_key, settings_key
from proxy.oauth.admin_tokens import AdminToken, admin_token_digests
from proxy.web.body import read_capped
from proxy.web.templates import render

MAX_JSON_BYTES = 64 * 1024


def public_view(recipient: Recipient) -> dict[str, Any]:
    """What the public register says about a recipient (R21)."""
    return {
        "name": recipient.name,
        "website": recipient.website,
        "logo_url": recipient.logo_url,
        "contact_email": recipient.contact_email,
        "data_role": recipient.data_role,
        "legal_basis": recipient.legal_basis,
        "purposes": [{"purpose": p.value, "description": p.description}
                     for p in recipient.declared_purposes()],
        "data_categories": [{"dataset": d.value, "title": d.spec.title,
                             "explicit_consent": d.spec.sensitive}
                            for d in recipient.may_receive()],
        "is_supplier": recipient.is_supplier,
        "access_conditions": "Only with the household's consent, limited to the points, "
                             "datasets, period and resolution it chose; revocable at any time.",
    }


def admin_view(recipient: Recipient) -> dict[str, Any]:
    """What the operator sees: the public view plus identifiers and redirect URIs."""
    return {**public_view(recipient), "client_id": recipient.client_id,
            "redirect_uris": list(recipient.redirect_uris), "state": recipient.state,
            "supplier_code": recipient.supplier_code,
            "created_at": recipient.created_at.isoformat()}


def _tenant(request: web.Request) -> str:
    """The tenant whose register is asked for: ``?tenant=``, else the default tenant. Pages
    link it with :func:`proxy.web.templates.register_url`."""
    return request.query.get("tenant", DEFAULT_TENANT)[:64]


async def _active_recipients(request: web.Request) -> list[Recipient]:
    tenant = _tenant(request)
    async with request.app[database_key].session() as session:
        result = await session.exec(
            select(Recipient).where(Recipient.state == RecipientState.ACTIVE,
                                    Recipient.tenant_id == tenant)
            .order_by(col(Recipient.name)))
        return list(result.all())


async def register_page(request: web.Request) -> web.Response:
    """``GET /register``: the public register as a page."""
    recipients = await _active_recipients(request)
    rows = [{"name": r.name, "website": r.website, "data_role": r.data_role,
             "legal_basis": r.legal_basis, "purposes": list(r.purposes),
             "datasets": list(r.allowed_datasets)} for r in recipients]
    # Its own links (the JSON form, the footer) stay on the tenant it lists.
    response = await render(request, "register.html", {"recipients": rows,
                                                       "register_tenant": _tenant(request)})
    response.headers["Cache-Control"] = "no-cache"
    return response


async def register_json(request: web.Request) -> web.Response:
    """``GET /register.json``: the public register as JSON."""
    recipients = await _active_recipients(request)
    return web.json_response({"recipients": [public_view(r) for r in recipients]})


# -- admin ------------------------------------------------------------------------------


admin_token_key = web.RequestKey("admin_token", AdminToken)


async def require_admin(request: web.Request) -> str:
    """The tenant of the request's admin token; :class:`InvalidToken` if it has none."""
    digests = await asyncio.get_running_loop().run_in_executor(
        None, admin_token_digests, request.app[settings_key])
    token = digests.get(digest(bearer_value(request)))
    if token is None:
        raise InvalidToken("This is not a valid admin token.")
    async with request.app[database_key].session() as session:
        if await session.get(Tenant, token.tenant) is None:
            raise InvalidToken("This admin token's tenant does not exist.")
    request[admin_token_key] = token
    return token.tenant


def admin_actor(request: web.Request) -> str:
    """How the evidence log names the holder of the request's admin token (checked by
    :func:`require_admin`): ``admin-token:<id>``, never the token nor its digest."""
    return f"admin-token:{request[admin_token_key].id}"


async def _log_admin(request: web.Request, session: Any, action: str, recipient: Recipient,
                     details: dict[str, Any]) -> None:
    """Trace a state-changing admin call in the evidence log, in its own transaction (R16)."""
    await request.app[evidence_key].admin_in(await session.connection(), AdminEvent(
        at=request.app[clock_key].now(), actor=admin_actor(request), action=action,
        refs=Refs(recipient.tenant_id, recipient_id=recipient.id), target=recipient.client_id,
        details=details))


async def json_body(request: web.Request) -> dict[str, Any]:
    """The request's JSON object (at most :data:`MAX_JSON_BYTES`, no NUL character in any
    string), or a clear DomainError."""
    if request.content_type != "application/json":
        raise DomainError("Send a JSON object (Content-Type: application/json).", field="body")
    body = await read_capped(request, MAX_JSON_BYTES)
    if body is None:
        raise DomainError(f"The body is larger than {MAX_JSON_BYTES} bytes.", field="body")
    try:
        value = json.loads(body)
    except (ValueError, RecursionError):
        raise DomainError("The body is not valid JSON.", field="body") from None
    if not isinstance(value, dict):
        raise DomainError("The body must be a JSON object.", field="body")
    if _holds_nul(value):  # PostgreSQL text cannot hold one: refused here, not a 500 later
        raise DomainError("The body holds a NUL character (\\u0000).", field="body")
    return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(k) or _holds_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_holds_nul(item) for item in value)
    return False


def draft_from_json(body: dict[str, Any]) -> RecipientDraft:
    """A registration draft from JSON, with clear errors for missing or mistyped fields."""
    def text(name: str, *, required: bool = True) -> str | None:
        value = body.get(name)
        if value is None and not required:
            return None
        if not isinstance(value, str) or not value.strip() or len(value) > 500:
            raise DomainError(f"{name} must be a non-empty string.", field=name)
        return value

    def texts(name: str) -> list[str]:
        value = body.get(name)
        if (not isinstance(value, list) or not value or len(value) > 32
                or not all(isinstance(v, str) for v in value)):
            raise DomainError(f"{name} must be a non-empty array of strings.", field=name)
        return value

    return RecipientDraft(
        name=text("name") or "", website=text("website") or "",
        contact_email=text("contact_email") or "", purposes=texts("purposes"),
        legal_basis=text("legal_basis") or "", data_role=text("data_role") or "",
        allowed_datasets=texts("allowed_datasets"), redirect_uris=texts("redirect_uris"),
        is_supplier=body.get("is_supplier") is True, logo_url=text("logo_url", required=False),
        supplier_code=text("supplier_code", required=False))


def created_details(recipient: Recipient) -> dict[str, Any]:
    """What the evidence log keeps of a registration: its name, and a supplier's code (what
    its contracts will be matched on, R13)."""
    code = recipient.supplier_code
    return {"name": recipient.name, **({"supplier_code": code} if code is not None else {})}


async def admin_create(request: web.Request) -> web.Response:
    """``POST /admin/recipients``."""
    tenant = await require_admin(request)
    draft = draft_from_json(await json_body(request))
    async with request.app[database_key].session() as session:
        recipient, secret = await register_recipient(
            session, draft, tenant_id=tenant, now=request.app[clock_key].now())
        await _log_admin(request, session, "recipient.create", recipient,
                         {**created_details(recipient), "state": str(recipient.state)})
    return web.json_response({**admin_view(recipient), "client_secret": secret}, status=201,
                             headers={"Cache-Control": "no-store"})


async def admin_list(request: web.Request) -> web.Response:
    """``GET /admin/recipients``."""
    tenant = await require_admin(request)
    async with request.app[database_key].session() as session:
        result = await session.exec(select(Recipient).where(Recipient.tenant_id == tenant)
                                    .order_by(col(Recipient.name)))
        return web.json_response({"recipients": [admin_view(r) for r in result.all()]})


async def _recipient(session: Any, client_id: str, tenant: str) -> Recipient:
    result = await session.exec(select(Recipient).where(Recipient.client_id == client_id,
                                                        Recipient.tenant_id == tenant))
    recipient: Recipient | None = result.first()
    if recipient is None:
        raise NotFound(f"No recipient with client_id {client_id[:64]!r}.", field="client_id")
    return recipient


async def admin_get(request: web.Request) -> web.Response:
    """``GET /admin/recipients/{client_id}``."""
    tenant = await require_admin(request)
    async with request.app[database_key].session() as session:
        recipient = await _recipient(session, request.match_info["client_id"], tenant)
    return web.json_response(admin_view(recipient))


async def admin_set_state(request: web.Request) -> web.Response:
    """``POST /admin/recipients/{client_id}/state``: tokens die unless the state is active,
    and again when a client becomes active again.

    A suspension revokes the client's tokens in its transaction, but a token request that had
    already checked the client can store its token just after (its insert does not see the
    suspension): that token is refused while the client is not active (the data path and the
    token endpoints check the client's state on every request) and is revoked here when the
    client is reactivated, so a reactivated client starts with no token at all."""
    tenant = await require_admin(request)
    body = await json_body(request)
    try:
        state = RecipientState(str(body.get("state")))
    except ValueError:
        raise DomainError("state must be one of: "
                          + ", ".join(s.value for s in RecipientState), field="state") from None
    now = request.app[clock_key].now()
    async with request.app[database_key].session() as session:
        recipient = await _recipient(session, request.match_info["client_id"], tenant)
        before = str(recipient.state)
        recipient.state = state
        recipient.updated_at = now
        session.add(recipient)
        if state is not RecipientState.ACTIVE or RecipientState(before) is not state:
            await revoke_recipient_tokens(session, recipient.id, now)
        await _log_admin(request, session, "recipient.state", recipient,
                         {"from": before, "to": str(state)})
    return web.json_response(admin_view(recipient))



async def admin_set_supplier_code(request: web.Request) -> web.Response:
    """``POST /admin/recipients/{client_id}/supplier-code``: a supplier's code, validated and
    unique in the tenant (:func:`~consent.services.registry.change_supplier_code`)."""
    tenant = await require_admin(request)
    body = await json_body(request)
    async with request.app[database_key].session() as session:
        recipient = await _recipient(session, request.match_info["client_id"], tenant)
        before = recipient.supplier_code
        await change_supplier_code(session, recipient, body.get("supplier_code"),
                                   now=request.app[clock_key].now())
        await _log_admin(request, session, "recipient.supplier_code", recipient,
                         {"from": before, "to": recipient.supplier_code})
    return web.json_response(admin_view(recipient))
