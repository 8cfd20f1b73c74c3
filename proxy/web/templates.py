"""Server-rendered pages: one Jinja2 environment, autoescaping on, undefined names an error.

Templates live in ``proxy/web/templates``; every page extends ``base.html``. :func:`render`
gives each template ``t`` (translate), ``tn`` (a count's message, ``tn(key, n)``), ``lang``,
``csrf_token`` (for the current browser session, see :mod:`proxy.web.csrf`),
``dataset_title`` and ``register_url`` (the public register of the page's tenant, R20, R21,
R24: :func:`register_url`); it sets the session cookie when the session is new, so a form
rendered to a first-time visitor can be posted back.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import jinja2
from aiohttp import web
from yarl import URL

from consent.models import DEFAULT_TENANT
from proxy.web import csrf
from proxy.web.headers import csp
from proxy.web.i18n import LANG_COOKIE, dataset_title, negotiate, translate, translate_count
from proxy.web.lang import LANG_NAMES, LANGS
from proxy.web.session import apply_session_cookie, browser_session

_ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("proxy.web", "templates"),
    autoescape=True,  # every page: HTML-escape every value unless marked safe (none are)
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def register_url(tenant: str, suffix: str = "") -> str:
    """The public register of ``tenant`` (``suffix`` ``.json``: its JSON form). The register
    reads its tenant from ``?tenant=`` and lists the default tenant's without it
    (:mod:`proxy.oauth.registry`), so a bare ``/register`` would send a household of another
    tenant to recipients that are not its own (R24); the default tenant's stays bare."""
    url = URL("/register" + suffix)
    return str(url if tenant == DEFAULT_TENANT else url.with_query(tenant=tenant))


async def render(request: web.Request, template: str, context: dict[str, Any], *,
                 status: int = 200, form_targets: tuple[str, ...] = (),
                 here: str | None = None) -> web.Response:
    """Render ``template`` as an HTML response in the negotiated language.

    ``here`` is the address the language switch reloads (default: this request's); a page
    rendered in answer to a form POST names the page the form is on, or, when it does not (an
    error page), :func:`form_page` finds one: the switch is a link, so it is always a GET.

    ``register_url`` links the register of ``context["register_tenant"]`` when the page names
    one (the login page's tenant, the register's own), else of the signed-in account's tenant,
    else of the default tenant.
    """
    lang = negotiate(request)
    session = await browser_session(request)
    if here is None and request.method not in ("GET", "HEAD"):
        here = await form_page(request)
    other = LANGS[1 - LANGS.index(lang)]
    tenant = context.get("register_tenant") or (
        session.account.tenant_id if session.account is not None else DEFAULT_TENANT)
    page = _ENV.get_template(template).render(
        **context,
        lang=lang,
        other_lang=other,
        t=partial(translate, lang),
        tn=partial(translate_count, lang),
        dataset_title=partial(dataset_title, lang),
        csrf_token=csrf.token_for(request, session),
        account_id=session.account_id,
        lang_names=LANG_NAMES,
        register_url=partial(register_url, tenant),
        switch_url=str((URL(here) if here else request.rel_url).update_query(lang=other)),
    )
    response = web.Response(text=page, status=status, content_type="text/html",
                            charset="utf-8")
    response.headers["Content-Security-Policy"] = csp(*form_targets)
    response.headers["Content-Language"] = lang
    apply_session_cookie(request, response, session)
    if request.query.get("lang") in LANGS:
        response.set_cookie(LANG_COOKIE, lang, max_age=365 * 86400, samesite="Lax",
                            httponly=True, path="/")
    return response


async def form_page(request: web.Request) -> str:
    """A page a browser can GET in place of this non-GET request: the same address when it
    also answers GET (``/login``, ``/oauth2/authorize?...``), else the nearest parent that does
    (``/account/consents/{id}/withdraw`` -> ``/account/consents/{id}``), else ``/``.

    Routes are asked through the router itself (a GET clone of the request), so a new form
    needs no entry here. Only this site's own paths come out (no open redirect).
    """
    parts = [p for p in request.path.split("/") if p]
    candidates = [request.rel_url]  # its query too: the authorization request lives in it
    candidates += [URL("/" + "/".join(parts[:n])) for n in range(len(parts) - 1, 0, -1)]
    for candidate in candidates:
        probe = request.clone(method="GET", rel_url=candidate)
        if (await request.app.router.resolve(probe)).http_exception is None:
            return str(candidate)
    return "/"
