"""The whole URL map, in one screen."""

from __future__ import annotations

from aiohttp import web

from proxy import health, native, observability
from proxy.data import community
from proxy.data.evidence import add_evidenced_get
from proxy.data.setup import add_data_routes
from proxy.evidence.setup import add_audit_routes
from proxy.middlewares import bearer_problems
from proxy.oauth import authorize, endpoints, registry
from proxy.oauth.setup import STATIC_DIR
from proxy.portal.routes import add_portal_routes
from proxy.staff.routes import add_staff_routes
from proxy.web import login


def setup_routes(app: web.Application) -> None:
    """Register every route of Passerelle on ``app``."""
    app.router.add_get("/healthz", health.healthz, name="healthz")
    app.router.add_get("/readyz", health.readyz, name="readyz")
    app.router.add_get("/metrics", observability.metrics_endpoint, name="metrics")

    # -- OAuth 2 authorization server, household sign-in, public register, admin (issue 3) --
    r = app.router
    r.add_get("/.well-known/oauth-authorization-server", endpoints.metadata,
              name="oauth_metadata")
    r.add_route("GET", "/oauth2/authorize", authorize.authorize, name="oauth_authorize")
    r.add_route("POST", "/oauth2/authorize", authorize.authorize)
    r.add_post("/oauth2/token", endpoints.token, name="oauth_token")
    r.add_post("/oauth2/revoke", endpoints.revoke, name="oauth_revoke")
    r.add_post("/oauth2/introspect", endpoints.introspect, name="oauth_introspect")
    r.add_get("/login", login.login_form, name="login")
    r.add_post("/login", login.login_submit)
    r.add_post("/logout", login.logout, name="logout")
    r.add_get("/register", registry.register_page, name="register")
    r.add_get("/register.json", registry.register_json, name="register_json")
    # Admin-token errors are problem+json with a Bearer challenge, as on /staff and /audit.
    admin = bearer_problems
    r.add_get("/admin/recipients", admin(registry.admin_list), name="admin_recipients")
    r.add_post("/admin/recipients", admin(registry.admin_create))
    r.add_get("/admin/recipients/{client_id}", admin(registry.admin_get),
              name="admin_recipient")
    r.add_post("/admin/recipients/{client_id}/state", admin(registry.admin_set_state))
    r.add_post("/admin/recipients/{client_id}/supplier-code",
               admin(registry.admin_set_supplier_code))
    r.add_static("/static/", STATIC_DIR, name="static")

    # --- data proxy (issue 4): /api/v1, /api/openapi.json, /api/docs, /compat/enedis -------
    add_data_routes(app)

    # --- evidence (issue 6): the audit API, for auditors' tokens ---------------------------
    add_audit_routes(app)

    # --- market rules (issue 8): community dataset (R4), staff API /staff/... --------------
    add_evidenced_get(r, "/api/v1/communities/{community_id}/datasets/{dataset}",
                      community.community_dataset, name="api-community-dataset",
                      api=native.API, render_error=native.render_problem)
    add_staff_routes(app)

    # --- household portal (issue 7): /, /account/..., /login/oidc... -----------------------
    add_portal_routes(app)
