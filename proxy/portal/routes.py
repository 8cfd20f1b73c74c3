"""The portal's URL map, in one screen (called from :mod:`proxy.routes`)."""

from __future__ import annotations

from aiohttp import web

from proxy.portal import consents, history, overview, owndata


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
