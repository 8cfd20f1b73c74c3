"""``POST /staff/households/{id}/erase``: a household's erasure over the staff API (GDPR
art. 17, R23; docs/operations.md §8), for operators whose replicas have no shell at hand.

Contract:

- **Who**: a staff token whose roles hold :attr:`~consent.staff.Permission.ERASE_HOUSEHOLDS`
  (operator admins only; support, reviewers and auditors see households but never erase them:
  R19 least privilege). Anyone else: ``403 not-permitted`` with ``rule: R19``; no valid staff
  token: ``401`` with a Bearer challenge. All errors are problem+json (RFC 9457).
- **What**: the same :meth:`~consent.services.erasure.ErasureService.erase` as ``passerelle
  households erase`` (one code path): signed withdrawals of consents and mandates, every way
  into the accounts ended, personal data replaced by tombstones, a ``household.erased`` admin
  event and an ``erasure_journal`` row, all in one transaction. The actor is
  ``account:<staff account id>``; the optional JSON body ``{"reason": "..."}`` is the request's
  reference in the register (at most 500 characters, never the person's name).
- **Which**: a household of the token's tenant. Another tenant's household, an unknown id or a
  party that is not a household: ``404 not-found``, one answer for all three (R24).
- **Again**: ``200`` with the outcome (:meth:`~consent.services.erasure.ErasureOutcome.to_json`);
  a household already erased answers ``200`` with ``"changed": false`` and nothing written but
  the staff journal's line. Two calls at once erase once: the service locks the household
  first, so the second finds nothing left.
- **Caller gone**: once begun, the erasure runs to its commit even if the client disconnects
  (it is shielded from the handler's cancellation): a transaction cut by a cancellation would
  be rolled back whole anyway, but finishing it means a retry answers ``"changed": false``
  instead of erasing a second time, and no erasure stops half-way through its evidence writes.
  The staff journal's ``done`` line of such a call is missing (its handler was cancelled); the
  evidence log's ``household.erased`` event and the erasure journal name its actor.
"""

from __future__ import annotations

import asyncio

from aiohttp import web

from consent.errors import DomainError
from consent.services.erasure import ErasureOutcome
from consent.staff import Permission, StaffPrincipal
from proxy.keys import rules_key
from proxy.oauth.registry import json_body
from proxy.staff.endpoint import Answer, staff_endpoint

#: Erasures still running after their caller went away (kept referenced until they end).
_DETACHED: set[asyncio.Task[ErasureOutcome]] = set()


@staff_endpoint("household.erase", Permission.ERASE_HOUSEHOLDS)
async def erase(request: web.Request, principal: StaffPrincipal) -> Answer:
    """``POST /staff/households/{id}/erase``: see the module docstring."""
    body = await json_body(request) if request.can_read_body else {}
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > 500:
        raise DomainError("reason is a string of at most 500 characters (the request's "
                          "reference in the register, never the person's name).",
                          field="reason")
    principal.require(Permission.ERASE_HOUSEHOLDS)
    task = asyncio.ensure_future(request.app[rules_key].erasure.erase(
        principal.tenant_id, request.match_info["id"], actor=f"account:{principal.account_id}",
        reason=reason.strip()))
    _DETACHED.add(task)
    task.add_done_callback(_forget)
    outcome = await asyncio.shield(task)
    return Answer(outcome.to_json(), target=outcome.household_id,
                  details={"changed": outcome.changed, "consents": len(outcome.consents),
                           "mandates": len(outcome.mandates)})


def _forget(task: asyncio.Task[ErasureOutcome]) -> None:
    """Drop an ended erasure; an error nobody waits for any more (its caller went away) is
    retrieved here, so asyncio does not report it as lost (the caller's answer was lost
    with it, and a retry gets the same error or the outcome)."""
    _DETACHED.discard(task)
    if not task.cancelled():
        task.exception()
