"""The portal's URL map, in one screen (called from :mod:`proxy.routes`)."""

from __future__ import annotations

from aiohttp import web

from proxy.portal import (
    claims,
    consents,
    evidence,
    history,
    identity,
    mandates,
    oidc,
    oidc_link,
    overview,
    owndata,
    port,
    security,
    upstream_claim,
)


def add_portal_routes(app: web.Application) -> None:
    """Register the household pages on ``app``."""
    r = app.router
    r.add_get("/", overview.home, name="home")
    r.add_get("/account", overview.overview_page, name="account")
    r.add_get("/account/consents/new", overview.grant_form, name="account_grant")
    r.add_post("/account/consents/new", overview.grant_submit)
    r.add_get("/account/consents/{consent_id}", consents.consent_page, name="account_consent")
    r.add_post("/account/consents/{consent_id}/{action}", consents.decide)
    r.add_post("/account/recipients/{recipient_id}/withdraw", consents.withdraw_recipient)
    r.add_get("/account/history", history.history_page, name="account_history")
    r.add_get("/account/data", owndata.data_page, name="account_data")
    r.add_get("/account/mandates", mandates.mandates_page, name="account_mandates")
    r.add_get("/account/mandates/new", mandates.new_form, name="account_mandate_new")
    r.add_post("/account/mandates/new", mandates.new_submit)
    r.add_get("/account/mandates/{mandate_id}", mandates.mandate_page, name="account_mandate")
    r.add_post("/account/mandates/{mandate_id}/proofs", mandates.upload_proof)
    r.add_post("/account/mandates/{mandate_id}/{action}", mandates.act)
    r.add_get("/account/port", port.port_page, name="account_port")
    r.add_post("/account/port/{point_id}", port.port_request)
    r.add_get("/account/evidence", evidence.evidence_page, name="account_evidence")
    r.add_post("/account/evidence/bundle", evidence.bundle)
    r.add_get("/account/claim", claims.claim_form, name="account_claim")
    r.add_post("/account/claim", claims.claim_submit)
    r.add_get("/account/claim/upstream", upstream_claim.start, name="account_claim_upstream")
    r.add_get("/account/claim/upstream/callback", upstream_claim.callback)
    r.add_get("/account/security", security.security_page, name="account_security")
    r.add_post("/account/security/identities/{identity_id}/remove", security.remove_identity)
    r.add_post("/account/security/password", identity.change_password)
    r.add_post("/account/security/logout-all", identity.logout_everywhere)
    r.add_get("/account/signed-out", identity.signed_out, name="account_signed_out")
    r.add_get("/account/reset", identity.reset_form, name="account_reset")
    r.add_post("/account/reset", identity.reset_submit)
    r.add_get("/login/oidc", oidc.start, name="login_oidc")
    r.add_get("/login/oidc/callback", oidc.callback, name="login_oidc_callback")
    r.add_get("/login/oidc/link", oidc_link.link_form, name="login_oidc_link")
    r.add_post("/login/oidc/link", oidc_link.link_submit)
