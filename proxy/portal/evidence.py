"""``/account/evidence``: the household's own proof bundle (GDPR art. 15 right of access, R18).

The page explains what the bundle holds and lists the household's point claims; ``POST
/account/evidence/bundle`` (CSRF-checked: an export is itself logged) writes the evidence
bundle of everything the log holds about this household (its consent and mandate records, the
events of its page: port requests, claims, sign-in links; the documents its records cite) and
sends it as a zip. It is the same format an auditor receives, checked offline with ``passerelle
audit verify`` (docs/evidence-format.md).
"""

from __future__ import annotations

from aiohttp import web

from consent.evidence.errors import EvidenceUnavailable
from proxy.evidence.bundles import export_for_household
from proxy.keys import claim_service_key, clock_key, evidence_key
from proxy.portal.fields import FieldErrors
from proxy.portal.pages import Household, household_page, render_page
from proxy.web import csrf

#: A household's bundle is small; past this size something is wrong (never stream gigabytes).
MAX_BUNDLE_BYTES = 64 * 1024 * 1024


async def _page(request: web.Request, household: Household, *,
                errors: FieldErrors | None = None, status: int = 200) -> web.Response:
    claims = await request.app[claim_service_key].claims_of(household.tenant_id,
                                                            household.party_id)
    return await render_page(request, "portal/evidence.html", {
        "claims": claims, "errors": errors or FieldErrors()}, section="evidence", status=status,
        here="/account/evidence")


@household_page
async def evidence_page(request: web.Request, household: Household) -> web.StreamResponse:
    """``GET /account/evidence``."""
    return await _page(request, household)


@household_page
async def bundle(request: web.Request, household: Household) -> web.StreamResponse:
    """``POST /account/evidence/bundle``: the zip, as an attachment."""
    await csrf.read_verified_form(request)
    try:
        body = await export_for_household(
            request.app[evidence_key], household.party_id, tenant=household.tenant_id,
            actor=f"household:{household.party_id}")
    except EvidenceUnavailable:
        errors = FieldErrors()
        errors.add("form", "portal.err.evidence")
        return await _page(request, household, errors=errors, status=503)
    if len(body) > MAX_BUNDLE_BYTES:
        raise web.HTTPRequestEntityTooLarge(max_size=MAX_BUNDLE_BYTES, actual_size=len(body))
    day = request.app[clock_key].now().date().isoformat()
    return web.Response(body=body, content_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="passerelle-evidence-{day}.zip"',
        "Cache-Control": "no-store"})
